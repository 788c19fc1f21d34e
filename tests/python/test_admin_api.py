"""The admin API (/_ringstore/admin/v1/) against the real server: every operation, signed with
botocore's own SigV4 signer, every answer checked against the served OpenAPI document; quotas
enforced exactly under concurrency and kept across a restart; `ringstore user` and the API seeing
each other's changes."""
import concurrent.futures
import json
import subprocess

import boto3
import botocore.exceptions
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import ACCESS_KEY, SECRET_KEY, Server

PREFIX = "/_ringstore/admin/v1/"

# (path template, method, status) of every answer checked against the document.
CHECKED = set()


@pytest.fixture(scope="module")
def document(server):
    answer = requests.get(server.endpoint + PREFIX + "openapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    return answer.json()


def signed(server, method, path, body=None, key=ACCESS_KEY, secret=SECRET_KEY, raw=None):
    """A request to the admin API signed as boto3 signs S3 requests (SigV4, service s3)."""
    url = server.endpoint + PREFIX + path
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    headers = {"Content-Type": "application/json"} if data else {}
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    return requests.request(method, url, headers=dict(request.headers), data=data, timeout=30)


def template_of(document, path):
    """The document's path template matching `path` (e.g. users/AKIA → /users/{accessKey})."""
    parts = path.split("/")
    for template in document["paths"]:
        pieces = template.strip("/").split("/")
        if len(pieces) == len(parts) and all(
                piece.startswith("{") or piece == part for piece, part in zip(pieces, parts)):
            return template
    raise AssertionError(f"no template in the document for {path}")


def check(document, answer, method, path, status):
    """Asserts the status and that the body is what the document says for it."""
    assert answer.status_code == status, (answer.status_code, answer.text)
    template = template_of(document, path)
    responses = document["paths"][template][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {template} does not document {status}"
    CHECKED.add((template, method.lower(), str(status)))
    content = responses[str(status)].get("content")
    if status == 204 or content is None:
        assert answer.content == b""
        return None
    body = answer.json()
    assert answer.headers["Content-Type"] == "application/json"
    schema = content["application/json"]["schema"]
    registry = Registry().with_resource("urn:doc", Resource.from_contents(document, DRAFT202012))
    reference = {"$ref": "urn:doc" + schema["$ref"]}
    Draft202012Validator(reference, registry=registry).validate(body)
    return body


def call(server, document, method, path, status, body=None, **kwargs):
    return check(document, signed(server, method, path, body, **kwargs), method, path, status)


def error_code(document, answer, method, path, status):
    return check(document, answer, method, path, status)["error"]["code"]


def s3_as(server, key, secret):
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}))


def s3_error(call_):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call_()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_document_is_valid_openapi(document):
    # Goal: the served description is a valid OpenAPI 3.1 document naming every operation.
    validate_openapi(document)
    operations = {op["operationId"] for item in document["paths"].values()
                  for key, op in item.items() if key != "parameters"}
    assert len(operations) == 16


def test_only_signed_admins_get_in(server, document):
    # Goal: unsigned, wrongly signed, non-admin and disabled signers are refused with the
    # documented codes; nothing else of the API answers them.
    unsigned = requests.get(server.endpoint + PREFIX + "users")
    assert error_code(document, unsigned, "GET", "users", 403) == "AccessDenied"
    bad = signed(server, "GET", "users", secret="wrong-secret")
    assert error_code(document, bad, "GET", "users", 403) == "SignatureDoesNotMatch"
    unknown = signed(server, "GET", "users", key="AKNOBODY", secret="x")
    assert error_code(document, unknown, "GET", "users", 403) == "InvalidAccessKeyId"
    plain = call(server, document, "POST", "users", 201, {"displayName": "api-plain"})
    answer = signed(server, "GET", "info", key=plain["accessKey"], secret=plain["secretKey"])
    assert error_code(document, answer, "GET", "info", 403) == "AccessDenied"
    # A path-style request under the prefix never reaches S3, and an unknown resource is 404.
    assert signed(server, "GET", "nothing").status_code == 404
    assert signed(server, "PUT", "users").status_code == 405


def test_users_from_creation_to_removal(server, document):
    # Goal: each user operation does what it says, at once on every core: a created user signs S3
    # requests, a disabled one cannot, a rotated secret replaces the old one, the admin role opens
    # the API, and removal is final; the bootstrap admin and self-lockout are refused.
    listed = call(server, document, "GET", "users", 200)
    assert listed["users"][0]["accessKey"] == ACCESS_KEY and listed["users"][0]["bootstrap"]
    user = call(server, document, "POST", "users", 201,
                {"displayName": "api-alice", "email": "alice@example.com"})
    key, secret = user["accessKey"], user["secretKey"]
    assert not user["admin"] and not user["disabled"]
    s3_as(server, key, secret).create_bucket(Bucket="api-alice-bucket")
    assert error_code(document, signed(server, "POST", "users", {"displayName": "api-alice"}),
                      "POST", "users", 409) == "UserAlreadyExists"
    for body in ({"displayName": "bad name"}, {}, {"displayName": "x", "colour": "red"},
                 {"displayName": 7}):
        assert error_code(document, signed(server, "POST", "users", body),
                          "POST", "users", 400) == "InvalidRequest"
    shown = call(server, document, "GET", f"users/{key}", 200)
    assert "secretKey" not in shown and shown["email"] == "alice@example.com"
    assert not any("secretKey" in entry for entry in call(server, document, "GET", "users", 200)["users"])

    # Disabled: refused as an unknown key, on every core (two connections' worth of tries).
    call(server, document, "PATCH", f"users/{key}", 200, {"disabled": True})
    for _ in range(4):
        assert s3_error(lambda: s3_as(server, key, secret).list_buckets()) == ("InvalidAccessKeyId", 403)
    call(server, document, "PATCH", f"users/{key}", 200, {"disabled": False})
    s3_as(server, key, secret).list_buckets()

    # Admin role: the API opens to the user.
    assert signed(server, "GET", "info", key=key, secret=secret).status_code == 403
    assert call(server, document, "PATCH", f"users/{key}", 200, {"admin": True})["admin"]
    call(server, document, "GET", "info", 200, key=key, secret=secret)
    # An admin cannot lock themselves out.
    assert error_code(document, signed(server, "PATCH", f"users/{key}", {"admin": False}, key=key, secret=secret),
                      "PATCH", f"users/{key}", 409) == "SelfLockout"
    assert error_code(document, signed(server, "DELETE", f"users/{key}", key=key, secret=secret),
                      "DELETE", f"users/{key}", 409) == "SelfLockout"

    # Rotation: the new secret works at once, the old one no more.
    rotated = call(server, document, "POST", f"users/{key}/rotate", 200)
    assert rotated["accessKey"] == key and rotated["secretKey"] != secret
    for _ in range(4):
        assert s3_error(lambda: s3_as(server, key, secret).list_buckets()) == ("SignatureDoesNotMatch", 403)
    s3_as(server, key, rotated["secretKey"]).list_buckets()

    # The bootstrap admin is the command line's.
    for method, path, status in (("PATCH", f"users/{ACCESS_KEY}", 409), ("DELETE", f"users/{ACCESS_KEY}", 409),
                                 ("POST", f"users/{ACCESS_KEY}/rotate", 409)):
        body = {"disabled": True} if method == "PATCH" else None
        assert error_code(document, signed(server, method, path, body), method, path, status) == "BootstrapUser"

    # A user who owns buckets stays until they are gone (else nobody could reach them).
    assert error_code(document, signed(server, "DELETE", f"users/{key}"),
                      "DELETE", f"users/{key}", 409) == "UserOwnsBuckets"
    call(server, document, "DELETE", "buckets/api-alice-bucket", 204)
    call(server, document, "DELETE", f"users/{key}", 204)
    for method, path in (("GET", f"users/{key}"), ("DELETE", f"users/{key}"), ("POST", f"users/{key}/rotate")):
        assert error_code(document, signed(server, method, path), method, path, 404) == "NoSuchUser"
    assert error_code(document, signed(server, "PATCH", f"users/{key}", {"admin": True}),
                      "PATCH", f"users/{key}", 404) == "NoSuchUser"
    assert s3_error(lambda: s3_as(server, key, rotated["secretKey"]).list_buckets()) == ("InvalidAccessKeyId", 403)
    # Emails are one address whatever their case; the bootstrap admin's name is taken.
    call(server, document, "POST", "users", 201, {"displayName": "api-erin", "email": "Erin@Example.com"})
    assert error_code(document, signed(server, "POST", "users", {"displayName": "api-erin2", "email": "erin@EXAMPLE.COM"}),
                      "POST", "users", 409) == "UserAlreadyExists"
    assert error_code(document, signed(server, "POST", "users", {"displayName": ACCESS_KEY}),
                      "POST", "users", 409) == "UserAlreadyExists"
    assert error_code(document, signed(server, "POST", "users", raw=b""), "POST", "users", 400) == "InvalidRequest"


def test_buckets_usage_and_configuration(server, document):
    # Goal: buckets made through the API belong to the named user; their usage counts current
    # objects, noncurrent versions and bytes exactly; their configuration shows as S3 set it;
    # a bucket with objects cannot be deleted, an empty one can.
    owner = call(server, document, "POST", "users", 201, {"displayName": "api-bob"})
    bob = s3_as(server, owner["accessKey"], owner["secretKey"])
    made = call(server, document, "POST", "buckets", 201, {"name": "api-bob-bucket", "owner": owner["accessKey"]})
    assert made["owner"] == owner["accessKey"] and made["objects"] == 0
    assert made["configuration"]["versioning"] is None and made["configuration"]["tier"] is None
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["api-bob-bucket"]
    assert error_code(document, signed(server, "POST", "buckets", {"name": "api-bob-bucket"}),
                      "POST", "buckets", 409) == "BucketAlreadyExists"
    assert error_code(document, signed(server, "POST", "buckets", {"name": "Bad_Name"}),
                      "POST", "buckets", 400) == "InvalidBucketName"
    assert error_code(document, signed(server, "POST", "buckets", {"name": "api-orphan", "owner": "AKNOBODY"}),
                      "POST", "buckets", 404) == "NoSuchUser"

    bob.put_object(Bucket="api-bob-bucket", Key="a", Body=b"x" * 1000)
    bob.put_object(Bucket="api-bob-bucket", Key="b", Body=b"y" * 24)
    bob.put_object(Bucket="api-bob-bucket", Key="a", Body=b"z" * 100)  # overwrite: 1000 freed
    bob.put_bucket_versioning(Bucket="api-bob-bucket", VersioningConfiguration={"Status": "Enabled"})
    bob.put_object(Bucket="api-bob-bucket", Key="b", Body=b"w" * 7)  # the 24 bytes stay a version
    bob.delete_object(Bucket="api-bob-bucket", Key="a")  # a delete marker; 100 bytes stay
    shown = call(server, document, "GET", "buckets/api-bob-bucket", 200)
    assert (shown["objects"], shown["versions"], shown["bytes"]) == (1, 2, 131)
    assert shown["configuration"]["versioning"] == "Enabled"
    # A placement made with `ringstore bucket tier` shows as the bucket's tier.
    subprocess.run([Server.binary(), "bucket", "--data-dir", server.data, "tier", "api-bob-bucket",
                    "COLD", "--after", "2h"], check=True, capture_output=True)
    placed = call(server, document, "GET", "buckets/api-bob-bucket", 200)
    assert placed["configuration"]["tier"] == {"name": "COLD", "afterSeconds": 7200}
    subprocess.run([Server.binary(), "bucket", "--data-dir", server.data, "tier", "api-bob-bucket",
                    "--local"], check=True, capture_output=True)
    assert call(server, document, "GET", "buckets/api-bob-bucket", 200)["configuration"]["tier"] is None
    listed = call(server, document, "GET", "buckets", 200)
    assert [b for b in listed["buckets"] if b["name"] == "api-bob-bucket"][0]["bytes"] == 131
    usage = call(server, document, "GET", "usage", 200)
    mine = [row for row in usage["users"] if row["accessKey"] == owner["accessKey"]][0]
    assert (mine["displayName"], mine["buckets"], mine["objects"], mine["versions"], mine["bytes"]) == ("api-bob", 1, 1, 2, 131)
    assert usage["total"]["bytes"] == sum(row["bytes"] for row in usage["buckets"])

    assert error_code(document, signed(server, "DELETE", "buckets/api-bob-bucket"),
                      "DELETE", "buckets/api-bob-bucket", 409) == "BucketNotEmpty"
    locked = call(server, document, "POST", "buckets", 201, {"name": "api-locked", "objectLock": True})
    assert locked["configuration"]["objectLock"] == {"enabled": True, "defaultRetention": None}
    assert locked["configuration"]["versioning"] == "Enabled"
    call(server, document, "DELETE", "buckets/api-locked", 204)
    for method, path in (("GET", "buckets/api-locked"), ("DELETE", "buckets/api-locked")):
        assert error_code(document, signed(server, method, path), method, path, 404) == "NoSuchBucket"
    assert error_code(document, signed(server, "PUT", "buckets/api-locked/quota", {"bytes": 1}),
                      "PUT", "buckets/api-locked/quota", 404) == "NoSuchBucket"
    assert error_code(document, signed(server, "DELETE", "buckets/api-locked/quota"),
                      "DELETE", "buckets/api-locked/quota", 404) == "NoSuchBucket"


def test_quota_refuses_what_would_pass_it_and_survives_a_restart(document):
    # Goal: PutObject, CopyObject and CompleteMultipartUpload beyond a bucket's quota answer 403
    # QuotaExceeded and store nothing; deletes free room; the quota and the usage survive a
    # restart; removing the quota lifts it.
    server = Server()
    try:
        s3 = server.client()
        s3.create_bucket(Bucket="quota")
        body = {"bytes": 10 * 1024 * 1024, "objects": 3}
        assert call(server, document, "PUT", "buckets/quota/quota", 200, body)["quota"] == body
        for body in ({"bytes": -1}, {"bytes": "1"}, {"limit": 3}, {"bytes": 2**63}):
            assert error_code(document, signed(server, "PUT", "buckets/quota/quota", body),
                              "PUT", "buckets/quota/quota", 400) == "InvalidRequest"
        s3.put_object(Bucket="quota", Key="one", Body=b"1" * (4 * 1024 * 1024))
        s3.put_object(Bucket="quota", Key="two", Body=b"2" * (4 * 1024 * 1024))
        # Bytes: 8 MiB + 4 MiB > 10 MiB.
        assert s3_error(lambda: s3.put_object(Bucket="quota", Key="three", Body=b"3" * (4 * 1024 * 1024))) \
            == ("QuotaExceeded", 403)
        assert s3_error(lambda: s3.head_object(Bucket="quota", Key="three"))[1] == 404
        assert s3_error(lambda: s3.copy_object(Bucket="quota", Key="copy", CopySource="quota/one")) \
            == ("QuotaExceeded", 403)
        upload = s3.create_multipart_upload(Bucket="quota", Key="multi")["UploadId"]
        part = s3.upload_part(Bucket="quota", Key="multi", UploadId=upload, PartNumber=1,
                              Body=b"m" * (5 * 1024 * 1024))
        assert s3_error(lambda: s3.complete_multipart_upload(
            Bucket="quota", Key="multi", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})) == ("QuotaExceeded", 403)
        # An overwrite that adds no bytes and no object is within the quota.
        s3.put_object(Bucket="quota", Key="two", Body=b"4" * (4 * 1024 * 1024))
        # Objects: a small third is fine, a fourth is not.
        s3.put_object(Bucket="quota", Key="small", Body=b"s")
        assert s3_error(lambda: s3.put_object(Bucket="quota", Key="small2", Body=b"s")) == ("QuotaExceeded", 403)
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="quota")["Contents"])
        assert keys == ["one", "small", "two"]
        shown = call(server, document, "GET", "buckets/quota", 200)
        assert (shown["objects"], shown["bytes"]) == (3, 8 * 1024 * 1024 + 1)

        server.stop()
        server.start()
        s3 = server.client()  # a new port
        assert s3_error(lambda: s3.put_object(Bucket="quota", Key="small2", Body=b"s")) == ("QuotaExceeded", 403)
        shown = call(server, document, "GET", "buckets/quota", 200)
        assert shown["quota"] == {"bytes": 10 * 1024 * 1024, "objects": 3} and shown["objects"] == 3
        s3.delete_object(Bucket="quota", Key="small")
        s3.put_object(Bucket="quota", Key="small2", Body=b"s")
        # The refused multipart upload is still there to finish once room is made.
        s3.delete_object(Bucket="quota", Key="one")
        s3.complete_multipart_upload(Bucket="quota", Key="multi", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        # Over a lowered quota: writes that add are refused, writes that add nothing pass (a
        # repeated completion, an overwrite that shrinks), deletes always do.
        call(server, document, "PUT", "buckets/quota/quota", 200, {"bytes": 1024})
        s3.complete_multipart_upload(Bucket="quota", Key="multi", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        s3.put_object(Bucket="quota", Key="two", Body=b"shrunk")
        assert s3_error(lambda: s3.put_object(Bucket="quota", Key="two", Body=b"grown" * 1000)) == ("QuotaExceeded", 403)
        assert s3_error(lambda: s3.put_object(Bucket="quota", Key="new", Body=b"n")) == ("QuotaExceeded", 403)
        lifted = call(server, document, "DELETE", "buckets/quota/quota", 200)
        assert lifted["quota"] == {"bytes": None, "objects": None}
        s3.put_object(Bucket="quota", Key="big", Body=b"b" * (8 * 1024 * 1024))
        assert call(server, document, "GET", "buckets/quota", 200)["objects"] == 4
    finally:
        server.stop()


@pytest.mark.parametrize("limit", ["objects", "bytes"])
def test_quota_is_exact_under_64_concurrent_puts(server, document, limit):
    # Goal: 64 PUTs racing at the quota boundary store exactly what the quota allows, never more.
    bucket = f"race-{limit}"
    s3 = server.client(max_pool_connections=64, retries={"max_attempts": 1})
    s3.create_bucket(Bucket=bucket)
    quota = {"objects": 10} if limit == "objects" else {"bytes": 10 * 1000}
    call(server, document, "PUT", f"buckets/{bucket}/quota", 200, quota)

    def put(index):
        try:
            s3.put_object(Bucket=bucket, Key=f"k{index:02}", Body=b"r" * 1000)
            return "stored"
        except botocore.exceptions.ClientError as error:
            return error.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        outcomes = list(pool.map(put, range(64)))
    assert outcomes.count("stored") == 10, outcomes
    assert outcomes.count("QuotaExceeded") == 54, outcomes
    listed = s3.list_objects_v2(Bucket=bucket)
    assert listed["KeyCount"] == 10
    shown = call(server, document, "GET", f"buckets/{bucket}", 200)
    assert (shown["objects"], shown["bytes"]) == (10, 10 * 1000)


def test_server_info_and_recent_errors(server, document):
    # Goal: info describes this server, and a failed S3 request shows in the recent errors with
    # its request id, code and status.
    info = call(server, document, "GET", "info", 200)
    assert info["cores"] == 2 and info["dataDir"] == server.data and info["tls"] is False
    assert info["disk"]["totalBytes"] > 0 and info["metadataBytes"] > 0 and info["connectionsOpen"] >= 1
    s3 = server.client()
    s3.create_bucket(Bucket="api-errors")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.get_object(Bucket="api-errors", Key="missing")
    request_id = caught.value.response["ResponseMetadata"]["RequestId"]
    errors = call(server, document, "GET", "errors", 200)["errors"]
    mine = [e for e in errors if e["requestId"] == request_id]
    assert mine and mine[0]["code"] == "NoSuchKey" and mine[0]["status"] == 404
    assert mine[0]["operation"] == "GetObject" and mine[0]["path"] == "/api-errors/missing"
    assert [e["timeMs"] for e in errors] == sorted((e["timeMs"] for e in errors), reverse=True)


def test_bodies_are_bounded_and_signed(server, document):
    # Goal: a body larger than the bound is refused, and a body that does not match its signed
    # hash never reaches an operation.
    huge = b'{"displayName": "' + b"x" * (70 * 1024) + b'"}'
    assert signed(server, "POST", "users", raw=huge).status_code == 413
    url = server.endpoint + PREFIX + "users"
    request = AWSRequest(method="POST", url=url, data=b'{"displayName": "api-signed"}',
                         headers={"Content-Type": "application/json"})
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    tampered = requests.post(url, headers=dict(request.headers), data=b'{"displayName": "api-forged"}')
    assert tampered.status_code in (400, 403), tampered.text
    names = [u["displayName"] for u in call(server, document, "GET", "users", 200)["users"]]
    assert "api-forged" not in names and "api-signed" not in names


def test_changes_must_be_signed_over_their_body(server, document):
    # Goal: a change (any method but GET) is refused unless SigV4 in its headers signs its body —
    # else a captured or presigned request could be replayed with a body of the replayer's
    # choosing, or as is for days (SigV2: for ever) — while reads may be presigned or SigV2.
    import hashlib
    from botocore.auth import HmacV1Auth, S3SigV4QueryAuth
    url = server.endpoint + PREFIX + "users"
    body = b'{"displayName": "api-unsigned", "admin": true}'
    class UnsignedPayload(S3SigV4Auth):
        def payload(self, request):
            return "UNSIGNED-PAYLOAD"

    unsigned = AWSRequest(method="POST", url=url, data=body)
    UnsignedPayload(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(unsigned)
    assert unsigned.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    answer = requests.post(url, headers=dict(unsigned.headers), data=body)
    assert error_code(document, answer, "POST", "users", 403) == "SignedPayloadRequired"
    presigned = AWSRequest(method="POST", url=url)
    S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1", expires=300).add_auth(presigned)
    answer = requests.post(presigned.url, data=body)
    assert error_code(document, answer, "POST", "users", 403) == "SignedPayloadRequired"
    v2 = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    HmacV1Auth(Credentials(ACCESS_KEY, SECRET_KEY)).add_auth(v2)
    answer = requests.post(url, headers=dict(v2.headers), data=body)
    assert error_code(document, answer, "POST", "users", 403) == "SignedPayloadRequired"
    # Even when the presigned or SigV2 signature covers the body's hash: replayable as is.
    digest = hashlib.sha256(body).hexdigest()
    v2 = AWSRequest(method="POST", url=url, data=body,
                    headers={"Content-Type": "application/json", "x-amz-content-sha256": digest})
    HmacV1Auth(Credentials(ACCESS_KEY, SECRET_KEY)).add_auth(v2)
    answer = requests.post(url, headers=dict(v2.headers), data=body)
    assert error_code(document, answer, "POST", "users", 403) == "SignedPayloadRequired"
    hashed = AWSRequest(method="POST", url=url, data=body, headers={"x-amz-content-sha256": digest})
    S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1", expires=300).add_auth(hashed)
    assert "x-amz-content-sha256" in hashed.url, hashed.url
    answer = requests.post(hashed.url, data=body, headers={"x-amz-content-sha256": digest})
    assert error_code(document, answer, "POST", "users", 403) == "SignedPayloadRequired"
    names = [u["displayName"] for u in call(server, document, "GET", "users", 200)["users"]]
    assert "api-unsigned" not in names
    reading = AWSRequest(method="GET", url=server.endpoint + PREFIX + "info")
    S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1", expires=300).add_auth(reading)
    assert check(document, requests.get(reading.url), "GET", "info", 200)["cores"] == 2


def test_a_disabled_user_signs_nothing(server, document):
    # Goal: a disabled key is refused on every way S3 takes a signature: headers, presigned URLs
    # (SigV4 and SigV2) and browser form uploads (POST object).
    user = call(server, document, "POST", "users", 201, {"displayName": "api-frank"})
    client = s3_as(server, user["accessKey"], user["secretKey"])
    client.create_bucket(Bucket="api-frank-bucket")
    client.put_object(Bucket="api-frank-bucket", Key="k", Body=b"v")
    v4_url = client.generate_presigned_url("get_object", Params={"Bucket": "api-frank-bucket", "Key": "k"})
    v2 = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=user["accessKey"],
                      aws_secret_access_key=user["secretKey"], region_name="us-east-1",
                      config=Config(signature_version="s3"))
    v2_url = v2.generate_presigned_url("get_object", Params={"Bucket": "api-frank-bucket", "Key": "k"})
    form = client.generate_presigned_post("api-frank-bucket", "posted")
    assert requests.get(v4_url).status_code == 200 and requests.get(v2_url).status_code == 200
    call(server, document, "PATCH", f"users/{user['accessKey']}", 200, {"disabled": True})
    for url in (v4_url, v2_url):
        answer = requests.get(url)
        assert answer.status_code == 403 and b"InvalidAccessKeyId" in answer.content, answer.content
    posted = requests.post(form["url"], data=form["fields"], files={"file": b"body"})
    assert posted.status_code == 403 and b"InvalidAccessKeyId" in posted.content, posted.content


def test_objects_are_served_sandboxed(server):
    # Goal: an object, HTML or not, is served with a sandbox Content-Security-Policy, so what a
    # user stored never runs in the origin that serves the console (tests/console.rs shows it in
    # a browser).
    s3 = server.client()
    s3.create_bucket(Bucket="api-sandbox")
    s3.put_object(Bucket="api-sandbox", Key="page.html", Body=b"<script>1</script>", ContentType="text/html")
    s3.put_object(Bucket="api-sandbox", Key="doc.pdf", Body=b"%PDF-1.4", ContentType="application/pdf")
    # A list of types: browsers take the last one (an exemption for PDFs fell to this).
    s3.put_object(Bucket="api-sandbox", Key="list", Body=b"<script>1</script>",
                  ContentType="application/pdf, text/html")
    for answer in (s3.get_object(Bucket="api-sandbox", Key="page.html"),
                   s3.head_object(Bucket="api-sandbox", Key="page.html"),
                   s3.get_object(Bucket="api-sandbox", Key="doc.pdf"),
                   s3.get_object(Bucket="api-sandbox", Key="list"),
                   s3.get_object(Bucket="api-sandbox", Key="doc.pdf", ResponseContentType="text/html")):
        policy = answer["ResponseMetadata"]["HTTPHeaders"]["content-security-policy"]
        assert policy.startswith("sandbox") and "allow-same-origin" not in policy


def test_the_cli_and_the_api_share_one_user_store(server, document):
    # Goal: `ringstore user` changes are the API's (same commands, same rows), and back.
    added = subprocess.run([Server.binary(), "user", "--data-dir", server.data, "add", "cli-carol", "--admin"],
                           check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in added.splitlines())
    key = fields["access_key"].strip()
    shown = call(server, document, "GET", f"users/{key}", 200)
    assert shown["admin"] and shown["displayName"] == "cli-carol"
    call(server, document, "PATCH", f"users/{key}", 200, {"disabled": True})
    listing = subprocess.run([Server.binary(), "user", "--data-dir", server.data, "list"],
                             check=True, capture_output=True, text=True).stdout
    row = [line.split("\t") for line in listing.splitlines() if line.startswith(key)][0]
    assert row[4:] == ["true", "true"]
    for command in (["enable", key], ["set-admin", key, "false"]):
        subprocess.run([Server.binary(), "user", "--data-dir", server.data, *command], check=True,
                       capture_output=True)
    shown = call(server, document, "GET", f"users/{key}", 200)
    assert not shown["admin"] and not shown["disabled"]
    rotated = subprocess.run([Server.binary(), "user", "--data-dir", server.data, "rotate", key],
                             check=True, capture_output=True, text=True).stdout
    secret = dict(line.split(":", 1) for line in rotated.splitlines())["secret_key"].strip()
    s3_as(server, key, secret).list_buckets()
    missing = subprocess.run([Server.binary(), "user", "--data-dir", server.data, "disable", "AKNOBODY"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "AKNOBODY" in missing.stderr


def test_every_documented_success_was_checked(document):
    # Goal: the tests above exercised every documented operation's success answer, so the
    # document cannot drift from the server unnoticed. (Runs last in this file.)
    documented = {(template, method, status)
                  for template, item in document["paths"].items()
                  for method, operation in item.items() if method != "parameters"
                  for status in operation["responses"] if status.startswith("2")}
    documented.discard(("/openapi.json", "get", "200"))
    assert documented - CHECKED == set()
