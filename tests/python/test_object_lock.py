"""boto3 (default config) against Object Lock: the calls an immutable backup repository makes
(Veeam-style: lock-enabled bucket, every object written with COMPLIANCE retention, retention
extended in place, deletes refused, versions listed) and the GOVERNANCE permission cases with a
second user."""
import datetime
import json
import os
import xml.etree.ElementTree as ElementTree

import pytest
from botocore.exceptions import ClientError


def later(seconds):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)


def code(error):
    return error.value.response["Error"]["Code"]


SOSAPI = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/"


def test_immutable_repository_flow(server):
    # Goal: the flow Veeam drives against an immutable repository works end to end and the lock
    # holds: SOSAPI's system.xml and capacity.xml (the data disk's real figures), lock-enabled
    # bucket (versioning on), COMPLIANCE on each write, extension via PutObjectRetention, HEAD
    # shows the lock, no delete of a version succeeds (owner, bypass), a plain delete only hides
    # the key, and ListObjectVersions still shows every version.
    s3 = server.client()
    s3.create_bucket(Bucket="py-immutable", ObjectLockEnabledForBucket=True)
    system = ElementTree.fromstring(s3.get_object(Bucket="py-immutable", Key=SOSAPI + "system.xml")["Body"].read())
    assert system.tag == "SystemInfo"
    assert system.findtext("ProtocolVersion") == '"1.0"'
    assert system.findtext("ProtocolCapabilities/CapacityInfo") == "true"
    capacity_object = s3.get_object(Bucket="py-immutable", Key=SOSAPI + "capacity.xml")
    assert capacity_object["ContentType"] == "application/xml"
    capacity = ElementTree.fromstring(capacity_object["Body"].read())
    disk = os.statvfs(server.data)
    assert int(capacity.findtext("Capacity")) == disk.f_blocks * disk.f_frsize
    assert int(capacity.findtext("Used")) > 0
    assert abs(int(capacity.findtext("Available")) - disk.f_bavail * disk.f_frsize) < 512 * 1024 * 1024
    assert s3.head_object(Bucket="py-immutable", Key=SOSAPI + "system.xml")["ContentLength"] > 0
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="py-immutable", Key=SOSAPI + "other.xml")
    assert code(error) == "NoSuchKey"
    # The server answers them; nobody can replace them (a WRITE grantee could fake capacity).
    for name in ("system.xml", "capacity.xml"):
        with pytest.raises(ClientError) as error:
            s3.put_object(Bucket="py-immutable", Key=SOSAPI + name, Body=b"<fake/>")
        assert code(error) == "InvalidRequest"
    assert s3.get_bucket_versioning(Bucket="py-immutable")["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket="py-immutable")["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    until = later(3600).replace(microsecond=0)
    ids = []
    for n in range(3):
        put = s3.put_object(Bucket="py-immutable", Key=f"backup/block-{n}", Body=b"data" * 100,
                            ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
        ids.append(put["VersionId"])
    extended = later(7200).replace(microsecond=0)
    for n, version in enumerate(ids):
        s3.put_object_retention(Bucket="py-immutable", Key=f"backup/block-{n}", VersionId=version,
                                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": extended})
    head = s3.head_object(Bucket="py-immutable", Key="backup/block-0")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == extended
    for n, version in enumerate(ids):
        with pytest.raises(ClientError) as error:
            s3.delete_object(Bucket="py-immutable", Key=f"backup/block-{n}", VersionId=version,
                             BypassGovernanceRetention=True)
        assert code(error) == "AccessDenied"
    with pytest.raises(ClientError) as error:
        s3.put_object_retention(Bucket="py-immutable", Key="backup/block-0", VersionId=ids[0],
                                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    assert code(error) == "AccessDenied"
    assert s3.delete_object(Bucket="py-immutable", Key="backup/block-0")["DeleteMarker"] is True
    result = s3.delete_objects(Bucket="py-immutable", Delete={"Objects": [{"Key": f"backup/block-{n}", "VersionId": v} for n, v in enumerate(ids)]})
    assert sorted(e["Code"] for e in result["Errors"]) == ["AccessDenied"] * 3
    listed = s3.list_object_versions(Bucket="py-immutable", Prefix="backup/")
    assert sorted(v["VersionId"] for v in listed["Versions"]) == sorted(ids)
    assert len(listed["DeleteMarkers"]) == 1
    with pytest.raises(ClientError) as error:
        s3.put_bucket_versioning(Bucket="py-immutable", VersioningConfiguration={"Status": "Suspended"})
    assert code(error) == "InvalidBucketState"


def test_governance_bypass_needs_the_permission(server):
    # Goal: a second user who may write the bucket cannot bypass GOVERNANCE retention (header
    # or not); the bucket owner can, and then the version is gone.
    s3 = server.client()
    s3.create_bucket(Bucket="py-govern", ObjectLockEnabledForBucket=True, ACL="public-read-write")
    s3.put_object_lock_configuration(Bucket="py-govern", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    version = s3.put_object(Bucket="py-govern", Key="k", Body=b"x")["VersionId"]
    assert s3.get_object_retention(Bucket="py-govern", Key="k")["Retention"]["Mode"] == "GOVERNANCE"
    other = server.client_as(server.add_user("py-lock-writer"))
    for bypass in (False, True):
        with pytest.raises(ClientError) as error:
            other.delete_object(Bucket="py-govern", Key="k", VersionId=version, BypassGovernanceRetention=bypass)
        assert code(error) == "AccessDenied"
    with pytest.raises(ClientError) as error:
        s3.delete_object(Bucket="py-govern", Key="k", VersionId=version)
    assert code(error) == "AccessDenied"
    s3.delete_object(Bucket="py-govern", Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert "Versions" not in s3.list_object_versions(Bucket="py-govern")


def test_bucket_write_grants_no_power_over_versions_or_locks(server):
    # Goal: a user (or anyone, on a public-read-write bucket) with WRITE on the bucket may add
    # objects and delete markers, but may not remove a version by id, lift a legal hold, set a
    # retention on someone else's version, or upload an object pinned by a retention or hold of
    # its own asking — those are the bucket owner's (S3's ACL mapping
    # gives WRITE s3:DeleteObjectVersion only for the bucket owner; retention and legal hold
    # are permissions ACLs do not grant).
    s3 = server.client()
    s3.create_bucket(Bucket="py-acl-lock", ObjectLockEnabledForBucket=True, ACL="public-read-write")
    held = s3.put_object(Bucket="py-acl-lock", Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    plain = s3.put_object(Bucket="py-acl-lock", Key="plain", Body=b"x")["VersionId"]
    other = server.client_as(server.add_user("py-acl-writer"))
    for attempt in (
        lambda: other.put_object_legal_hold(Bucket="py-acl-lock", Key="held", VersionId=held, LegalHold={"Status": "OFF"}),
        lambda: other.put_object_retention(Bucket="py-acl-lock", Key="plain", VersionId=plain,
                                           Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later(86400 * 3650)}),
        lambda: other.delete_object(Bucket="py-acl-lock", Key="plain", VersionId=plain),
    ):
        with pytest.raises(ClientError) as error:
            attempt()
        assert code(error) == "AccessDenied"
    for lock in ({"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": later(86400 * 3650)},
                 {"ObjectLockLegalHoldStatus": "ON"}):
        with pytest.raises(ClientError) as error:
            other.put_object(Bucket="py-acl-lock", Key="pinned", Body=b"x", **lock)
        assert code(error) == "AccessDenied"
    assert "Versions" not in s3.list_object_versions(Bucket="py-acl-lock", Prefix="pinned")
    result = other.delete_objects(Bucket="py-acl-lock", Delete={"Objects": [{"Key": "plain", "VersionId": plain}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    assert other.delete_object(Bucket="py-acl-lock", Key="plain")["DeleteMarker"] is True
    assert s3.get_object(Bucket="py-acl-lock", Key="plain", VersionId=plain)["Body"].read() == b"x"
    assert s3.get_object_legal_hold(Bucket="py-acl-lock", Key="held", VersionId=held)["LegalHold"]["Status"] == "ON"
    with pytest.raises(ClientError) as error:
        s3.get_object_retention(Bucket="py-acl-lock", Key="plain", VersionId=plain)
    assert code(error) == "NoSuchObjectLockConfiguration"


def test_retention_bounds(server):
    # Goal: a retention date in the past and a default retention beyond ringstore's 100-year
    # bound are refused (never wrapped into a date that protects nothing).
    s3 = server.client()
    s3.create_bucket(Bucket="py-bounds", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="py-bounds", Key="k", Body=b"x")
    with pytest.raises(ClientError) as error:
        s3.put_object_retention(Bucket="py-bounds", Key="k", Retention={
            "Mode": "COMPLIANCE", "RetainUntilDate": datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)})
    assert code(error) == "InvalidArgument"
    for period in ({"Years": 300000000}, {"Days": 4294967295}, {"Years": 101}):
        with pytest.raises(ClientError) as error:
            s3.put_object_lock_configuration(Bucket="py-bounds", ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", **period}}})
        assert code(error) == "InvalidRetentionPeriod", period


def test_lock_and_tag_calls_on_a_delete_marker_are_405(server):
    # Goal: every per-version call that names a delete marker by id answers 405 MethodNotAllowed
    # with x-amz-delete-marker, as GET and HEAD do (S3 API Reference, GetObject), the writes
    # (retention, legal hold, tags) included, and changes nothing.
    s3 = server.client()
    s3.create_bucket(Bucket="py-lock-marker", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="py-lock-marker", Key="k", Body=b"x")
    marker = s3.delete_object(Bucket="py-lock-marker", Key="k")["VersionId"]
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    for call in (
        lambda: s3.put_object_retention(Bucket="py-lock-marker", Key="k", VersionId=marker,
                                        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}),
        lambda: s3.put_object_legal_hold(Bucket="py-lock-marker", Key="k", VersionId=marker,
                                         LegalHold={"Status": "ON"}),
        lambda: s3.get_object_retention(Bucket="py-lock-marker", Key="k", VersionId=marker),
        lambda: s3.get_object_legal_hold(Bucket="py-lock-marker", Key="k", VersionId=marker),
        lambda: s3.put_object_tagging(Bucket="py-lock-marker", Key="k", VersionId=marker,
                                      Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}),
        lambda: s3.get_object_tagging(Bucket="py-lock-marker", Key="k", VersionId=marker),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        response = refused.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 405
        assert response["Error"]["Code"] == "MethodNotAllowed"
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    s3.delete_object(Bucket="py-lock-marker", Key="k", VersionId=marker)


def test_copy_and_post_set_locks_that_get_returns(server):
    # Goal: CopyObject and a POST form carry Object Lock settings of their own onto the version
    # they write, and GET (not only HEAD) returns them.
    from test_post_object import policy_text, post, sigv4_fields
    s3 = server.client()
    s3.create_bucket(Bucket="py-lock-copy", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="py-lock-copy", Key="source", Body=b"payload")
    until = later(3600).replace(microsecond=0)
    copied = s3.copy_object(Bucket="py-lock-copy", Key="copy", CopySource={"Bucket": "py-lock-copy", "Key": "source"},
                            ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until,
                            ObjectLockLegalHoldStatus="ON")
    got = s3.get_object(Bucket="py-lock-copy", Key="copy", VersionId=copied["VersionId"])
    assert got["Body"].read() == b"payload"
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"], got["ObjectLockLegalHoldStatus"]) == \
        ("GOVERNANCE", until, "ON")
    assert "ObjectLockMode" not in s3.get_object(Bucket="py-lock-copy", Key="source")
    form_until = until.strftime("%Y-%m-%dT%H:%M:%SZ")
    lock_fields = [("x-amz-object-lock-mode", "GOVERNANCE"), ("x-amz-object-lock-retain-until-date", form_until),
                   ("x-amz-object-lock-legal-hold", "ON")]
    policy = policy_text([{"bucket": "py-lock-copy"}, ["starts-with", "$key", "form/"]]
                         + [{name: value} for name, value in lock_fields])
    reply = post(server, "py-lock-copy", [("key", "form/f")] + lock_fields + sigv4_fields(policy), body=b"form")
    assert reply.status_code == 204, reply.text
    got = s3.get_object(Bucket="py-lock-copy", Key="form/f", VersionId=reply.headers["x-amz-version-id"])
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"], got["ObjectLockLegalHoldStatus"]) == \
        ("GOVERNANCE", until, "ON")
    with pytest.raises(ClientError) as error:
        s3.delete_object(Bucket="py-lock-copy", Key="form/f", VersionId=reply.headers["x-amz-version-id"],
                         BypassGovernanceRetention=True)
    assert code(error) == "AccessDenied"


def test_a_granted_bypass_lets_a_second_user_remove_a_governance_version(server):
    # Goal: a second user whom the bucket policy grants s3:DeleteObjectVersion and
    # s3:BypassGovernanceRetention removes a GOVERNANCE version only when the request asks
    # for the bypass; a user granted the delete but not the bypass cannot, header or not.
    s3 = server.client()
    s3.create_bucket(Bucket="py-granted", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket="py-granted", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    trusted = server.client_as(server.add_user("py-lock-trusted"))
    plain = server.client_as(server.add_user("py-lock-plain"))
    arn = "arn:aws:iam::000000000000:user/"
    s3.put_bucket_policy(Bucket="py-granted", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [arn + "py-lock-trusted", arn + "py-lock-plain"]},
         "Action": ["s3:DeleteObjectVersion", "s3:GetObject"], "Resource": "arn:aws:s3:::py-granted/*"},
        {"Effect": "Allow", "Principal": {"AWS": arn + "py-lock-trusted"},
         "Action": "s3:BypassGovernanceRetention", "Resource": "arn:aws:s3:::py-granted/*"},
    ]}))
    version = s3.put_object(Bucket="py-granted", Key="k", Body=b"x")["VersionId"]
    for client, bypass in ((plain, False), (plain, True), (trusted, False)):
        with pytest.raises(ClientError) as error:
            client.delete_object(Bucket="py-granted", Key="k", VersionId=version, BypassGovernanceRetention=bypass)
        assert code(error) == "AccessDenied"
    assert s3.get_object(Bucket="py-granted", Key="k", VersionId=version)["Body"].read() == b"x"
    trusted.delete_object(Bucket="py-granted", Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert "Versions" not in s3.list_object_versions(Bucket="py-granted")


def test_lock_configuration_needs_a_digest(server):
    # Goal: PutObjectLockConfiguration without Content-MD5 or a flexible checksum is refused
    # with InvalidRequest (S3 requires one) and leaves the bucket's configuration as it was.
    s3 = server.client()
    s3.create_bucket(Bucket="py-lock-digest", ObjectLockEnabledForBucket=True)

    def strip_digests(request, **_):
        for name in list(request.headers.keys()):
            lowered = name.lower()
            if lowered == "content-md5" or lowered.startswith("x-amz-checksum-") or lowered == "x-amz-sdk-checksum-algorithm":
                del request.headers[name]

    s3.meta.events.register("before-sign.s3.PutObjectLockConfiguration", strip_digests)
    with pytest.raises(ClientError) as error:
        s3.put_object_lock_configuration(Bucket="py-lock-digest", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}})
    assert code(error) == "InvalidRequest"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Rule" not in s3.get_object_lock_configuration(Bucket="py-lock-digest")["ObjectLockConfiguration"]


def test_kopia_style_locked_repository(server):
    # Goal: the calls Kopia's documented ransomware protection makes (`kopia repository create
    # s3 --retention-mode COMPLIANCE --retention-period …`; kopia itself is not on any registry
    # this project installs from) hold: every blob written with its own COMPLIANCE retention
    # and a Content-MD5 (as minio-go sends with lock parameters), maintenance extending each
    # blob's retention in place (never shortening), a rewritten or deleted blob only hidden by
    # a newer version or a marker, and the earlier versions a point-in-time read
    # (`--point-in-time`) needs still listed by ListObjectVersions and read by versionId.
    import base64
    import hashlib
    s3 = server.client()
    s3.create_bucket(Bucket="py-kopia", ObjectLockEnabledForBucket=True)
    until = later(3600).replace(microsecond=0)
    blobs = {"kopia.repository": b'{"uniqueID":"x"}', "kopia.blobcfg": b'{"retentionMode":"COMPLIANCE"}',
             "p0a1b2c3": b"pack" * 500, "q4d5e6f7": b"index" * 100, "xn0_1": b"epoch"}
    versions = {}
    for key, body in blobs.items():
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        versions[key] = s3.put_object(Bucket="py-kopia", Key=key, Body=body, ContentMD5=md5,
                                      ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
    extended = later(7200).replace(microsecond=0)
    for listed in s3.list_objects_v2(Bucket="py-kopia")["Contents"]:
        s3.put_object_retention(Bucket="py-kopia", Key=listed["Key"],
                                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": extended})
    for key in blobs:
        assert s3.get_object_retention(Bucket="py-kopia", Key=key)["Retention"]["RetainUntilDate"] == extended
    with pytest.raises(ClientError) as error:
        s3.put_object_retention(Bucket="py-kopia", Key="p0a1b2c3",
                                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    assert code(error) == "AccessDenied"
    # An attacker (or a maintenance run) rewriting or deleting blobs leaves the old versions.
    rewritten = s3.put_object(Bucket="py-kopia", Key="xn0_1", Body=b"tampered",
                              ContentMD5=base64.b64encode(hashlib.md5(b"tampered").digest()).decode(),
                              ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
    s3.delete_object(Bucket="py-kopia", Key="p0a1b2c3")
    with pytest.raises(ClientError) as error:
        s3.delete_object(Bucket="py-kopia", Key="q4d5e6f7", VersionId=versions["q4d5e6f7"])
    assert code(error) == "AccessDenied"
    assert "p0a1b2c3" not in [o["Key"] for o in s3.list_objects_v2(Bucket="py-kopia")["Contents"]]
    history = s3.list_object_versions(Bucket="py-kopia")
    assert sorted((v["Key"], v["VersionId"]) for v in history["Versions"]) == \
        sorted(list(versions.items()) + [("xn0_1", rewritten)])
    as_of = {v["Key"]: v["VersionId"] for v in history["Versions"] if v["VersionId"] != rewritten}
    assert as_of == versions
    assert [m["Key"] for m in history["DeleteMarkers"]] == ["p0a1b2c3"]
    for key, version in as_of.items():
        assert s3.get_object(Bucket="py-kopia", Key=key, VersionId=version)["Body"].read() == blobs[key]
    # The bucket default Kopia's docs also allow, in years, reads back as set.
    s3.put_object_lock_configuration(Bucket="py-kopia", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 1}}})
    rule = s3.get_object_lock_configuration(Bucket="py-kopia")["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"] == {"Mode": "GOVERNANCE", "Years": 1}
