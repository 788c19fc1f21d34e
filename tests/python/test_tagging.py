"""boto3 (default config) against tagging: tags at upload (PutObject, multipart, copy with
COPY/REPLACE), Put/Get/DeleteObjectTagging per version, x-amz-tagging-count, bucket tags, and
S3's limits."""
import pytest
from botocore.exceptions import ClientError


def tagset(response):
    return {t["Key"]: t["Value"] for t in response["TagSet"]}


def test_object_tags_through_every_write(server):
    # Goal: tags given at upload are stored with the version and counted on GET/HEAD; CopyObject
    # copies them by default and replaces them under REPLACE; a multipart upload's tags land on
    # the completed object; Put/DeleteObjectTagging act on one version only.
    s3 = server.client()
    s3.create_bucket(Bucket="py-tags")
    s3.put_bucket_versioning(Bucket="py-tags", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="py-tags", Key="k", Body=b"1", Tagging="project=alpha&team=a%20b")["VersionId"]
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="k")) == {"project": "alpha", "team": "a b"}
    assert s3.head_object(Bucket="py-tags", Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    second = s3.put_object(Bucket="py-tags", Key="k", Body=b"2")["VersionId"]
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="k")) == {}
    assert "x-amz-tagging-count" not in s3.get_object(Bucket="py-tags", Key="k")["ResponseMetadata"]["HTTPHeaders"]
    s3.put_object_tagging(Bucket="py-tags", Key="k", VersionId=second, Tagging={"TagSet": [{"Key": "v", "Value": "2"}]})
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="k", VersionId=first)) == {"project": "alpha", "team": "a b"}
    s3.delete_object_tagging(Bucket="py-tags", Key="k", VersionId=first)
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="k", VersionId=first)) == {}
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="k")) == {"v": "2"}
    s3.copy_object(Bucket="py-tags", Key="copied", CopySource={"Bucket": "py-tags", "Key": "k"})
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="copied")) == {"v": "2"}
    s3.copy_object(Bucket="py-tags", Key="replaced", CopySource={"Bucket": "py-tags", "Key": "k"},
                   TaggingDirective="REPLACE", Tagging="new=tag")
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="replaced")) == {"new": "tag"}
    upload = s3.create_multipart_upload(Bucket="py-tags", Key="mp", Tagging="m=p")["UploadId"]
    part = s3.upload_part(Bucket="py-tags", Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(Bucket="py-tags", Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert tagset(s3.get_object_tagging(Bucket="py-tags", Key="mp")) == {"m": "p"}


@pytest.mark.parametrize("tags", [
    [{"Key": f"k{i}", "Value": "v"} for i in range(11)],
    [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}],
    [{"Key": "aws:reserved", "Value": "v"}],
    [{"Key": "k" * 129, "Value": "v"}],
    [{"Key": "k", "Value": "v" * 257}],
    [{"Key": "bad<char>", "Value": "v"}],
    [{"Key": "k", "Value": "carriage\rreturn"}],
])
def test_limits_are_invalid_tag_and_change_nothing(server, tags):
    # Goal: S3's limits on a tag set answer 400 InvalidTag and leave the tags as they were.
    s3 = server.client()
    s3.create_bucket(Bucket="py-tag-limits")
    s3.put_object(Bucket="py-tag-limits", Key="k", Body=b"x", Tagging="keep=me")
    with pytest.raises(ClientError) as error:
        s3.put_object_tagging(Bucket="py-tag-limits", Key="k", Tagging={"TagSet": tags})
    assert error.value.response["Error"]["Code"] == "InvalidTag"
    assert tagset(s3.get_object_tagging(Bucket="py-tag-limits", Key="k")) == {"keep": "me"}


def test_bucket_tags(server):
    # Goal: bucket tags round-trip (up to 50), NoSuchTagSet when there are none, and only the
    # owner may set them.
    s3 = server.client()
    s3.create_bucket(Bucket="py-bucket-tags")
    with pytest.raises(ClientError) as error:
        s3.get_bucket_tagging(Bucket="py-bucket-tags")
    assert error.value.response["Error"]["Code"] == "NoSuchTagSet"
    many = [{"Key": f"k{i:02}", "Value": str(i)} for i in range(50)]
    s3.put_bucket_tagging(Bucket="py-bucket-tags", Tagging={"TagSet": many})
    assert s3.get_bucket_tagging(Bucket="py-bucket-tags")["TagSet"] == many
    other = server.client_as(server.add_user("py-tag-other"))
    with pytest.raises(ClientError) as error:
        other.put_bucket_tagging(Bucket="py-bucket-tags", Tagging={"TagSet": []})
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    s3.delete_bucket_tagging(Bucket="py-bucket-tags")
    with pytest.raises(ClientError) as error:
        s3.get_bucket_tagging(Bucket="py-bucket-tags")
    assert error.value.response["Error"]["Code"] == "NoSuchTagSet"


def test_tags_are_the_owners_to_read(server):
    # Goal: an object readable by everyone (public-read) does not show its tags to everyone:
    # GetObjectTagging is the owner's, and x-amz-tagging-count appears only for those who may
    # read the tags.
    from botocore import UNSIGNED
    from botocore.config import Config
    s3 = server.client()
    s3.create_bucket(Bucket="py-tag-private")
    s3.put_object(Bucket="py-tag-private", Key="pub", Body=b"p", ACL="public-read", Tagging="secret=project-x")
    anonymous = server.client(signature_version=UNSIGNED)
    assert anonymous.get_object(Bucket="py-tag-private", Key="pub")["Body"].read() == b"p"
    head = anonymous.head_object(Bucket="py-tag-private", Key="pub")
    assert "x-amz-tagging-count" not in head["ResponseMetadata"]["HTTPHeaders"]
    with pytest.raises(ClientError) as error:
        anonymous.get_object_tagging(Bucket="py-tag-private", Key="pub")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.head_object(Bucket="py-tag-private", Key="pub")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "1"
