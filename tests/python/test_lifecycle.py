"""boto3 (default config) against bucket lifecycle: configurations checked and answered as S3
does, and the lifecycle pass expiring current versions, noncurrent versions, delete markers and
unfinished uploads under a shortened day (`--lifecycle-day-seconds`), Object Lock holding against
it, its work counted in /metrics, and a kill -9 while it runs."""
import datetime
import os
import shutil
import sqlite3
import time
import urllib.request
import email.utils

import pytest
from botocore.exceptions import ClientError

from conftest import Server

DAY_SECONDS = 2


@pytest.fixture(scope="module")
def server():
    s = Server(extra_args=["--lifecycle-day-seconds", str(DAY_SECONDS)])
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def code(error):
    return error.value.response["Error"]["Code"]


def wait_until(predicate, what, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting until {what}")


def metric(server, name):
    text = urllib.request.urlopen(server.endpoint + "/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def keys(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def versions(s3, bucket, prefix=""):
    listed = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    return (sorted((v["Key"], v["IsLatest"]) for v in listed.get("Versions", [])),
            sorted((m["Key"], m["IsLatest"]) for m in listed.get("DeleteMarkers", [])))


def test_configuration_round_trips_and_refusals_change_nothing(server):
    # Goal: PutBucketLifecycleConfiguration stores every rule form and GetBucketLifecycle-
    # Configuration answers it as sent (legacy Prefix as Prefix, a made-up ID for a rule without
    # one); each refusal S3 documents answers its code and leaves the stored rules as they were;
    # Delete answers 204 with or without rules; only the owner may touch them.
    s3 = server.client()
    s3.create_bucket(Bucket="lc-config")
    with pytest.raises(ClientError) as error:
        s3.get_bucket_lifecycle_configuration(Bucket="lc-config")
    assert code(error) == "NoSuchLifecycleConfiguration"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    rules = [
        {"ID": "legacy", "Prefix": "logs/", "Status": "Enabled", "Expiration": {"Days": 30}},
        {"ID": "and", "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "class", "Value": "scratch"}],
                                          "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 5000}},
         "Status": "Disabled", "Expiration": {"Date": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)}},
        {"ID": "versions", "Filter": {}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 3},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
        {"ID": "markers", "Filter": {"Prefix": "old/"}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "tag", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
         "Expiration": {"Days": 1}},
    ]
    put = s3.put_bucket_lifecycle_configuration(Bucket="lc-config", LifecycleConfiguration={"Rules": rules})
    assert put["ResponseMetadata"]["HTTPHeaders"]["x-amz-transition-default-minimum-object-size"] == "all_storage_classes_128K"
    got = s3.get_bucket_lifecycle_configuration(Bucket="lc-config")["Rules"]
    assert got == rules
    refusals = [
        ({"ID": "r", "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 0}}, "InvalidArgument"),
        ({"ID": "a" * 256, "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 1}}, "InvalidArgument"),
        ({"ID": "r", "Prefix": "", "Status": "enabled", "Expiration": {"Days": 1}}, "MalformedXML"),
        ({"ID": "r", "Prefix": "", "Status": "Enabled",
          "Expiration": {"Date": datetime.datetime(2030, 1, 1, 3, tzinfo=datetime.timezone.utc)}}, "InvalidArgument"),
        ({"ID": "r", "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}}, "MalformedXML"),
        ({"ID": "r", "Filter": {"Prefix": "p", "Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
          "Expiration": {"Days": 1}}, "MalformedXML"),
        ({"ID": "r", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
          "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "InvalidRequest"),
        ({"ID": "r", "Prefix": "", "Status": "Enabled"}, "InvalidRequest"),
        ({"ID": "r", "Prefix": "", "Status": "Enabled",
          "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}, "InvalidStorageClass"),
        ({"ID": "r", "Prefix": "", "Status": "Enabled",
          "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 101}}, "InvalidArgument"),
    ]
    for rule, expected in refusals:
        with pytest.raises(ClientError) as error:
            s3.put_bucket_lifecycle_configuration(Bucket="lc-config", LifecycleConfiguration={"Rules": [rule]})
        assert code(error) == expected, rule
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as error:
        s3.put_bucket_lifecycle_configuration(Bucket="lc-config", LifecycleConfiguration={"Rules": [rules[0], rules[0]]})
    assert code(error) == "InvalidArgument"
    assert s3.get_bucket_lifecycle_configuration(Bucket="lc-config")["Rules"] == rules
    no_id = s3.put_bucket_lifecycle_configuration(
        Bucket="lc-config", LifecycleConfiguration={"Rules": [{"Prefix": "x/", "Status": "Enabled", "Expiration": {"Days": 3}}]})
    assert no_id["ResponseMetadata"]["HTTPStatusCode"] == 200
    [made_up] = s3.get_bucket_lifecycle_configuration(Bucket="lc-config")["Rules"]
    assert len(made_up["ID"]) > 0 and made_up["Prefix"] == "x/"
    other = server.client_as(server.add_user("lc-stranger"))
    for call in (lambda: other.get_bucket_lifecycle_configuration(Bucket="lc-config"),
                 lambda: other.delete_bucket_lifecycle(Bucket="lc-config"),
                 lambda: other.put_bucket_lifecycle_configuration(Bucket="lc-config", LifecycleConfiguration={"Rules": rules})):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error) == "AccessDenied"
    assert s3.delete_bucket_lifecycle(Bucket="lc-config")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_bucket_lifecycle(Bucket="lc-config")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as error:
        s3.get_bucket_lifecycle_configuration(Bucket="lc-config")
    assert code(error) == "NoSuchLifecycleConfiguration"


def test_expiration_header_names_rule_and_s3_date(server):
    # Goal: PUT, HEAD, GET, CopyObject and CompleteMultipartUpload answer x-amz-expiration with
    # the matching rule's id and S3's date
    # (creation + Days, rounded up to the next midnight UTC — S3's day even when the pass's day
    # is shortened); an object no rule matches gets none.
    s3 = server.client()
    s3.create_bucket(Bucket="lc-header")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-header", LifecycleConfiguration={"Rules": [
        {"ID": "month", "Filter": {"Prefix": "later/"}, "Status": "Enabled", "Expiration": {"Days": 30}},
        {"ID": "disabled", "Filter": {"Prefix": "later/"}, "Status": "Disabled", "Expiration": {"Days": 1}},
    ]})
    put = s3.put_object(Bucket="lc-header", Key="later/x", Body=b"x")
    head = s3.head_object(Bucket="lc-header", Key="later/x")
    created = head["LastModified"]
    midnight = (created + datetime.timedelta(days=31)).replace(
        hour=0, minute=0, second=0, microsecond=0, tzinfo=datetime.timezone.utc)
    expected = f'expiry-date="{email.utils.format_datetime(midnight, usegmt=True)}", rule-id="month"'
    assert put["Expiration"] == expected
    assert head["Expiration"] == expected
    assert s3.get_object(Bucket="lc-header", Key="later/x")["Expiration"] == expected
    copy = s3.copy_object(Bucket="lc-header", Key="later/copy", CopySource={"Bucket": "lc-header", "Key": "later/x"})
    assert copy["Expiration"].endswith('rule-id="month"')
    upload = s3.create_multipart_upload(Bucket="lc-header", Key="later/parts")["UploadId"]
    part = s3.upload_part(Bucket="lc-header", Key="later/parts", UploadId=upload, PartNumber=1, Body=b"p")
    done = s3.complete_multipart_upload(Bucket="lc-header", Key="later/parts", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["Expiration"].endswith('rule-id="month"')
    s3.put_object(Bucket="lc-header", Key="other/y", Body=b"y")
    assert "Expiration" not in s3.head_object(Bucket="lc-header", Key="other/y")
    # An expiry beyond year 9999 is written as the last date HTTP can carry, and the server
    # keeps answering (it once panicked a core here).
    s3.put_bucket_lifecycle_configuration(Bucket="lc-header", LifecycleConfiguration={"Rules": [
        {"ID": "forever", "Filter": {"Prefix": "far/"}, "Status": "Enabled", "Expiration": {"Days": 3000000}}]})
    for n in range(4):
        far = s3.put_object(Bucket="lc-header", Key=f"far/{n}", Body=b"f")
        assert far["Expiration"] == 'expiry-date="Fri, 31 Dec 9999 23:59:59 GMT", rule-id="forever"'
    assert s3.head_object(Bucket="lc-header", Key="far/0")["Expiration"].endswith('rule-id="forever"')


def test_current_versions_expire_by_prefix_tags_and_size(server):
    # Goal: in an unversioned bucket the pass removes exactly the objects a rule matches once
    # they are a (shortened) day old — by prefix, by prefix and tag, by size bounds — and keeps
    # the rest: a longer rule, an untagged or too small object, another prefix; file-backed
    # objects' files go too (their reads answer NoSuchKey).
    s3 = server.client()
    s3.create_bucket(Bucket="lc-current")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-current", LifecycleConfiguration={"Rules": [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "scratch", "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "class", "Value": "scratch"}]}},
         "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "big", "Filter": {"And": {"Prefix": "big/", "ObjectSizeGreaterThan": 100000}},
         "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "slow", "Filter": {"Prefix": "slow/"}, "Status": "Enabled", "Expiration": {"Days": 60}},
    ]})
    large = os.urandom(200 * 1024)
    s3.put_object(Bucket="lc-current", Key="logs/1", Body=b"1")
    s3.put_object(Bucket="lc-current", Key="logs/2", Body=large)
    s3.put_object(Bucket="lc-current", Key="tmp/a", Body=b"a", Tagging="class=scratch&x=y")
    s3.put_object(Bucket="lc-current", Key="tmp/b", Body=b"b", Tagging="class=keep")
    s3.put_object(Bucket="lc-current", Key="big/small", Body=b"s" * 10)
    s3.put_object(Bucket="lc-current", Key="big/large", Body=large)
    s3.put_object(Bucket="lc-current", Key="slow/x", Body=b"x")
    s3.put_object(Bucket="lc-current", Key="other/y", Body=b"y")
    expired_before = metric(server, "ringstore_lifecycle_objects_expired_total")
    kept = ["big/small", "other/y", "slow/x", "tmp/b"]
    wait_until(lambda: keys(s3, "lc-current") == kept, "the matching objects are gone")
    for key in ("logs/2", "big/large"):
        with pytest.raises(ClientError) as error:
            s3.get_object(Bucket="lc-current", Key=key)
        assert code(error) == "NoSuchKey"
    assert metric(server, "ringstore_lifecycle_objects_expired_total") >= expired_before + 4
    # Another day later nothing more has gone.
    time.sleep(DAY_SECONDS * 1.5)
    assert keys(s3, "lc-current") == kept
    assert metric(server, "ringstore_lifecycle_last_pass_finished_seconds") > time.time() - 60


def test_versioned_bucket_noncurrent_versions_and_delete_markers(server):
    # Goal: in a versioning-enabled bucket, Expiration hides the current version behind a delete
    # marker; NoncurrentVersionExpiration removes noncurrent versions a day after they became
    # noncurrent, keeping NewerNoncurrentVersions of them; an expired object delete marker (no
    # version left behind it) goes with ExpiredObjectDeleteMarker.
    s3 = server.client()
    s3.create_bucket(Bucket="lc-versions")
    s3.put_bucket_versioning(Bucket="lc-versions", VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket="lc-versions", Key="keep/k", Body=str(n).encode())["VersionId"] for n in range(4)]
    s3.put_object(Bucket="lc-versions", Key="gone/g", Body=b"g")
    s3.delete_object(Bucket="lc-versions", Key="gone/g")
    s3.put_object(Bucket="lc-versions", Key="cur/c", Body=b"c")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-versions", LifecycleConfiguration={"Rules": [
        {"ID": "keep-one", "Filter": {"Prefix": "keep/"}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}},
        {"ID": "gone", "Filter": {"Prefix": "gone/"}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "gone-markers", "Filter": {"Prefix": "gone/"}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "current", "Filter": {"Prefix": "cur/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
    ]})
    expected = ([("cur/c", False), ("keep/k", False), ("keep/k", True)], [("cur/c", True)])
    wait_until(lambda: versions(s3, "lc-versions") == expected, "versions are expired")
    listed = s3.list_object_versions(Bucket="lc-versions", Prefix="keep/")["Versions"]
    assert sorted(v["VersionId"] for v in listed) == sorted(ids[2:])
    assert s3.get_object(Bucket="lc-versions", Key="keep/k")["Body"].read() == b"3"


def test_object_lock_holds_against_lifecycle(server):
    # Goal: versions under COMPLIANCE retention or a legal hold are never removed by the pass
    # (counted as skipped), while what the lock allows still happens: the current version is
    # hidden behind a delete marker.
    s3 = server.client()
    s3.create_bucket(Bucket="lc-locked", ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    locked = s3.put_object(Bucket="lc-locked", Key="a", Body=b"a", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=until)["VersionId"]
    held = s3.put_object(Bucket="lc-locked", Key="b", Body=b"b", ObjectLockLegalHoldStatus="ON")["VersionId"]
    skipped_before = metric(server, "ringstore_lifecycle_locked_skipped_total")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-locked", LifecycleConfiguration={"Rules": [
        {"ID": "all", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
    ]})
    wait_until(lambda: metric(server, "ringstore_lifecycle_locked_skipped_total") >= skipped_before + 2,
               "the pass met the locked versions")
    listed = s3.list_object_versions(Bucket="lc-locked")
    assert sorted(v["VersionId"] for v in listed["Versions"]) == sorted([locked, held])
    assert sorted(m["Key"] for m in listed["DeleteMarkers"]) == ["a", "b"]
    assert s3.get_object(Bucket="lc-locked", Key="a", VersionId=locked)["Body"].read() == b"a"


def test_unfinished_uploads_are_aborted(server):
    # Goal: AbortIncompleteMultipartUpload aborts the uploads under its prefix a day after they
    # began (their parts go with them) and leaves others.
    s3 = server.client()
    s3.create_bucket(Bucket="lc-uploads")
    doomed = s3.create_multipart_upload(Bucket="lc-uploads", Key="up/a")["UploadId"]
    s3.upload_part(Bucket="lc-uploads", Key="up/a", UploadId=doomed, PartNumber=1, Body=os.urandom(100 * 1024))
    kept = s3.create_multipart_upload(Bucket="lc-uploads", Key="other/b")["UploadId"]
    aborted_before = metric(server, "ringstore_lifecycle_uploads_aborted_total")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-uploads", LifecycleConfiguration={"Rules": [
        {"ID": "abort", "Filter": {"Prefix": "up/"}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ]})
    wait_until(lambda: [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="lc-uploads").get("Uploads", [])] == [kept],
               "the upload under up/ is aborted")
    with pytest.raises(ClientError) as error:
        s3.list_parts(Bucket="lc-uploads", Key="up/a", UploadId=doomed)
    assert code(error) == "NoSuchUpload"
    assert metric(server, "ringstore_lifecycle_uploads_aborted_total") == aborted_before + 1


def test_uploads_answer_their_abort_date_and_rule(server):
    # Goal: CreateMultipartUpload and ListParts answer x-amz-abort-date (initiation + days,
    # rounded up to midnight UTC) and x-amz-abort-rule-id for an upload a rule will abort, and
    # neither for one no rule covers.
    s3 = server.client()
    s3.create_bucket(Bucket="lc-abort-headers")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-abort-headers", LifecycleConfiguration={"Rules": [
        {"ID": "month", "Filter": {"Prefix": "up/"}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 30}},
    ]})
    started = datetime.datetime.now(datetime.timezone.utc)
    created = s3.create_multipart_upload(Bucket="lc-abort-headers", Key="up/a")
    midnight = (started + datetime.timedelta(days=31)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert created["AbortRuleId"] == "month"
    assert created["AbortDate"] == midnight
    parts = s3.list_parts(Bucket="lc-abort-headers", Key="up/a", UploadId=created["UploadId"])
    assert (parts["AbortRuleId"], parts["AbortDate"]) == ("month", midnight)
    other = s3.create_multipart_upload(Bucket="lc-abort-headers", Key="other/b")
    assert "AbortRuleId" not in other and "AbortDate" not in other
    parts = s3.list_parts(Bucket="lc-abort-headers", Key="other/b", UploadId=other["UploadId"])
    assert "AbortRuleId" not in parts


def object_files(data_dir):
    return sum(len(files) for _, _, files in os.walk(os.path.join(data_dir, "objects")))


def test_kill_during_a_pass_resumes_and_leaks_nothing():
    # Goal: a server killed (SIGKILL) while the pass is expiring a bucket of file-backed objects
    # comes back and finishes from its persisted progress: the objects, the unfinished uploads
    # and, in a versioned bucket, the noncurrent versions and then their delete markers all go,
    # with every file, and the bucket without rules is untouched.
    server = Server(extra_args=["--lifecycle-day-seconds", "1"])
    try:
        s3 = server.client()
        for bucket in ("lc-crash", "lc-crash-versions", "lc-untouched"):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket="lc-crash-versions", VersioningConfiguration={"Status": "Enabled"})
        body = os.urandom(20 * 1024)
        count = 600
        for n in range(count):
            s3.put_object(Bucket="lc-crash", Key=f"k/{n:05}", Body=body)
        for n in range(2):
            upload = s3.create_multipart_upload(Bucket="lc-crash", Key=f"k/upload-{n}")["UploadId"]
            s3.upload_part(Bucket="lc-crash", Key=f"k/upload-{n}", UploadId=upload, PartNumber=1, Body=body)
        for n in range(20):
            s3.put_object(Bucket="lc-crash-versions", Key=f"v/{n:03}", Body=body)
            s3.delete_object(Bucket="lc-crash-versions", Key=f"v/{n:03}")
        s3.put_object(Bucket="lc-untouched", Key="keep", Body=body)
        assert object_files(server.data) == count + 2 + 20 + 1
        s3.put_bucket_lifecycle_configuration(Bucket="lc-crash-versions", LifecycleConfiguration={"Rules": [
            {"ID": "versions", "Filter": {}, "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
            {"ID": "markers", "Filter": {}, "Status": "Enabled", "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
        s3.put_bucket_lifecycle_configuration(Bucket="lc-crash", LifecycleConfiguration={"Rules": [
            {"ID": "all", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
        # Polled tightly so the kill lands inside the pass (a step is 256 rows).
        expired_before = metric(server, "ringstore_lifecycle_objects_expired_total")
        wait_until(lambda: metric(server, "ringstore_lifecycle_objects_expired_total") > expired_before,
                   "the pass began", timeout=30, interval=0.002)
        server.stop()
        # The kill landed inside the pass: its persisted progress is mid-bucket, objects remain.
        database = sqlite3.connect(os.path.join(server.data, "meta.sqlite"))
        running, bucket = database.execute("SELECT running, bucket FROM lifecycle_progress").fetchone()
        remaining = database.execute("SELECT count(*) FROM objects WHERE bucket = 'lc-crash'").fetchone()[0]
        database.close()
        assert (running, bucket) == (1, "lc-crash") and 0 < remaining < count
        server.start()
        s3 = server.client()
        wait_until(lambda: keys(s3, "lc-crash") == [], "every object expired after the restart")
        wait_until(lambda: "Uploads" not in s3.list_multipart_uploads(Bucket="lc-crash"), "the uploads are aborted")
        wait_until(lambda: versions(s3, "lc-crash-versions") == ([], []), "versions and then markers are removed")
        assert keys(s3, "lc-untouched") == ["keep"]
        assert s3.get_object(Bucket="lc-untouched", Key="keep")["Body"].read() == body
        wait_until(lambda: object_files(server.data) == 1, "the expired objects' files are gone")
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
