"""Users and ACLs with boto3's default settings: a second user, canned ACLs, and unsigned
(anonymous) boto3 clients, the way public datasets are read."""
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_second_user_and_public_read(server):
    # Goal: another user is refused on a private bucket and may read a public-read bucket and
    # public-read objects but not write; grants show the user's display name.
    admin = server.client()
    erin = server.add_user("erin", "erin@example.com")
    as_erin = server.client_as(erin)
    admin.create_bucket(Bucket="py-private")
    admin.put_object(Bucket="py-private", Key="k", Body=b"secret")
    with pytest.raises(ClientError) as denied:
        as_erin.get_object(Bucket="py-private", Key="k")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as denied:
        as_erin.list_objects_v2(Bucket="py-private")
    assert status(denied) == 403

    admin.create_bucket(Bucket="py-public", ACL="public-read")
    admin.put_object(Bucket="py-public", Key="open.txt", Body=b"open", ACL="public-read")
    admin.put_object(Bucket="py-public", Key="closed.txt", Body=b"closed")
    assert [o["Key"] for o in as_erin.list_objects_v2(Bucket="py-public")["Contents"]] == ["closed.txt", "open.txt"]
    assert as_erin.get_object(Bucket="py-public", Key="open.txt")["Body"].read() == b"open"
    with pytest.raises(ClientError) as denied:
        as_erin.get_object(Bucket="py-public", Key="closed.txt")
    assert status(denied) == 403
    with pytest.raises(ClientError) as denied:
        as_erin.put_object(Bucket="py-public", Key="erin.txt", Body=b"x")
    assert status(denied) == 403

    admin.put_bucket_acl(Bucket="py-private", GrantRead=f"emailAddress={erin['email']}",
                         GrantFullControl=f"id={admin.list_buckets()['Owner']['ID']}")
    grants = admin.get_bucket_acl(Bucket="py-private")["Grants"]
    assert {"Permission": "READ", "Grantee": {"DisplayName": "erin", "ID": erin["canonical_id"], "Type": "CanonicalUser"}} in grants
    assert [o["Key"] for o in as_erin.list_objects_v2(Bucket="py-private")["Contents"]] == ["k"]


def test_unsigned_client_reads_only_public_objects(server):
    # Goal: boto3 with signature_version=UNSIGNED (anonymous) lists and reads a public-read
    # bucket's public objects and is refused everything else.
    admin = server.client()
    admin.create_bucket(Bucket="py-dataset", ACL="public-read")
    admin.put_object(Bucket="py-dataset", Key="data.csv", Body=b"a,b\n1,2\n", ACL="public-read")
    admin.put_object(Bucket="py-dataset", Key="notes.txt", Body=b"private notes")
    anonymous = server.client(signature_version=botocore.UNSIGNED)
    assert anonymous.get_object(Bucket="py-dataset", Key="data.csv")["Body"].read() == b"a,b\n1,2\n"
    assert anonymous.head_object(Bucket="py-dataset", Key="data.csv")["ContentLength"] == 8
    assert len(anonymous.list_objects_v2(Bucket="py-dataset")["Contents"]) == 2
    with pytest.raises(ClientError) as denied:
        anonymous.get_object(Bucket="py-dataset", Key="notes.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as denied:
        anonymous.put_object(Bucket="py-dataset", Key="new", Body=b"x")
    assert status(denied) == 403
    with pytest.raises(ClientError) as denied:
        anonymous.list_buckets()
    assert status(denied) == 403
