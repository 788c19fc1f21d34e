"""Multipart uploads as real clients do them: boto3's transfer manager with concurrent parts and
aws-cli `s3 cp` of a file large enough to go multipart, verified by hash both ways."""
import hashlib
import os
import subprocess
import sys

from boto3.s3.transfer import TransferConfig

from conftest import ACCESS_KEY, SECRET_KEY


def md5_file(path):
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_transfer_manager_multipart(server, tmp_path):
    # Goal: upload_file above the threshold goes multipart with concurrent parts; bytes match.
    s3 = server.client()
    s3.create_bucket(Bucket="py-mpu")
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(23 * 1024 * 1024 + 7))
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=6)
    s3.upload_file(str(source), "py-mpu", "big.bin", Config=config)
    head = s3.head_object(Bucket="py-mpu", Key="big.bin")
    assert head["ETag"].strip('"').endswith("-5"), head["ETag"]
    target = tmp_path / "back.bin"
    s3.download_file("py-mpu", "big.bin", str(target), Config=config)
    assert md5_file(target) == md5_file(source)
    assert s3.head_object(Bucket="py-mpu", Key="big.bin", PartNumber=5)["PartsCount"] == 5


def test_aws_cli_cp_multipart(server, tmp_path):
    # Goal: aws-cli (from PyPI) `s3 cp` up and down of a 20 MiB file (multipart at its 8 MiB default).
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    env.pop("AWS_CA_BUNDLE", None)
    run = lambda *args: subprocess.run([aws, "--endpoint-url", server.endpoint, *args], env=env, check=True, capture_output=True, text=True)
    source = tmp_path / "cli.bin"
    source.write_bytes(os.urandom(20 * 1024 * 1024 + 11))
    run("s3", "mb", "s3://py-cli")
    run("s3", "cp", str(source), "s3://py-cli/dir/cli.bin")
    etag = server.client().head_object(Bucket="py-cli", Key="dir/cli.bin")["ETag"]
    assert "-" in etag, f"aws s3 cp did not go multipart: {etag}"
    target = tmp_path / "cli-back.bin"
    run("s3", "cp", "s3://py-cli/dir/cli.bin", str(target))
    assert md5_file(target) == md5_file(source)
    listing = run("s3", "ls", "s3://py-cli/dir/").stdout
    assert "cli.bin" in listing


def test_part_number_of_an_empty_last_part_is_no_bytes(server):
    # Goal: GET ?partNumber=N of an empty last part answers no bytes (it once answered the whole
    # object); the other parts answer their own bytes.
    s3 = server.client()
    s3.create_bucket(Bucket="py-empty-part")
    upload = s3.create_multipart_upload(Bucket="py-empty-part", Key="k")["UploadId"]
    first = os.urandom(5 * 1024 * 1024)
    parts = []
    for number, body in [(1, first), (2, b"")]:
        etag = s3.upload_part(Bucket="py-empty-part", Key="k", UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket="py-empty-part", Key="k", UploadId=upload, MultipartUpload={"Parts": parts})
    empty = s3.get_object(Bucket="py-empty-part", Key="k", PartNumber=2)
    assert empty["ContentLength"] == 0 and empty["Body"].read() == b""
    assert empty["PartsCount"] == 2
    assert s3.get_object(Bucket="py-empty-part", Key="k", PartNumber=1)["Body"].read() == first
