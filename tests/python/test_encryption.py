"""Encryption at rest (issue 22): SSE-S3 and SSE-C through boto3 with its default configuration
(SSE-C over HTTPS, as S3 requires), bucket default encryption, S3's errors for missing, wrong and
inconsistent keys, no plaintext anywhere in the data dir (object files, SQLite and its WAL), a
tampered file that fails instead of returning wrong bytes, and the master key's start-up checks."""
import base64
import hashlib
import http.client
import io
import os
import uuid
import shutil
import subprocess
import tempfile

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from conftest import Certificates, Server, https_client

# 65,520 plaintext bytes fill one package: sizes around it, inline ones and a multi-block file.
SIZES = [0, 1, 13, 1000, 65519, 65520, 65521, 200_000, 3 * 1024 * 1024 + 7]


def marker(tag, size):
    """Bytes that are easy to find in a raw scan: `tag` repeated."""
    unit = (tag * 64).encode()
    return (unit * (size // len(unit) + 1))[:size]


def generate_key(directory):
    path = os.path.join(directory, "master.key")
    subprocess.run([Server.binary(), "key", "generate", path], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def encrypted():
    keys = tempfile.mkdtemp(prefix="ringstore-keys-")
    certificates = Certificates()
    key_path = generate_key(keys)
    server = Server(extra_args=certificates.args() + ["--sse-master-key-file", key_path])
    server.certificates = certificates
    server.key_path = key_path
    server.keys = keys
    yield server
    server.stop()
    shutil.rmtree(server.data, ignore_errors=True)
    shutil.rmtree(keys, ignore_errors=True)
    shutil.rmtree(certificates.directory, ignore_errors=True)


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"].get("Code")


def requests_post(form, payload):
    """POSTs a browser-style multipart/form-data upload of `payload` with `form`'s fields."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in form["fields"].items():
        body += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
             f"Content-Type: application/octet-stream\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    host = form["url"].split("//")[1].split("/")[0]
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("POST", "/" + form["url"].split("//")[1].split("/", 1)[1], body=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def data_dir_bytes(server):
    """Every byte under the data dir: object files, temp files, meta.sqlite and its WAL."""
    chunks = []
    for root, _, files in os.walk(server.data):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                chunks.append(handle.read())
    return b"".join(chunks)


def test_sse_s3_round_trips_every_size_and_range(encrypted):
    # Goal: SSE-S3 objects of every size around the package boundary read back whole and in
    # ranges, answer x-amz-server-side-encryption on PUT, GET and HEAD, and keep the MD5 ETag.
    client = encrypted.client()
    client.create_bucket(Bucket="sse-s3")
    for size in SIZES:
        data = os.urandom(size)
        key = f"object-{size}"
        put = client.put_object(Bucket="sse-s3", Key=key, Body=data, ServerSideEncryption="AES256")
        assert put["ServerSideEncryption"] == "AES256"
        assert put["ETag"].strip('"') == hashlib.md5(data).hexdigest()
        got = client.get_object(Bucket="sse-s3", Key=key)
        assert got["Body"].read() == data, size
        assert got["ServerSideEncryption"] == "AES256"
        head = client.head_object(Bucket="sse-s3", Key=key)
        assert head["ContentLength"] == size and head["ServerSideEncryption"] == "AES256"
        assert "x-ringstore-sealed-key" not in head["ResponseMetadata"]["HTTPHeaders"]
        for first, last in [(0, 0), (5, size - 1), (size // 2, size - 1), (65519, 65521), (1, size - 2)]:
            if last >= size or first > last:
                continue
            ranged = client.get_object(Bucket="sse-s3", Key=key, Range=f"bytes={first}-{last}")
            assert ranged["Body"].read() == data[first:last + 1], (size, first, last)
    listed = client.list_objects_v2(Bucket="sse-s3")["Contents"]
    assert sorted(item["Size"] for item in listed) == sorted(SIZES)


def test_sse_c_over_https_needs_the_same_key(encrypted):
    # Goal: SSE-C through boto3 over HTTPS: the object reads back only with its key; no key, a
    # wrong key, a key for a plain object and a wrong key MD5 get S3's errors; the ETag is not
    # the plaintext's MD5; the answers echo the algorithm and the key's MD5.
    client = https_client(encrypted)
    client.create_bucket(Bucket="sse-c")
    key = os.urandom(32)
    key_md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    for size in [0, 100, 70_000, 1024 * 1024]:
        data = os.urandom(size)
        name = f"secret-{size}"
        put = client.put_object(Bucket="sse-c", Key=name, Body=data, **sse)
        assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == key_md5
        assert put["ETag"].strip('"') != hashlib.md5(data).hexdigest()
        got = client.get_object(Bucket="sse-c", Key=name, **sse)
        assert got["Body"].read() == data
        assert got["SSECustomerKeyMD5"] == key_md5
        if size > 10:
            ranged = client.get_object(Bucket="sse-c", Key=name, Range="bytes=3-9", **sse)
            assert ranged["Body"].read() == data[3:10]
        assert error_of(client.get_object, Bucket="sse-c", Key=name) == (400, "InvalidRequest")
        assert error_of(client.head_object, Bucket="sse-c", Key=name)[0] == 400
        wrong = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
        assert error_of(client.get_object, Bucket="sse-c", Key=name, **wrong) == (403, "AccessDenied")
        assert error_of(client.head_object, Bucket="sse-c", Key=name, **wrong)[0] == 403
    # boto3 encodes the key for GetObjectAttributes itself only as text: send it encoded.
    encoded = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
               "SSECustomerKeyMD5": key_md5}
    attributes = client.get_object_attributes(Bucket="sse-c", Key="secret-100",
                                              ObjectAttributes=["ObjectSize"], **encoded)
    assert attributes["ObjectSize"] == 100
    assert error_of(client.get_object_attributes, Bucket="sse-c", Key="secret-100",
                    ObjectAttributes=["ObjectSize"]) == (400, "InvalidRequest")
    client.put_object(Bucket="sse-c", Key="plain", Body=b"plain")
    assert error_of(client.get_object, Bucket="sse-c", Key="plain", **sse) == (400, "InvalidRequest")
    # A key MD5 that does not match, and SSE-C next to SSE-S3: 400, nothing stored.
    wrong_md5 = dict(encoded, SSECustomerKeyMD5=base64.b64encode(b"\0" * 16).decode())
    assert error_of(client.put_object, Bucket="sse-c", Key="refused", Body=b"x",
                    **wrong_md5) == (400, "InvalidArgument")
    assert error_of(client.get_object, Bucket="sse-c", Key="secret-100", **wrong_md5) == (400, "InvalidArgument")
    assert error_of(client.put_object, Bucket="sse-c", Key="refused", Body=b"x",
                    ServerSideEncryption="AES256", **sse) == (400, "InvalidArgument")
    assert error_of(client.put_object, Bucket="sse-c", Key="refused", Body=b"x",
                    SSECustomerAlgorithm="AES128", SSECustomerKey=key) == (400, "InvalidEncryptionAlgorithmError")
    assert error_of(client.head_object, Bucket="sse-c", Key="refused")[0] == 404


def test_sse_c_over_plain_http_is_refused(encrypted):
    # Goal: S3 refuses customer keys sent in the clear; ringstore does too unless told otherwise,
    # and stores nothing.
    client = encrypted.client()
    client.create_bucket(Bucket="sse-c-http")
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    assert error_of(client.put_object, Bucket="sse-c-http", Key="k", Body=b"x", **sse) == (400, "InvalidRequest")
    assert client.list_objects_v2(Bucket="sse-c-http")["KeyCount"] == 0


def test_no_plaintext_in_the_data_dir(encrypted):
    # Goal: after encrypted uploads (inline and file-sized, SSE-S3 and SSE-C) no run of their
    # plaintext is anywhere in the data dir, SQLite's WAL included; a plain object's bytes are
    # found by the same scan, so the scan can fail.
    client = https_client(encrypted)
    client.create_bucket(Bucket="scan")
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    for size in [900, 300_000]:
        client.put_object(Bucket="scan", Key=f"s3-{size}", Body=marker("SSE-S3-SECRET", size),
                          ServerSideEncryption="AES256")
        client.put_object(Bucket="scan", Key=f"c-{size}", Body=marker("SSE-C-SECRET", size), **sse_c)
        client.put_object(Bucket="scan", Key=f"plain-{size}", Body=marker("PLAIN-CONTROL", size))
    raw = data_dir_bytes(encrypted)
    assert b"PLAIN-CONTROL" * 4 in raw
    assert b"SSE-S3-SECRET" not in raw
    assert b"SSE-C-SECRET" not in raw
    assert sse_c["SSECustomerKey"] not in raw


def test_a_tampered_file_fails_instead_of_returning_wrong_bytes(encrypted):
    # Goal: one flipped byte in an encrypted object file ends the read with an error; untouched
    # packages before it still read in a range.
    client = encrypted.client()
    client.create_bucket(Bucket="tamper")
    data = os.urandom(500_000)
    client.put_object(Bucket="tamper", Key="victim", Body=data, ServerSideEncryption="AES256")
    # On disk: the plaintext and one 16-byte tag per package (8 packages of 65,520 bytes).
    stored_size = 500_000 + 16 * (500_000 // 65_520 + 1)
    files = [os.path.join(root, name) for root, _, names in os.walk(os.path.join(encrypted.data, "objects"))
             for name in names]
    sized = [path for path in files if os.path.getsize(path) == stored_size]
    assert len(sized) == 1, sized
    with open(sized[0], "r+b") as handle:
        handle.seek(300_000)
        byte = handle.read(1)
        handle.seek(300_000)
        handle.write(bytes([byte[0] ^ 1]))
    assert client.get_object(Bucket="tamper", Key="victim", Range="bytes=0-99")["Body"].read() == data[:100]
    try:
        body = client.get_object(Bucket="tamper", Key="victim")["Body"].read()
    except Exception as error:  # the stream ends early: boto3 names the short read
        assert "IncompleteRead" in type(error).__name__ or "Streaming" in type(error).__name__ or \
            "Connection" in type(error).__name__, repr(error)
    else:
        pytest.fail(f"a tampered object read back {len(body)} bytes without an error")


def test_bucket_default_encryption(encrypted):
    # Goal: Put/Get/DeleteBucketEncryption as S3 answers them; objects PUT without SSE headers
    # into a bucket with a default are SSE-S3; writes that cannot encrypt yet are refused, not
    # stored in plaintext; SSE-KMS is refused.
    client = encrypted.client()
    client.create_bucket(Bucket="default-sse")
    assert error_of(client.get_bucket_encryption, Bucket="default-sse") == (
        404, "ServerSideEncryptionConfigurationNotFoundError")
    rule = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    client.put_bucket_encryption(Bucket="default-sse", ServerSideEncryptionConfiguration=rule)
    got = client.get_bucket_encryption(Bucket="default-sse")["ServerSideEncryptionConfiguration"]
    assert got["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    put = client.put_object(Bucket="default-sse", Key="by-default", Body=marker("DEFAULT-SECRET", 5000))
    assert put["ServerSideEncryption"] == "AES256"
    assert client.head_object(Bucket="default-sse", Key="by-default")["ServerSideEncryption"] == "AES256"
    assert client.get_object(Bucket="default-sse", Key="by-default")["Body"].read() == marker("DEFAULT-SECRET", 5000)
    # Multipart uploads (aws-cli's `s3 cp` of large files) and copies get the default too.
    client.upload_fileobj(io.BytesIO(marker("DEFAULT-MULTIPART", 9 * 1024 * 1024)), "default-sse", "big",
                          Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                                multipart_chunksize=5 * 1024 * 1024))
    assert client.head_object(Bucket="default-sse", Key="big")["ServerSideEncryption"] == "AES256"
    assert client.get_object(Bucket="default-sse", Key="big")["Body"].read() == \
        marker("DEFAULT-MULTIPART", 9 * 1024 * 1024)
    copied = client.copy_object(Bucket="default-sse", Key="copy",
                                CopySource={"Bucket": "default-sse", "Key": "by-default"})
    assert copied["ServerSideEncryption"] == "AES256"
    raw = data_dir_bytes(encrypted)
    assert b"DEFAULT-SECRET" not in raw and b"DEFAULT-MULTIPART" not in raw
    # A browser (POST) upload gets the default too.
    form = client.generate_presigned_post("default-sse", "posted")
    posted = requests_post(form, marker("DEFAULT-POSTED", 3000))
    assert posted.status == 204, posted.status
    assert client.head_object(Bucket="default-sse", Key="posted")["ServerSideEncryption"] == "AES256"
    assert client.get_object(Bucket="default-sse", Key="posted")["Body"].read() == marker("DEFAULT-POSTED", 3000)
    assert b"DEFAULT-POSTED" not in data_dir_bytes(encrypted)
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
    assert error_of(client.put_bucket_encryption, Bucket="default-sse",
                    ServerSideEncryptionConfiguration=kms) == (501, "NotImplemented")
    client.delete_bucket_encryption(Bucket="default-sse")
    assert error_of(client.get_bucket_encryption, Bucket="default-sse")[0] == 404
    put = client.put_object(Bucket="default-sse", Key="after", Body=b"plain again")
    assert "ServerSideEncryption" not in put
    # Objects stored under the default stay encrypted and readable.
    assert client.get_object(Bucket="default-sse", Key="by-default")["ServerSideEncryption"] == "AES256"


def test_sse_kms_is_refused(encrypted):
    # Goal: SSE-KMS is not offered: 501 on PUT and multipart, nothing stored.
    client = encrypted.client()
    client.create_bucket(Bucket="refusals")
    assert error_of(client.put_object, Bucket="refusals", Key="kms", Body=b"x",
                    ServerSideEncryption="aws:kms") == (501, "NotImplemented")
    assert error_of(client.create_multipart_upload, Bucket="refusals", Key="kms",
                    ServerSideEncryption="aws:kms") == (501, "NotImplemented")
    assert client.list_objects_v2(Bucket="refusals")["KeyCount"] == 0


def test_multipart_uploads_encrypt_every_part(encrypted):
    # Goal: SSE-S3 and SSE-C multipart uploads (boto3's transfer manager, parts of 5 MiB and an
    # uneven tail) read back whole, by range across parts and by partNumber; an SSE-C part
    # without its key or with another key is 400; a re-sent part number replaces the old one.
    client = https_client(encrypted)
    client.create_bucket(Bucket="mpu")
    size = 12 * 1024 * 1024 + 333
    data = os.urandom(size)
    transfer = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    client.upload_fileobj(io.BytesIO(data), "mpu", "s3", ExtraArgs={"ServerSideEncryption": "AES256"},
                          Config=transfer)
    head = client.head_object(Bucket="mpu", Key="s3")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == size
    assert client.get_object(Bucket="mpu", Key="s3")["Body"].read() == data
    first, last = 5 * 1024 * 1024 - 10, 10 * 1024 * 1024 + 10
    assert client.get_object(Bucket="mpu", Key="s3", Range=f"bytes={first}-{last}")["Body"].read() == \
        data[first:last + 1]
    part = client.get_object(Bucket="mpu", Key="s3", PartNumber=2)
    assert part["Body"].read() == data[5 * 1024 * 1024:10 * 1024 * 1024]

    key = os.urandom(32)
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    created = client.create_multipart_upload(Bucket="mpu", Key="c", **sse)
    assert created["SSECustomerAlgorithm"] == "AES256"
    upload = created["UploadId"]
    chunks = [data[:5 * 1024 * 1024], data[5 * 1024 * 1024:5 * 1024 * 1024 + 1000]]
    assert error_of(client.upload_part, Bucket="mpu", Key="c", UploadId=upload, PartNumber=1,
                    Body=chunks[0]) == (400, "InvalidRequest")
    wrong = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    assert error_of(client.upload_part, Bucket="mpu", Key="c", UploadId=upload, PartNumber=1,
                    Body=chunks[0], **wrong) == (400, "InvalidArgument")
    client.upload_part(Bucket="mpu", Key="c", UploadId=upload, PartNumber=1, Body=os.urandom(5 * 1024 * 1024), **sse)
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        answer = client.upload_part(Bucket="mpu", Key="c", UploadId=upload, PartNumber=number, Body=chunk, **sse)
        assert answer["SSECustomerAlgorithm"] == "AES256"
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    # Completing needs the key too (S3 requires it for SSE-C uploads).
    assert error_of(client.complete_multipart_upload, Bucket="mpu", Key="c", UploadId=upload,
                    MultipartUpload={"Parts": parts})[0] == 400
    completed = client.complete_multipart_upload(Bucket="mpu", Key="c", UploadId=upload,
                                                 MultipartUpload={"Parts": parts}, **sse)
    assert completed["ResponseMetadata"]["HTTPHeaders"]["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    assert client.get_object(Bucket="mpu", Key="c", **sse)["Body"].read() == b"".join(chunks)
    assert error_of(client.get_object, Bucket="mpu", Key="c") == (400, "InvalidRequest")
    assert client.get_object(Bucket="mpu", Key="c", Range="bytes=5242870-5242889", **sse)["Body"].read() == \
        b"".join(chunks)[5242870:5242890]


def test_copies_decrypt_their_source_and_encrypt_as_asked(encrypted):
    # Goal: CopyObject and UploadPartCopy read an encrypted source with its key (SSE-C source
    # keys in x-amz-copy-source-*) and write the copy as its own request asks: plain, SSE-S3 or
    # SSE-C; the source's encryption is never copied; an SSE-C key is rotated by a copy in place.
    client = https_client(encrypted)
    client.create_bucket(Bucket="copies")
    data = os.urandom(300_000)
    old_key, new_key = os.urandom(32), os.urandom(32)
    old = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": old_key}
    new = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": new_key}
    client.put_object(Bucket="copies", Key="s3", Body=data, ServerSideEncryption="AES256")
    plain = client.copy_object(Bucket="copies", Key="plain", CopySource={"Bucket": "copies", "Key": "s3"})
    assert "ServerSideEncryption" not in plain
    got = client.get_object(Bucket="copies", Key="plain")
    assert got["Body"].read() == data and "ServerSideEncryption" not in got
    client.copy_object(Bucket="copies", Key="c", CopySource={"Bucket": "copies", "Key": "plain"}, **old)
    assert client.get_object(Bucket="copies", Key="c", **old)["Body"].read() == data
    # The source's key is needed to read it, and only over the copy-source headers.
    assert error_of(client.copy_object, Bucket="copies", Key="x",
                    CopySource={"Bucket": "copies", "Key": "c"}) == (400, "InvalidRequest")
    wrong = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": new_key}
    assert error_of(client.copy_object, Bucket="copies", Key="x",
                    CopySource={"Bucket": "copies", "Key": "c"}, **wrong) == (403, "AccessDenied")
    # Rotation in place: the same key, a new customer key.
    rotated = client.copy_object(Bucket="copies", Key="c", CopySource={"Bucket": "copies", "Key": "c"},
                                 CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=old_key,
                                 **new)
    assert rotated["SSECustomerAlgorithm"] == "AES256"
    assert client.get_object(Bucket="copies", Key="c", **new)["Body"].read() == data
    assert error_of(client.get_object, Bucket="copies", Key="c", **old) == (403, "AccessDenied")
    # SSE-C source to SSE-S3 copy, metadata copied, encryption not.
    client.copy_object(Bucket="copies", Key="s3-again", CopySource={"Bucket": "copies", "Key": "c"},
                       CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=new_key,
                       ServerSideEncryption="AES256")
    again = client.get_object(Bucket="copies", Key="s3-again")
    assert again["Body"].read() == data and again["ServerSideEncryption"] == "AES256"
    # UploadPartCopy: a range of the SSE-C source into an SSE-S3 upload.
    upload = client.create_multipart_upload(Bucket="copies", Key="assembled", ServerSideEncryption="AES256")
    copied = client.upload_part_copy(Bucket="copies", Key="assembled", UploadId=upload["UploadId"], PartNumber=1,
                                     CopySource={"Bucket": "copies", "Key": "c"}, CopySourceRange="bytes=1000-200999",
                                     CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=new_key)
    client.complete_multipart_upload(Bucket="copies", Key="assembled", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                 "ETag": copied["CopyPartResult"]["ETag"]}]})
    assert client.get_object(Bucket="copies", Key="assembled")["Body"].read() == data[1000:201000]


def test_master_key_checks_and_restart(encrypted, tmp_path):
    # Goal: without a master key SSE-S3 is refused (nothing stored); a key file readable by
    # others, inside the data dir, or malformed stops the start with one line naming it; a
    # server restarted with the same key reads its SSE-S3 objects, with another key it answers
    # 500, never ciphertext; `key generate` never overwrites a key.
    plain = Server()
    try:
        client = plain.client()
        client.create_bucket(Bucket="no-key")
        assert error_of(client.put_object, Bucket="no-key", Key="k", Body=b"x",
                        ServerSideEncryption="AES256") == (501, "NotImplemented")
        rule = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
        assert error_of(client.put_bucket_encryption, Bucket="no-key",
                        ServerSideEncryptionConfiguration=rule) == (501, "NotImplemented")
        assert client.list_objects_v2(Bucket="no-key")["KeyCount"] == 0
    finally:
        plain.stop()
        shutil.rmtree(plain.data, ignore_errors=True)

    again = subprocess.run([Server.binary(), "key", "generate", encrypted.key_path],
                           capture_output=True, text=True)
    assert again.returncode == 1 and "master.key" in again.stderr
    exposed = str(tmp_path / "exposed.key")
    subprocess.run([Server.binary(), "key", "generate", exposed], check=True, capture_output=True)
    os.chmod(exposed, 0o644)
    data = str(tmp_path / "data")
    os.makedirs(data)
    inside = os.path.join(data, "inside.key")
    subprocess.run([Server.binary(), "key", "generate", inside], check=True, capture_output=True)
    malformed = str(tmp_path / "malformed.key")
    with open(malformed, "w") as handle:
        handle.write("not a key\n")
    os.chmod(malformed, 0o600)
    for path, words in [(exposed, "chmod 600"), (inside, "outside the data dir"), (malformed, "not a ringstore master key")]:
        started = subprocess.run([Server.binary(), "--listen", "127.0.0.1:0", "--data-dir", data,
                                  "--sse-master-key-file", path], capture_output=True, text=True, timeout=30)
        assert started.returncode == 1, started
        lines = started.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and os.path.basename(path) in lines[0], lines

    # Restart on the same data dir: with the same key the objects read, with another 500.
    other_key = generate_key(str(tmp_path))
    server = Server(extra_args=["--sse-master-key-file", encrypted.key_path])
    try:
        client = server.client()
        client.create_bucket(Bucket="restart")
        client.put_object(Bucket="restart", Key="k", Body=b"survives", ServerSideEncryption="AES256")
        server.stop()
        server.extra_args = ["--sse-master-key-file", other_key]
        server.start()
        assert error_of(server.client().get_object, Bucket="restart", Key="k") == (500, "InternalError")
        server.stop()
        server.extra_args = ["--sse-master-key-file", encrypted.key_path]
        server.start()
        assert server.client().get_object(Bucket="restart", Key="k")["Body"].read() == b"survives"
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
