"""boto3 (default config) against S3 Versioning: the calls backup tools and test suites make —
enable and suspend, version ids on every write, delete markers, reads and deletes by version,
the list_object_versions paginator, and emptying a versioned bucket the way boto3's docs show."""
import pytest
from botocore.exceptions import ClientError


def enable(s3, bucket, status="Enabled"):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def test_versions_markers_and_paginator(server):
    # Goal: each PUT in an Enabled bucket returns a new VersionId; every version stays readable;
    # a delete writes a marker boto3 reports; the paginator walks versions and markers of many
    # keys page by page with IsLatest exactly once per key.
    s3 = server.client()
    s3.create_bucket(Bucket="py-ver")
    enable(s3, "py-ver")
    assert s3.get_bucket_versioning(Bucket="py-ver")["Status"] == "Enabled"
    written = {}
    for key in ["a", "b/1", "b/2", "c"]:
        written[key] = [s3.put_object(Bucket="py-ver", Key=key, Body=f"{key}-{n}".encode())["VersionId"] for n in range(3)]
    for key, ids in written.items():
        for n, version in enumerate(ids):
            got = s3.get_object(Bucket="py-ver", Key=key, VersionId=version)
            assert got["Body"].read() == f"{key}-{n}".encode()
            assert got["VersionId"] == version
    marker = s3.delete_object(Bucket="py-ver", Key="c")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="py-ver", Key="c")
    assert error.value.response["Error"]["Code"] == "NoSuchKey"
    assert error.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket="py-ver", Key="c", VersionId=marker["VersionId"])
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405

    versions, markers = [], []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket="py-ver", PaginationConfig={"PageSize": 2}):
        versions += page.get("Versions", [])
        markers += page.get("DeleteMarkers", [])
    assert [(v["Key"], v["VersionId"]) for v in versions] == [(k, i) for k in written for i in reversed(written[k])]
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in markers] == [("c", marker["VersionId"], True)]
    latest = [v["Key"] for v in versions if v["IsLatest"]]
    assert latest == ["a", "b/1", "b/2"]
    listed = s3.list_objects_v2(Bucket="py-ver")
    assert [o["Key"] for o in listed["Contents"]] == ["a", "b/1", "b/2"]
    grouped = s3.list_object_versions(Bucket="py-ver", Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["b/"]


def test_suspend_then_empty_the_bucket(server):
    # Goal: Suspended writes return no VersionId and replace the null version; the documented way
    # to empty a versioned bucket (delete every version and marker by id with delete_objects,
    # then delete_bucket) works, and delete_bucket refuses while any version is left.
    s3 = server.client()
    s3.create_bucket(Bucket="py-sus")
    enable(s3, "py-sus")
    kept = s3.put_object(Bucket="py-sus", Key="k", Body=b"kept")["VersionId"]
    enable(s3, "py-sus", "Suspended")
    assert "VersionId" not in s3.put_object(Bucket="py-sus", Key="k", Body=b"n1")
    s3.put_object(Bucket="py-sus", Key="k", Body=b"n2")
    listed = s3.list_object_versions(Bucket="py-sus")["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in listed] == [("null", True), (kept, False)]
    assert s3.get_object(Bucket="py-sus", Key="k", VersionId="null")["Body"].read() == b"n2"
    s3.delete_object(Bucket="py-sus", Key="k")
    with pytest.raises(ClientError) as error:
        s3.delete_bucket(Bucket="py-sus")
    assert error.value.response["Error"]["Code"] == "BucketNotEmpty"
    page = s3.list_object_versions(Bucket="py-sus")
    targets = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    assert len(targets) == 2
    result = s3.delete_objects(Bucket="py-sus", Delete={"Objects": targets})
    assert sorted(d["VersionId"] for d in result["Deleted"]) == sorted([kept, "null"])
    assert [d.get("DeleteMarker") for d in result["Deleted"] if d["VersionId"] == "null"] == [True]
    s3.delete_bucket(Bucket="py-sus")


def test_boto3_resource_object_versions(server):
    # Goal: boto3's resource layer (bucket.object_versions, Object.version_id) reads what the
    # client layer wrote, and ObjectVersion.get / delete act on exactly one version.
    s3 = server.client()
    s3.create_bucket(Bucket="py-res")
    enable(s3, "py-res")
    first = s3.put_object(Bucket="py-res", Key="doc", Body=b"v1")["VersionId"]
    second = s3.put_object(Bucket="py-res", Key="doc", Body=b"v2")["VersionId"]
    resource = server.resource()
    bucket = resource.Bucket("py-res")
    assert [v.id for v in bucket.object_versions.all()] == [second, first]
    assert resource.Object("py-res", "doc").version_id == second
    assert resource.ObjectVersion("py-res", "doc", first).get()["Body"].read() == b"v1"
    resource.ObjectVersion("py-res", "doc", second).delete()
    assert s3.get_object(Bucket="py-res", Key="doc")["Body"].read() == b"v1"


def test_delete_while_paging_empties_the_bucket(server):
    # Goal: boto3's documented way to empty a versioned bucket — delete each page of versions as
    # the paginator returns it — leaves nothing behind: a page resumes in place even though the
    # version its marker names was just deleted.
    s3 = server.client()
    s3.create_bucket(Bucket="py-empty")
    enable(s3, "py-empty")
    for key in ("k1", "k2"):
        for n in range(5):
            s3.put_object(Bucket="py-empty", Key=key, Body=f"{n}".encode())
    server.resource().Bucket("py-empty").object_versions.page_size(3).delete()
    assert "Versions" not in s3.list_object_versions(Bucket="py-empty")
    s3.delete_bucket(Bucket="py-empty")


def test_mfa_delete_disabled_is_accepted_and_never_echoed(server):
    # Goal: MfaDelete=Disabled (what tools send when they name it) is accepted, Enabled is
    # refused as not implemented and changes nothing, and GetBucketVersioning answers the
    # status without an MfaDelete element (ringstore keeps no MFA Delete state).
    s3 = server.client()
    s3.create_bucket(Bucket="py-mfa")
    s3.put_bucket_versioning(Bucket="py-mfa", VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"})
    got = s3.get_bucket_versioning(Bucket="py-mfa")
    assert got["Status"] == "Enabled"
    assert "MFADelete" not in got
    with pytest.raises(ClientError) as error:
        s3.put_bucket_versioning(Bucket="py-mfa", VersioningConfiguration={"Status": "Suspended", "MFADelete": "Enabled"})
    assert error.value.response["Error"]["Code"] == "NotImplemented"
    assert s3.get_bucket_versioning(Bucket="py-mfa")["Status"] == "Enabled"


def test_post_object_into_an_enabled_bucket_makes_versions(server):
    # Goal: a browser form upload (POST object) into an Enabled bucket makes a new version each
    # time, returns its id in x-amz-version-id, and keeps the one it replaced.
    from test_post_object import policy_text, post, sigv4_fields
    s3 = server.client()
    s3.create_bucket(Bucket="py-form-versions")
    enable(s3, "py-form-versions")
    ids = []
    for body in (b"first form", b"second form"):
        policy = policy_text([{"bucket": "py-form-versions"}, ["starts-with", "$key", "up/"]])
        reply = post(server, "py-form-versions", [("key", "up/f.txt")] + sigv4_fields(policy), body=body)
        assert reply.status_code == 204, reply.text
        ids.append(reply.headers["x-amz-version-id"])
    assert ids[0] != ids[1]
    listed = s3.list_object_versions(Bucket="py-form-versions")["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in listed] == [(ids[1], True), (ids[0], False)]
    assert s3.get_object(Bucket="py-form-versions", Key="up/f.txt", VersionId=ids[0])["Body"].read() == b"first form"


def test_reads_name_a_version(server):
    # Goal: partNumber, conditional headers, GetObjectAttributes and the object ACL each act on
    # the version named, not the current one: a two-part upload made noncurrent by a plain PUT.
    s3 = server.client()
    s3.create_bucket(Bucket="py-version-reads")
    enable(s3, "py-version-reads")
    part_bytes = [bytes([n]) * (5 * 1024 * 1024) for n in (1, 2)]
    upload = s3.create_multipart_upload(Bucket="py-version-reads", Key="k")["UploadId"]
    parts = [{"PartNumber": n + 1, "ETag": s3.upload_part(Bucket="py-version-reads", Key="k", UploadId=upload,
                                                         PartNumber=n + 1, Body=body)["ETag"]}
             for n, body in enumerate(part_bytes)]
    done = s3.complete_multipart_upload(Bucket="py-version-reads", Key="k", UploadId=upload,
                                        MultipartUpload={"Parts": parts})
    old, old_etag = done["VersionId"], done["ETag"]
    new = s3.put_object(Bucket="py-version-reads", Key="k", Body=b"current")
    part = s3.get_object(Bucket="py-version-reads", Key="k", VersionId=old, PartNumber=2)
    assert part["PartsCount"] == 2 and part["VersionId"] == old
    assert part["Body"].read() == part_bytes[1]
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="py-version-reads", Key="k", PartNumber=2)
    assert error.value.response["Error"]["Code"] == "InvalidPart"  # as AWS answers (see object_read.rs)
    assert s3.head_object(Bucket="py-version-reads", Key="k", VersionId=old, IfMatch=old_etag)["ETag"] == old_etag
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="py-version-reads", Key="k", VersionId=old, IfMatch=new["ETag"])
    assert error.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket="py-version-reads", Key="k", VersionId=old, IfNoneMatch=old_etag)
    assert error.value.response["Error"]["Code"] == "304"
    attributes = s3.get_object_attributes(Bucket="py-version-reads", Key="k", VersionId=old,
                                          ObjectAttributes=["ETag", "ObjectSize", "ObjectParts"])
    assert attributes["VersionId"] == old
    assert attributes["ETag"] == old_etag.strip('"')
    assert attributes["ObjectSize"] == 10 * 1024 * 1024
    assert attributes["ObjectParts"]["TotalPartsCount"] == 2
    s3.put_object_acl(Bucket="py-version-reads", Key="k", VersionId=old, ACL="public-read")
    public = {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}
    assert public in [g["Grantee"] for g in s3.get_object_acl(Bucket="py-version-reads", Key="k", VersionId=old)["Grants"]]
    assert public not in [g["Grantee"] for g in s3.get_object_acl(Bucket="py-version-reads", Key="k")["Grants"]]


def test_list_object_versions_url_encodes_keys(server):
    # Goal: encoding-type=url on ListObjectVersions percent-encodes keys and markers in the XML
    # (read raw, through a presigned URL), and boto3 (which asks for it by default) gets the
    # keys back exactly.
    import requests
    s3 = server.client()
    s3.create_bucket(Bucket="py-version-encoding")
    enable(s3, "py-version-encoding")
    keys = ["a b/ü+1", "a b/ü+2", "plain"]
    for key in keys:
        s3.put_object(Bucket="py-version-encoding", Key=key, Body=b"x")
    listed = s3.list_object_versions(Bucket="py-version-encoding", MaxKeys=2)
    assert [v["Key"] for v in listed["Versions"]] == keys[:2]
    assert listed["NextKeyMarker"] == keys[1]
    url = s3.generate_presigned_url("list_object_versions", Params={
        "Bucket": "py-version-encoding", "EncodingType": "url", "MaxKeys": 2})
    raw = requests.get(url)
    assert raw.status_code == 200, raw.text
    assert "<EncodingType>url</EncodingType>" in raw.text
    # Form encoding, as S3 does (a space is "+", a "+" is %2B; boto3 decodes with unquote_plus).
    assert "<Key>a+b/%C3%BC%2B1</Key>" in raw.text
    assert "<NextKeyMarker>a+b/%C3%BC%2B2</NextKeyMarker>" in raw.text


def test_multipart_uploads_in_a_versioned_bucket(server):
    # Goal: ListMultipartUploads reads the same in an Enabled bucket, and an aborted upload
    # leaves no version (and no marker) behind.
    s3 = server.client()
    s3.create_bucket(Bucket="py-version-uploads")
    enable(s3, "py-version-uploads")
    kept = s3.create_multipart_upload(Bucket="py-version-uploads", Key="kept")["UploadId"]
    dropped = s3.create_multipart_upload(Bucket="py-version-uploads", Key="dropped")["UploadId"]
    s3.upload_part(Bucket="py-version-uploads", Key="dropped", UploadId=dropped, PartNumber=1, Body=b"x" * 1024)
    uploads = s3.list_multipart_uploads(Bucket="py-version-uploads")["Uploads"]
    assert sorted((u["Key"], u["UploadId"]) for u in uploads) == sorted([("dropped", dropped), ("kept", kept)])
    s3.abort_multipart_upload(Bucket="py-version-uploads", Key="dropped", UploadId=dropped)
    uploads = s3.list_multipart_uploads(Bucket="py-version-uploads")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("kept", kept)]
    listed = s3.list_object_versions(Bucket="py-version-uploads")
    assert "Versions" not in listed and "DeleteMarkers" not in listed


def test_a_version_deleted_mid_read_still_reads_whole(server):
    # Goal: DeleteObject by versionId frees the version's bytes only once no reader holds them:
    # a GET of that version already under way reads every byte after the delete, and the next
    # GET of it is NoSuchVersion.
    import hashlib
    import time
    s3 = server.client()
    s3.create_bucket(Bucket="py-version-reader")
    enable(s3, "py-version-reader")
    body = hashlib.sha256(b"seed").digest() * (32 * 1024 * 1024 // 32)
    old = s3.put_object(Bucket="py-version-reader", Key="big", Body=body)["VersionId"]
    s3.put_object(Bucket="py-version-reader", Key="big", Body=b"newer")
    stream = s3.get_object(Bucket="py-version-reader", Key="big", VersionId=old)["Body"]
    first = stream.read(1024 * 1024)
    s3.delete_object(Bucket="py-version-reader", Key="big", VersionId=old)
    # Past the server's grace before it removes a deleted version's file (FILE_REMOVAL_GRACE_MS,
    # 1 s): the rest, tens of MiB beyond what the sockets buffer, is read after that.
    time.sleep(1.5)
    rest = stream.read()
    assert first + rest == body
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="py-version-reader", Key="big", VersionId=old)
    assert error.value.response["Error"]["Code"] == "NoSuchVersion"
