"""boto3 (default config) against bucket policies and PublicAccessBlock: what `mc anonymous set
download` sets up, grants to a second user by prefix, explicit Denys that beat ACLs, per-key
decisions in DeleteObjects and on a copy's source, tag conditions, S3's MalformedPolicy
answers, and the four PublicAccessBlock flags."""
import json

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError


def code(error):
    return error.value.response["Error"]["Code"]


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def public_read(bucket):
    # The document `mc anonymous set download` writes.
    return policy(
        {"Effect": "Allow", "Principal": {"AWS": ["*"]},
         "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Effect": "Allow", "Principal": {"AWS": ["*"]},
         "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]},
    )


def test_public_read_policy_serves_anonymous_readers_only(server):
    # Goal: with the policy `mc anonymous set download` writes, unsigned clients list and read
    # (and nothing more); GetBucketPolicy gives the document back as sent and the status says
    # public; after DeleteBucketPolicy anonymous reads are refused again.
    s3 = server.client()
    anonymous = server.client(signature_version=UNSIGNED)
    s3.create_bucket(Bucket="py-public")
    s3.put_object(Bucket="py-public", Key="site/index.html", Body=b"<h1>hi</h1>")
    with pytest.raises(ClientError) as refused:
        anonymous.get_object(Bucket="py-public", Key="site/index.html")
    assert code(refused) == "AccessDenied"
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket="py-public")
    assert code(missing) == "NoSuchBucketPolicy"

    document = public_read("py-public")
    s3.put_bucket_policy(Bucket="py-public", Policy=document)
    assert s3.get_bucket_policy(Bucket="py-public")["Policy"] == document
    assert s3.get_bucket_policy_status(Bucket="py-public")["PolicyStatus"]["IsPublic"] is True
    assert anonymous.get_object(Bucket="py-public", Key="site/index.html")["Body"].read() == b"<h1>hi</h1>"
    listed = anonymous.list_objects_v2(Bucket="py-public")
    assert [o["Key"] for o in listed["Contents"]] == ["site/index.html"]
    with pytest.raises(ClientError) as missing_key:
        anonymous.get_object(Bucket="py-public", Key="nope")
    assert code(missing_key) == "NoSuchKey", "ListBucket lets readers learn a key is missing"
    with pytest.raises(ClientError) as write:
        anonymous.put_object(Bucket="py-public", Key="evil", Body=b"x")
    assert code(write) == "AccessDenied"
    with pytest.raises(ClientError) as delete:
        anonymous.delete_object(Bucket="py-public", Key="site/index.html")
    assert code(delete) == "AccessDenied"

    s3.delete_bucket_policy(Bucket="py-public")
    with pytest.raises(ClientError) as refused_again:
        anonymous.get_object(Bucket="py-public", Key="site/index.html")
    assert code(refused_again) == "AccessDenied"


def test_a_second_user_gets_one_prefix(server):
    # Goal: a user named by ARN may read and write under its home prefix and list only that
    # prefix (s3:prefix); everything else stays the owner's.
    s3 = server.client()
    bob = server.add_user("py-policy-bob")
    as_bob = server.client_as(bob)
    s3.create_bucket(Bucket="py-homes")
    s3.put_object(Bucket="py-homes", Key="private/plan", Body=b"secret")
    s3.put_bucket_policy(Bucket="py-homes", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/py-policy-bob"},
         "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::py-homes/home/bob/*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/py-policy-bob"},
         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::py-homes",
         "Condition": {"StringLike": {"s3:prefix": "home/bob/*"}}},
    ))
    assert s3.get_bucket_policy_status(Bucket="py-homes")["PolicyStatus"]["IsPublic"] is False
    as_bob.put_object(Bucket="py-homes", Key="home/bob/notes.txt", Body=b"mine")
    assert as_bob.get_object(Bucket="py-homes", Key="home/bob/notes.txt")["Body"].read() == b"mine"
    listed = as_bob.list_objects_v2(Bucket="py-homes", Prefix="home/bob/")
    assert [o["Key"] for o in listed["Contents"]] == ["home/bob/notes.txt"]
    for call in (
        lambda: as_bob.get_object(Bucket="py-homes", Key="private/plan"),
        lambda: as_bob.put_object(Bucket="py-homes", Key="private/x", Body=b"x"),
        lambda: as_bob.list_objects_v2(Bucket="py-homes"),
        lambda: as_bob.list_objects_v2(Bucket="py-homes", Prefix="private/"),
        lambda: as_bob.delete_object(Bucket="py-homes", Key="home/bob/notes.txt"),
        lambda: as_bob.get_bucket_policy(Bucket="py-homes"),
        lambda: as_bob.put_bucket_policy(Bucket="py-homes", Policy=public_read("py-homes")),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == "AccessDenied"


def test_an_explicit_deny_beats_every_acl_but_never_locks_the_owner_out(server):
    # Goal: a Deny refuses even what a public-read-write ACL or ownership allows (here: deletes,
    # and any request from an address outside 10.0.0.0/8), and refuses before anything
    # changes; the owner still reads, replaces and deletes the policy itself.
    s3 = server.client()
    anonymous = server.client(signature_version=UNSIGNED)
    s3.create_bucket(Bucket="py-deny", ACL="public-read-write")
    s3.put_object(Bucket="py-deny", Key="keep", Body=b"kept")
    s3.put_bucket_policy(Bucket="py-deny", Policy=policy(
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*",
         "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": "arn:aws:s3:::py-deny/*"},
    ))
    for client in (s3, anonymous):
        with pytest.raises(ClientError) as refused:
            client.delete_object(Bucket="py-deny", Key="keep")
        assert code(refused) == "AccessDenied"
    anonymous.put_object(Bucket="py-deny", Key="dropped-in", Body=b"ok")
    batch = s3.delete_objects(Bucket="py-deny", Delete={"Objects": [{"Key": "keep"}, {"Key": "dropped-in"}]})
    assert sorted(e["Key"] for e in batch.get("Errors", [])) == ["dropped-in", "keep"]
    assert {e["Code"] for e in batch["Errors"]} == {"AccessDenied"}
    assert s3.get_object(Bucket="py-deny", Key="keep")["Body"].read() == b"kept"

    s3.put_bucket_policy(Bucket="py-deny", Policy=policy(
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": ["arn:aws:s3:::py-deny", "arn:aws:s3:::py-deny/*"],
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ))
    with pytest.raises(ClientError) as outside:
        s3.get_object(Bucket="py-deny", Key="keep")
    assert code(outside) == "AccessDenied"
    with pytest.raises(ClientError) as listing:
        s3.list_objects_v2(Bucket="py-deny")
    assert code(listing) == "AccessDenied"
    assert "NotIpAddress" in s3.get_bucket_policy(Bucket="py-deny")["Policy"]
    s3.put_bucket_policy(Bucket="py-deny", Policy=policy(
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": "arn:aws:s3:::py-deny/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ))
    assert s3.get_object(Bucket="py-deny", Key="keep")["Body"].read() == b"kept"
    s3.delete_bucket_policy(Bucket="py-deny")
    s3.delete_object(Bucket="py-deny", Key="keep")


def test_copies_and_batches_ask_the_policy_per_object(server):
    # Goal: a copy's source is judged by the source bucket's policy (a Deny refuses the copy, an
    # Allow stands in for its ACL), and DeleteObjects judges every key on its own.
    s3 = server.client()
    carol = server.add_user("py-policy-carol")
    as_carol = server.client_as(carol)
    s3.create_bucket(Bucket="py-source")
    s3.put_object(Bucket="py-source", Key="shared/a", Body=b"a")
    s3.put_object(Bucket="py-source", Key="secret/b", Body=b"b")
    as_carol.create_bucket(Bucket="py-carol")
    s3.put_bucket_policy(Bucket="py-source", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": carol["access_key"]}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::py-source/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::py-source/secret/*"},
    ))
    as_carol.copy_object(Bucket="py-carol", Key="a", CopySource={"Bucket": "py-source", "Key": "shared/a"})
    assert as_carol.get_object(Bucket="py-carol", Key="a")["Body"].read() == b"a"
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket="py-source", Key="copy-of-b", CopySource={"Bucket": "py-source", "Key": "secret/b"})
    assert code(refused) == "AccessDenied"

    s3.put_bucket_policy(Bucket="py-source", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": carol["access_key"]}, "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::py-source/shared/*"},
    ))
    batch = as_carol.delete_objects(Bucket="py-source", Delete={"Objects": [{"Key": "shared/a"}, {"Key": "secret/b"}]})
    assert [d["Key"] for d in batch["Deleted"]] == ["shared/a"]
    assert [(e["Key"], e["Code"]) for e in batch["Errors"]] == [("secret/b", "AccessDenied")]
    assert s3.get_object(Bucket="py-source", Key="secret/b")["Body"].read() == b"b"


def test_tag_conditions(server):
    # Goal: s3:ExistingObjectTag decides reads by the object's own tags, s3:RequestObjectTag
    # writes by the tags they carry.
    s3 = server.client()
    dave = server.add_user("py-policy-dave")
    as_dave = server.client_as(dave)
    s3.create_bucket(Bucket="py-tagged")
    s3.put_object(Bucket="py-tagged", Key="open", Body=b"o", Tagging="security=public")
    s3.put_object(Bucket="py-tagged", Key="closed", Body=b"c", Tagging="security=private")
    s3.put_bucket_policy(Bucket="py-tagged", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": dave["access_key"]}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::py-tagged/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}},
        {"Effect": "Allow", "Principal": {"AWS": dave["access_key"]},
         "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": "arn:aws:s3:::py-tagged/*",
         "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "blue"}}},
    ))
    assert as_dave.get_object(Bucket="py-tagged", Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError) as closed:
        as_dave.get_object(Bucket="py-tagged", Key="closed")
    assert code(closed) == "AccessDenied"
    as_dave.put_object(Bucket="py-tagged", Key="blue", Body=b"b", Tagging="team=blue")
    with pytest.raises(ClientError) as untagged:
        as_dave.put_object(Bucket="py-tagged", Key="red", Body=b"r", Tagging="team=red")
    assert code(untagged) == "AccessDenied"


@pytest.mark.parametrize("document, message", [
    ("{not json", "Policies must be valid JSON and the first byte must be '{'"),
    (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::py-bad/*"}),
     "Missing required field Principal"),
    (policy({"Effect": "Allow", "Principal": "*", "Action": "s3:Fly", "Resource": "arn:aws:s3:::py-bad/*"}),
     "Policy has invalid action"),
    (policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"}),
     "Policy has invalid resource"),
    (policy({"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::py-bad/*"}),
     "Action does not apply to any resource(s) in statement"),
    (json.dumps({"Version": "2012-10-17", "Id": "x" * 21000, "Statement": []}),
     "Policies must be no larger than 20 KB."),
])
def test_malformed_policies_change_nothing(server, document, message):
    # Goal: each document S3 refuses is 400 MalformedPolicy with S3's message, and the stored
    # policy stays what it was; only the owner may set one at all.
    s3 = server.client()
    try:
        s3.create_bucket(Bucket="py-bad")
    except ClientError:
        pass
    good = public_read("py-bad")
    s3.put_bucket_policy(Bucket="py-bad", Policy=good)
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_policy(Bucket="py-bad", Policy=document)
    assert code(refused) == "MalformedPolicy"
    assert refused.value.response["Error"]["Message"] == message
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.get_bucket_policy(Bucket="py-bad")["Policy"] == good


def test_public_access_block_flags(server):
    # Goal: each PublicAccessBlock flag does what S3 says: BlockPublicPolicy refuses a public
    # policy, BlockPublicAcls refuses public ACLs on objects and the bucket, IgnorePublicAcls
    # makes existing public grants count for nothing, RestrictPublicBuckets makes a public
    # policy serve nobody but the owner; Get/Delete round-trip.
    s3 = server.client()
    anonymous = server.client(signature_version=UNSIGNED)
    s3.create_bucket(Bucket="py-pab")
    s3.put_object(Bucket="py-pab", Key="old-public", Body=b"p", ACL="public-read")
    with pytest.raises(ClientError) as none:
        s3.get_public_access_block(Bucket="py-pab")
    assert code(none) == "NoSuchPublicAccessBlockConfiguration"

    flags = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket="py-pab", PublicAccessBlockConfiguration=flags)
    assert s3.get_public_access_block(Bucket="py-pab")["PublicAccessBlockConfiguration"] == flags
    with pytest.raises(ClientError) as public_policy:
        s3.put_bucket_policy(Bucket="py-pab", Policy=public_read("py-pab"))
    assert code(public_policy) == "AccessDenied"
    for call in (
        lambda: s3.put_object(Bucket="py-pab", Key="new", Body=b"n", ACL="public-read"),
        lambda: s3.put_object_acl(Bucket="py-pab", Key="old-public", ACL="public-read-write"),
        lambda: s3.put_bucket_acl(Bucket="py-pab", ACL="public-read"),
        lambda: s3.create_multipart_upload(Bucket="py-pab", Key="mp", ACL="authenticated-read"),
    ):
        with pytest.raises(ClientError) as blocked:
            call()
        assert code(blocked) == "AccessDenied"
    with pytest.raises(ClientError) as not_stored:
        s3.head_object(Bucket="py-pab", Key="new")
    assert not_stored.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.put_object(Bucket="py-pab", Key="private", Body=b"ok", ACL="private")
    assert anonymous.get_object(Bucket="py-pab", Key="old-public")["Body"].read() == b"p"

    s3.put_public_access_block(Bucket="py-pab", PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    with pytest.raises(ClientError) as ignored:
        anonymous.get_object(Bucket="py-pab", Key="old-public")
    assert code(ignored) == "AccessDenied"

    s3.put_public_access_block(Bucket="py-pab", PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket="py-pab", Policy=public_read("py-pab"))
    s3.put_object_acl(Bucket="py-pab", Key="old-public", ACL="private")
    with pytest.raises(ClientError) as restricted:
        anonymous.get_object(Bucket="py-pab", Key="old-public")
    assert code(restricted) == "AccessDenied"
    s3.delete_public_access_block(Bucket="py-pab")
    assert anonymous.get_object(Bucket="py-pab", Key="old-public")["Body"].read() == b"p"
    with pytest.raises(ClientError) as gone:
        s3.get_public_access_block(Bucket="py-pab")
    assert code(gone) == "NoSuchPublicAccessBlockConfiguration"


def test_policies_survive_a_restart(server):
    # Goal: a stored policy and PublicAccessBlock are read back, compiled, after a restart.
    s3 = server.client()
    s3.create_bucket(Bucket="py-kept")
    s3.put_object(Bucket="py-kept", Key="k", Body=b"v")
    document = public_read("py-kept")
    s3.put_bucket_policy(Bucket="py-kept", Policy=document)
    s3.put_public_access_block(Bucket="py-kept", PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    server.stop()
    server.start()
    s3 = server.client()
    assert s3.get_bucket_policy(Bucket="py-kept")["Policy"] == document
    assert s3.get_public_access_block(Bucket="py-kept")["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    anonymous = server.client(signature_version=UNSIGNED)
    assert anonymous.get_object(Bucket="py-kept", Key="k")["Body"].read() == b"v"


def test_review_findings_stay_fixed(server):
    # Goal: the ways a fresh review got past a policy stay closed: a negated condition on an
    # absent key holds (so its Deny applies); an Authorization header beside a presigned query
    # cannot pose as another auth type; a policy Allow does not reach another user's object; a
    # copy's source is judged by its own tags; a re-create cannot reset a public ACL under
    # BlockPublicAcls; a condition that narrows nothing leaves a policy public; tags in a
    # PutObjectTagging body are condition keys; GetObjectAttributes needs the read too; a Deny of
    # ListBucket hides which keys exist; an encoded copy source is matched decoded.
    s3 = server.client()
    anonymous = server.client(signature_version=UNSIGNED)
    erin = server.add_user("py-policy-erin")
    as_erin = server.client_as(erin)
    s3.create_bucket(Bucket="py-review")
    s3.put_object(Bucket="py-review", Key="home/erin/a", Body=b"a")
    s3.put_object(Bucket="py-review", Key="secret/k", Body=b"s")
    erin_arn = "arn:aws:iam::000000000000:user/py-policy-erin"

    # Negated operator, absent key: listing without a prefix is denied.
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": erin_arn}, "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::py-review"},
        {"Effect": "Deny", "Principal": {"AWS": erin_arn}, "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::py-review", "Condition": {"StringNotLike": {"s3:prefix": "home/erin/*"}}},
    ))
    assert [o["Key"] for o in as_erin.list_objects_v2(Bucket="py-review", Prefix="home/erin/")["Contents"]] == ["home/erin/a"]
    with pytest.raises(ClientError) as no_prefix:
        as_erin.list_objects_v2(Bucket="py-review")
    assert code(no_prefix) == "AccessDenied"

    # Auth type comes from how the request was verified.
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::py-review/*",
         "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}},
    ))
    import requests
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "py-review", "Key": "secret/k"})
    assert requests.get(url).status_code == 403
    assert requests.get(url, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"}).status_code == 403

    # A policy Allow covers the bucket owner's objects, not another writer's.
    s3.put_bucket_acl(Bucket="py-review", GrantWrite=f'id={as_erin.list_buckets()["Owner"]["ID"]}')
    as_erin.put_object(Bucket="py-review", Key="erins-diary", Body=b"private")
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObjectAcl"],
         "Resource": "arn:aws:s3:::py-review/*"},
    ))
    for call in (lambda: anonymous.get_object(Bucket="py-review", Key="erins-diary"),
                 lambda: s3.put_object_acl(Bucket="py-review", Key="erins-diary", ACL="public-read")):
        with pytest.raises(ClientError) as foreign:
            call()
        assert code(foreign) == "AccessDenied"
    assert anonymous.get_object(Bucket="py-review", Key="secret/k")["Body"].read() == b"s"

    # GetObjectAttributes needs s3:GetObject as well; a Deny of ListBucket hides missing keys.
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::py-review", "arn:aws:s3:::py-review/*"]},
    ))
    with pytest.raises(ClientError) as attributes:
        s3.get_object_attributes(Bucket="py-review", Key="secret/k", ObjectAttributes=["ETag"])
    assert code(attributes) == "AccessDenied"
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::py-review"},
    ))
    s3.put_bucket_acl(Bucket="py-review", ACL="public-read")
    with pytest.raises(ClientError) as hidden:
        anonymous.get_object(Bucket="py-review", Key="no-such-key")
    assert code(hidden) == "AccessDenied"
    s3.put_bucket_acl(Bucket="py-review", ACL="private")

    # Tags in a PutObjectTagging body are request tags.
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectTagging", "Resource": "arn:aws:s3:::py-review/*",
         "Condition": {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "approved"}}},
    ))
    with pytest.raises(ClientError) as tagged:
        s3.put_object_tagging(Bucket="py-review", Key="secret/k", Tagging={"TagSet": [{"Key": "approved", "Value": "yes"}]})
    assert code(tagged) == "AccessDenied"
    s3.put_object_tagging(Bucket="py-review", Key="secret/k", Tagging={"TagSet": [{"Key": "other", "Value": "x"}]})

    # A copy's source is matched decoded, and judged by its own tags.
    s3.put_object(Bucket="py-review", Key="sécret/k", Body=b"e")
    s3.put_bucket_policy(Bucket="py-review", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::py-review/*",
         "Condition": {"StringLike": {"s3:x-amz-copy-source": "py-review/sécret/*"}}},
    ))
    # boto3 sends the source percent-encoded (s%C3%A9cret); the condition sees it decoded.
    with pytest.raises(ClientError) as encoded:
        s3.copy_object(Bucket="py-review", Key="c", CopySource={"Bucket": "py-review", "Key": "sécret/k"})
    assert code(encoded) == "AccessDenied"
    s3.create_bucket(Bucket="py-review-src")
    s3.put_object(Bucket="py-review-src", Key="untagged", Body=b"u")
    s3.put_bucket_policy(Bucket="py-review-src", Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": erin_arn}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::py-review-src/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/public": "yes"}}},
    ))
    as_erin.create_bucket(Bucket="py-review-dst")
    s3.put_bucket_acl(Bucket="py-review", ACL="private")
    as_erin.put_bucket_policy(Bucket="py-review-dst", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::py-review-dst/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/zz": "never"}}},
    ))
    as_erin.put_object(Bucket="py-review-dst", Key="x", Body=b"0", Tagging="public=yes")
    with pytest.raises(ClientError) as confused:
        as_erin.copy_object(Bucket="py-review-dst", Key="x", CopySource={"Bucket": "py-review-src", "Key": "untagged"})
    assert code(confused) == "AccessDenied"

    # Re-creating a bucket cannot reset its ACL to a public one under BlockPublicAcls; a wide
    # condition leaves a policy public, so BlockPublicPolicy refuses it.
    s3.put_public_access_block(Bucket="py-review", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "BlockPublicPolicy": True})
    with pytest.raises(ClientError) as recreate:
        s3.create_bucket(Bucket="py-review", ACL="public-read")
    assert code(recreate) == "AccessDenied"
    with pytest.raises(ClientError) as wide:
        s3.put_bucket_policy(Bucket="py-review", Policy=policy(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::py-review/*",
             "Condition": {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}}))
    assert code(wide) == "AccessDenied"


def test_presigned_urls_and_copies_cannot_be_stretched(server):
    # Goal: a presigned URL refuses x-amz-* headers it did not sign (an ACL or a copy source would
    # change what its signer allowed), as S3 does; a copy source written `%2Fbucket/key` is
    # matched as `bucket/key`; a copy from a missing key does not reveal it is missing under a
    # Deny of ListBucket.
    import requests
    s3 = server.client()
    s3.create_bucket(Bucket="py-presigned")
    s3.put_object(Bucket="py-presigned", Key="secret", Body=b"TOPSECRET")
    # A SigV4 URL (boto3's default presigned URLs are SigV2, which signs x-amz-* headers).
    v4 = server.client(signature_version="s3v4")
    url = v4.generate_presigned_url("put_object", Params={"Bucket": "py-presigned", "Key": "in/x"})
    assert "X-Amz-Signature" in url
    stretched = requests.put(url, data=b"", headers={"x-amz-copy-source": "py-presigned/secret", "x-amz-acl": "public-read"})
    assert stretched.status_code == 403
    assert "<HeadersNotSigned>" in stretched.text and "x-amz-acl" in stretched.text
    assert requests.put(url, data=b"plain").status_code == 200
    anonymous = server.client(signature_version=UNSIGNED)
    with pytest.raises(ClientError):
        anonymous.get_object(Bucket="py-presigned", Key="in/x")

    s3.put_bucket_policy(Bucket="py-presigned", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::py-presigned/*",
         "Condition": {"StringLike": {"s3:x-amz-copy-source": "py-presigned/secret*"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::py-presigned"},
    ))
    for source in ("%2Fpy-presigned/secret", "%2fpy-presigned%2fsecret"):
        # boto3 would escape the `%`: the header is set as sent, just before signing.
        raw = server.client()

        def send_raw(request, source=source, **kwargs):
            request.headers.replace_header("x-amz-copy-source", source)

        raw.meta.events.register("before-sign.s3.CopyObject", send_raw)
        with pytest.raises(ClientError) as slashed:
            raw.copy_object(Bucket="py-presigned", Key="copy", CopySource="py-presigned/placeholder")
        assert code(slashed) == "AccessDenied", source
    with pytest.raises(ClientError) as missing:
        s3.copy_object(Bucket="py-presigned", Key="copy2", CopySource={"Bucket": "py-presigned", "Key": "no-such"})
    assert code(missing) == "AccessDenied"


def test_dependent_actions_and_governance_bypass_are_decided_by_the_policy(server):
    # Goal: a PutObject that sets tags also needs s3:PutObjectTagging (PutObject reference,
    # Permissions): a user the policy allows only s3:PutObject can write, with an ACL header
    # too, but not with x-amz-tagging until that is allowed as well. An explicit Deny of
    # s3:BypassGovernanceRetention holds even against the bucket owner: a GOVERNANCE-locked
    # version stays; without the Deny the owner's bypass removes it.
    import datetime
    s3 = server.client()
    writer_keys = server.add_user("py-dependent-writer")
    writer = server.client_as(writer_keys)
    s3.create_bucket(Bucket="py-dependent")
    arn = "arn:aws:s3:::py-dependent/*"
    principal = {"AWS": [writer_keys["access_key"]]}
    s3.put_bucket_policy(Bucket="py-dependent", Policy=policy(
        {"Effect": "Allow", "Principal": principal, "Action": "s3:PutObject", "Resource": arn}))
    writer.put_object(Bucket="py-dependent", Key="plain", Body=b"p")
    writer.put_object(Bucket="py-dependent", Key="acl", Body=b"a", ACL="bucket-owner-full-control")
    with pytest.raises(ClientError) as refused:
        writer.put_object(Bucket="py-dependent", Key="extra", Body=b"e", Tagging="a=b")
    assert code(refused) == "AccessDenied"
    s3.put_bucket_policy(Bucket="py-dependent", Policy=policy(
        {"Effect": "Allow", "Principal": principal,
         "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": arn}))
    writer.put_object(Bucket="py-dependent", Key="extra", Body=b"e", ACL="bucket-owner-full-control", Tagging="a=b")
    assert s3.get_object_tagging(Bucket="py-dependent", Key="extra")["TagSet"] == [{"Key": "a", "Value": "b"}]

    s3.create_bucket(Bucket="py-no-bypass", ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    locked = s3.put_object(Bucket="py-no-bypass", Key="k", Body=b"k", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=until)["VersionId"]
    s3.put_bucket_policy(Bucket="py-no-bypass", Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:BypassGovernanceRetention",
         "Resource": "arn:aws:s3:::py-no-bypass/*"}))
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket="py-no-bypass", Key="k", VersionId=locked, BypassGovernanceRetention=True)
    assert code(refused) == "AccessDenied"
    batch = s3.delete_objects(Bucket="py-no-bypass", BypassGovernanceRetention=True,
                              Delete={"Objects": [{"Key": "k", "VersionId": locked}]})
    assert [error["Code"] for error in batch.get("Errors", [])] == ["AccessDenied"]
    assert s3.head_object(Bucket="py-no-bypass", Key="k", VersionId=locked)["ObjectLockMode"] == "GOVERNANCE"
    s3.delete_bucket_policy(Bucket="py-no-bypass")
    s3.delete_object(Bucket="py-no-bypass", Key="k", VersionId=locked, BypassGovernanceRetention=True)
    assert "Versions" not in s3.list_object_versions(Bucket="py-no-bypass")
