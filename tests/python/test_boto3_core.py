"""boto3 with its default settings against ringstore: the core operations and their errors."""
import hashlib
import io
import os

import botocore
import pytest
from botocore.exceptions import ClientError


def code(error):
    return error.value.response["Error"]["Code"], error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_operations(server):
    # Goal: create, re-create (us-east-1: 200), list, head, location, delete non-empty/empty.
    s3 = server.client()
    s3.create_bucket(Bucket="py-bucket")
    s3.create_bucket(Bucket="py-bucket")
    assert "py-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket="py-bucket")
    assert s3.get_bucket_location(Bucket="py-bucket")["LocationConstraint"] is None
    s3.put_object(Bucket="py-bucket", Key="x", Body=b"x")
    with pytest.raises(ClientError) as error:
        s3.delete_bucket(Bucket="py-bucket")
    assert code(error) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="py-bucket", Key="x")
    s3.delete_bucket(Bucket="py-bucket")
    with pytest.raises(ClientError) as error:
        s3.head_bucket(Bucket="py-bucket")
    assert code(error)[1] == 404
    with pytest.raises(ClientError) as error:
        s3.create_bucket(Bucket="Bad_Name")
    assert code(error) == ("InvalidBucketName", 400)


def test_put_get_with_default_checksums(server):
    # Goal: boto3's default CRC32 checksum is verified and the bytes and headers round-trip.
    s3 = server.client()
    s3.create_bucket(Bucket="py-objects")
    body = os.urandom(2 * 1024 * 1024 + 17)
    put = s3.put_object(Bucket="py-objects", Key="dir/é ü+%.bin", Body=body, ContentType="image/png",
                        Metadata={"owner": "tests"}, ContentDisposition="inline", ContentLanguage="fr")
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket="py-objects", Key="dir/é ü+%.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ContentType"] == "image/png"
    assert got["Metadata"] == {"owner": "tests"}
    assert got["ContentDisposition"] == "inline"
    assert got["ContentLanguage"] == "fr"
    assert "ChecksumCRC32" in got
    head = s3.head_object(Bucket="py-objects", Key="dir/é ü+%.bin")
    assert head["ContentLength"] == len(body)


class NonSeekable(io.RawIOBase):
    """A stream boto3 cannot rewind or measure: it must stream it (aws-chunked where it can)."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_upload_fileobj_non_seekable(server):
    # Goal: the transfer manager's streaming upload of a non-seekable body stores exact bytes.
    s3 = server.client()
    s3.create_bucket(Bucket="py-stream")
    body = os.urandom(3 * 1024 * 1024 + 5)
    s3.upload_fileobj(NonSeekable(body), "py-stream", "streamed")
    assert s3.get_object(Bucket="py-stream", Key="streamed")["Body"].read() == body


def test_errors(server):
    # Goal: missing keys/buckets, bad Content-MD5 and wrong credentials give S3 codes.
    s3 = server.client()
    s3.create_bucket(Bucket="py-errors")
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="py-errors", Key="missing")
    assert code(error) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="no-such-bucket-here", Key="missing")
    assert code(error) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket="py-errors", Key="k", Body=b"hello", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code(error) == ("BadDigest", 400)
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket="py-errors", Key="k")
    assert code(error)[1] == 404
    import boto3
    intruder = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id="py-access-key",
                            aws_secret_access_key="wrong-secret", region_name="us-east-1")
    with pytest.raises(ClientError) as error:
        intruder.list_buckets()
    assert code(error) == ("SignatureDoesNotMatch", 403)
    assert s3.delete_object(Bucket="py-errors", Key="missing")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_resource_api_and_presigned_v4(server):
    # Goal: the resource API works, and a SigV4 presigned GET URL is served to a plain HTTP client.
    import urllib.request
    resource = server.resource()
    bucket = resource.create_bucket(Bucket="py-resource")
    bucket.put_object(Key="hello.txt", Body=b"hello resource")
    assert resource.Object("py-resource", "hello.txt").get()["Body"].read() == b"hello resource"
    s3 = server.client(signature_version="s3v4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "py-resource", "Key": "hello.txt"}, ExpiresIn=60)
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"hello resource"


def test_virtual_hosted_style(server):
    # Goal: boto3 with virtual addressing against bucket.localhost reaches the same bucket.
    port = server.endpoint.rsplit(":", 1)[1]
    import boto3
    from botocore.config import Config
    s3 = server.client()
    s3.create_bucket(Bucket="py-virtual")
    virtual = boto3.client("s3", endpoint_url=f"http://localhost:{port}", aws_access_key_id="py-access-key",
                           aws_secret_access_key="py-secret-key-0123456789", region_name="us-east-1",
                           config=Config(s3={"addressing_style": "virtual"}))
    # bucket.localhost may not resolve here; route the connection to 127.0.0.1 while keeping the Host header.
    import socket
    original = socket.getaddrinfo
    def resolve(host, *args, **kwargs):
        if host.endswith(".localhost"):
            host = "127.0.0.1"
        return original(host, *args, **kwargs)
    socket.getaddrinfo = resolve
    try:
        virtual.put_object(Bucket="py-virtual", Key="v", Body=b"virtual")
    finally:
        socket.getaddrinfo = original
    assert s3.get_object(Bucket="py-virtual", Key="v")["Body"].read() == b"virtual"
