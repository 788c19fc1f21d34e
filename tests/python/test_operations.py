"""/metrics parsed by the official Prometheus text parser after a known mix of requests, and the
health endpoints (which must not shadow a bucket named like them)."""
import json
import urllib.request

from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families


def scrape(server):
    with urllib.request.urlopen(server.endpoint + "/metrics") as response:
        assert response.status == 200
        return {family.name: family for family in text_string_to_metric_families(response.read().decode())}


def sample(families, name, sample_name, **labels):
    for entry in families[name].samples:
        if entry.name == sample_name and all(entry.labels.get(k) == v for k, v in labels.items()):
            return entry.value
    return 0.0


def test_metrics_count_a_known_mix(server):
    # Goal: request counters per operation and status class, latency histograms, bytes and the
    # metadata figures move exactly with the requests made.
    s3 = server.client()
    s3.create_bucket(Bucket="py-metrics")
    before = scrape(server)
    for i in range(3):
        s3.put_object(Bucket="py-metrics", Key=f"k{i}", Body=b"x" * 1000)
    for i in range(2):
        s3.get_object(Bucket="py-metrics", Key=f"k{i}")["Body"].read()
    try:
        s3.get_object(Bucket="py-metrics", Key="missing")
    except ClientError:
        pass
    after = scrape(server)
    delta = lambda op, cls: sample(after, "ringstore_requests", "ringstore_requests_total", s3_op=op, status_class=cls) - sample(before, "ringstore_requests", "ringstore_requests_total", s3_op=op, status_class=cls)
    assert delta("PutObject", "2xx") == 3
    assert delta("GetObject", "2xx") == 2
    assert delta("GetObject", "4xx") == 1
    count = sample(after, "ringstore_request_duration_seconds", "ringstore_request_duration_seconds_count", s3_op="PutObject", status_class="2xx")
    inf = sample(after, "ringstore_request_duration_seconds", "ringstore_request_duration_seconds_bucket", s3_op="PutObject", status_class="2xx", le="+Inf")
    assert count == inf >= 3
    received = sum(s.value for s in after["ringstore_bytes_received"].samples) - sum(s.value for s in before["ringstore_bytes_received"].samples)
    assert received >= 3000
    assert sample(after, "ringstore_meta_batches", "ringstore_meta_batches_total") > sample(before, "ringstore_meta_batches", "ringstore_meta_batches_total")
    assert "ringstore_connections_open" in after and "ringstore_meta_queue_depth" in after


def test_health_endpoints_and_a_bucket_named_health(server):
    # Goal: /healthz, /readyz and /health answer unauthenticated; signed S3 requests to a bucket
    # called "health" still reach S3.
    for path, expected in [("/healthz", b"ok\n"), ("/readyz", b"ready\n")]:
        with urllib.request.urlopen(server.endpoint + path) as response:
            assert response.status == 200 and response.read() == expected
    with urllib.request.urlopen(server.endpoint + "/health") as response:
        health = json.loads(response.read())
    assert health["status"] == "ok" and health["checks"] == {"metadata": True, "data_dir": True} and health["version"]
    s3 = server.client()
    s3.create_bucket(Bucket="health")
    s3.put_object(Bucket="health", Key="metrics", Body=b"not a scrape")
    assert s3.get_object(Bucket="health", Key="metrics")["Body"].read() == b"not a scrape"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="health")["Contents"]] == ["metrics"]
