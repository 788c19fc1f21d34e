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
