"""Signature Version 2 (issue 23): boto3's *default* presigned URLs (region us-east-1 with a custom
endpoint gives SigV2 query auth), and clients configured with signature_version="s3" (SigV2
Authorization header), against the real server."""
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError


def code(error):
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_default_presigned_urls_are_v2_and_served(server):
    # Goal: the most common Python call works: boto3's default generate_presigned_url (SigV2
    # query: AWSAccessKeyId, Signature, Expires) for GET and PUT, fetched by a plain HTTP client.
    s3 = server.client()
    s3.create_bucket(Bucket="py-v2-presign")
    s3.put_object(Bucket="py-v2-presign", Key="dir/hello world.txt", Body=b"hello v2")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "py-v2-presign", "Key": "dir/hello world.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url and "Expires=" in url, url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"hello v2"
    # A response override is part of what V2 signs.
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": "py-v2-presign", "Key": "dir/hello world.txt", "ResponseContentType": "text/x-v2"},
        ExpiresIn=300)
    with urllib.request.urlopen(url) as response:
        assert response.headers["Content-Type"] == "text/x-v2"
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "py-v2-presign", "Key": "uploaded.bin"}, ExpiresIn=300)
    assert "Signature=" in put_url, put_url
    # The URL signs an empty Content-Type; urllib would add its own, so send an empty one.
    request = urllib.request.Request(put_url, data=b"\x00put through v2\xff", method="PUT",
                                     headers={"Content-Type": ""})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    assert s3.get_object(Bucket="py-v2-presign", Key="uploaded.bin")["Body"].read() == b"\x00put through v2\xff"
    # A tampered or expired URL is refused.
    tampered = url.replace("hello%20world", "hello%20World")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "py-v2-presign", "Key": "dir/hello world.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(expired)
    assert refused.value.code == 403
    assert b"AccessDenied" in refused.value.read()


def test_signature_version_s3_clients(server):
    # Goal: a client signing every request with SigV2's Authorization header (botocore's
    # signature_version="s3") does the everyday operations, sub-resources included, and a wrong
    # secret is SignatureDoesNotMatch.
    s3 = server.client(signature_version="s3")
    s3.create_bucket(Bucket="py-v2-header")
    s3.put_object(Bucket="py-v2-header", Key="a/b+c d.txt", Body=b"v2 body", ContentType="text/plain",
                  Metadata={"team": "storage"})
    got = s3.get_object(Bucket="py-v2-header", Key="a/b+c d.txt")
    assert got["Body"].read() == b"v2 body"
    assert got["Metadata"] == {"team": "storage"}
    assert s3.head_object(Bucket="py-v2-header", Key="a/b+c d.txt")["ContentLength"] == 7
    listed = s3.list_objects_v2(Bucket="py-v2-header", Prefix="a/")
    assert [item["Key"] for item in listed["Contents"]] == ["a/b+c d.txt"]
    s3.copy_object(Bucket="py-v2-header", Key="copy.txt", CopySource={"Bucket": "py-v2-header", "Key": "a/b+c d.txt"})
    assert s3.get_object_acl(Bucket="py-v2-header", Key="copy.txt")["Grants"]
    upload = s3.create_multipart_upload(Bucket="py-v2-header", Key="multi")["UploadId"]
    part = s3.upload_part(Bucket="py-v2-header", Key="multi", UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    s3.complete_multipart_upload(Bucket="py-v2-header", Key="multi", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object(Bucket="py-v2-header", Key="multi")["Body"].read() == b"x" * 1024
    deleted = s3.delete_objects(Bucket="py-v2-header",
                                Delete={"Objects": [{"Key": "copy.txt"}, {"Key": "multi"}, {"Key": "a/b+c d.txt"}]})
    assert len(deleted["Deleted"]) == 3
    s3.delete_bucket(Bucket="py-v2-header")
    import boto3
    from botocore.config import Config
    intruder = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id="py-access-key",
                            aws_secret_access_key="wrong-secret", region_name="us-east-1",
                            config=Config(signature_version="s3"))
    with pytest.raises(ClientError) as error:
        intruder.list_buckets()
    assert code(error.value) == ("SignatureDoesNotMatch", 403)
