"""TLS (--listen-tls): boto3 with its default configuration and aws-cli over HTTPS with a
self-signed CA passed as the bundle, protocol versions and ALPN, SIGHUP certificate reload,
aws:SecureTransport in bucket policies, and certificates refused at start."""
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, SECRET_KEY, Certificates, Server, https_client


@pytest.fixture(scope="module")
def tls():
    certificates = Certificates()
    # A 2 s head deadline, which also bounds handshakes, so the stalled-handshake test is short.
    server = Server(extra_args=certificates.args() + ["--header-timeout", "2"])
    server.certificates = certificates
    yield server
    server.stop()
    shutil.rmtree(server.data, ignore_errors=True)
    shutil.rmtree(certificates.directory, ignore_errors=True)


def host_port(endpoint):
    host, _, port = endpoint.split("//")[1].partition(":")
    return host, int(port)


def handshake(server, **context_settings):
    """Connects with an ssl context configured by `context_settings`; returns the TLS socket."""
    context = ssl.create_default_context(cafile=server.certificates.ca_path)
    for name, value in context_settings.items():
        if name == "alpn":
            context.set_alpn_protocols(value)
        elif name == "ciphers":
            context.set_ciphers(value)
        else:
            setattr(context, name, value)
    host, port = host_port(server.tls_endpoint)
    raw = socket.create_connection((host, port), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def test_boto3_default_uploads_stream_aws_chunked_with_a_crc_trailer(tls):
    s3 = https_client(tls)
    sent = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(
        (request.method, {name.lower(): value.decode() if isinstance(value, bytes) else value
                          for name, value in request.headers.items()})))
    s3.create_bucket(Bucket="tls-boto3")
    small = os.urandom(70_000)
    s3.put_object(Bucket="tls-boto3", Key="small", Body=io.BytesIO(small))
    # upload_fileobj: s3transfer's multipart upload (8 MiB parts), every part a streamed body.
    large = os.urandom(20 * 1024 * 1024 + 123)
    s3.upload_fileobj(io.BytesIO(large), "tls-boto3", "large")
    streamed = [headers for method, headers in sent if method == "PUT"
                and headers.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]
    # The small PUT and all three parts went as aws-chunked with a checksum trailer: the path
    # boto3 takes only over HTTPS.
    assert len(streamed) == 4, [h.get("x-amz-content-sha256") for _, h in sent]
    for headers in streamed:
        assert headers["content-encoding"] == "aws-chunked"
        assert headers["x-amz-trailer"].startswith("x-amz-checksum-")
    assert s3.get_object(Bucket="tls-boto3", Key="small")["Body"].read() == small
    body = s3.get_object(Bucket="tls-boto3", Key="large")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(large).digest()
    head = s3.head_object(Bucket="tls-boto3", Key="small", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(small)
    assert any(name.startswith("Checksum") for name in head), head
    # Ranged reads over TLS, and the same object over the plain listener.
    part = s3.get_object(Bucket="tls-boto3", Key="large", Range="bytes=8388600-8388700")
    assert part["Body"].read() == large[8388600:8388701]
    assert tls.client().get_object(Bucket="tls-boto3", Key="small")["Body"].read() == small


def test_a_corrupted_trailer_checksum_is_refused_over_tls(tls):
    s3 = https_client(tls)
    s3.create_bucket(Bucket="tls-bad-trailer")

    def corrupt(request, **_):
        # The trailer carries the CRC of the body; flip the body after it was computed.
        body = request.body
        if hasattr(body, "read") and request.headers.get("x-amz-trailer"):
            data = body.read()
            request.body = data.replace(b"hello world", b"hello World", 1)
    s3.meta.events.register("before-send.s3.PutObject", corrupt)
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="tls-bad-trailer", Key="k", Body=io.BytesIO(b"hello world" * 100))
    assert refused.value.response["Error"]["Code"] in ("BadDigest", "XAmzContentChecksumMismatch", "InvalidRequest")
    assert "Contents" not in https_client(tls).list_objects_v2(Bucket="tls-bad-trailer")


def test_aws_cli_over_tls_with_the_ca_bundle(tls, tmp_path):
    cli = os.path.join(os.path.dirname(__file__), "..", "..", "target", "test-venv", "bin", "aws")
    binaries = [path for path in (cli, "/usr/bin/aws") if os.path.exists(path)]
    assert binaries, "aws-cli missing: run tests/setup.sh"
    environment = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                       AWS_DEFAULT_REGION="us-east-1", AWS_CA_BUNDLE=tls.certificates.ca_path,
                       AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    source = tmp_path / "up.bin"
    payload = os.urandom(9 * 1024 * 1024)
    source.write_bytes(payload)
    for index, binary in enumerate(binaries):
        bucket = f"tls-cli-{index}"
        base = [binary, "--endpoint-url", tls.tls_endpoint]
        subprocess.run(base + ["s3", "mb", f"s3://{bucket}"], check=True, env=environment,
                       capture_output=True, timeout=120)
        subprocess.run(base + ["s3", "cp", str(source), f"s3://{bucket}/up.bin"], check=True,
                       env=environment, capture_output=True, timeout=120)
        target = tmp_path / f"down-{index}.bin"
        subprocess.run(base + ["s3", "cp", f"s3://{bucket}/up.bin", str(target)], check=True,
                       env=environment, capture_output=True, timeout=120)
        assert target.read_bytes() == payload
        # Without the CA the CLI must refuse the self-signed certificate.
        without_ca = {name: value for name, value in environment.items() if name != "AWS_CA_BUNDLE"}
        refused = subprocess.run(base + ["s3", "ls"], env=without_ca,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0
        assert "SSL" in refused.stderr or "certificate" in refused.stderr, refused.stderr


def test_presigned_urls_over_tls(tls):
    s3 = https_client(tls)
    s3.create_bucket(Bucket="tls-presign")
    s3.put_object(Bucket="tls-presign", Key="k", Body=b"presigned over tls")
    context = ssl.create_default_context(cafile=tls.certificates.ca_path)
    for version in ("s3v4", "s3"):
        signer = https_client(tls, signature_version=version)
        url = signer.generate_presigned_url("get_object", Params={"Bucket": "tls-presign", "Key": "k"})
        assert url.startswith("https://")
        with urllib.request.urlopen(url, context=context) as response:
            assert response.read() == b"presigned over tls"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_versions_and_alpn(tls):
    with handshake(tls, alpn=["http/1.1"]) as connection:
        assert connection.version() == "TLSv1.3"
        assert connection.selected_alpn_protocol() == "http/1.1"
    with handshake(tls, maximum_version=ssl.TLSVersion.TLSv1_2) as connection:
        assert connection.version() == "TLSv1.2"
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.recv(100).startswith(b"HTTP/1.1 ")
    # No ALPN at all is served too (urllib, older clients).
    with handshake(tls) as connection:
        assert connection.selected_alpn_protocol() is None
    # TLS 1.1 (offered: security level 0 lets OpenSSL send it) and an h2-only client are refused
    # by the server's alert (RFC 7301: no_application_protocol), not by the client.
    with pytest.raises(ssl.SSLError) as old:
        handshake(tls, ciphers="DEFAULT:@SECLEVEL=0", minimum_version=ssl.TLSVersion.TLSv1_1,
                  maximum_version=ssl.TLSVersion.TLSv1_1)
    assert "ALERT" in str(old.value), old.value
    with pytest.raises(ssl.SSLError) as h2:
        handshake(tls, alpn=["h2"])
    assert "no application protocol" in str(h2.value).lower(), h2.value
    with handshake(tls, alpn=["h2", "http/1.1"]) as connection:
        assert connection.selected_alpn_protocol() == "http/1.1"


def metric(server, name):
    with urllib.request.urlopen(server.endpoint + "/metrics") as response:
        text = response.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def test_plain_http_on_the_tls_port_gets_a_plain_400_and_failures_are_counted(tls):
    before = metric(tls, "ringstore_tls_handshake_failures_total")
    host, port = host_port(tls.tls_endpoint)
    # Plain HTTP on the TLS port: a readable 400, as nginx answers; not a handshake failure.
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = raw.recv(1024)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert b"use https://" in answer
    # A TCP check that connects and closes (load balancers) is not one either.
    socket.create_connection((host, port), timeout=10).close()
    # Garbage that starts like a TLS record is.
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x05hello")
        try:
            raw.recv(1024)
        except ConnectionResetError:
            pass
    deadline = time.time() + 5
    while metric(tls, "ringstore_tls_handshake_failures_total") <= before and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert metric(tls, "ringstore_tls_handshake_failures_total") == before + 1
    # A client that never finishes its handshake is cut off at the head deadline (2 s here).
    with socket.create_connection((host, port), timeout=30) as raw:
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
        started = time.time()
        try:
            answer = raw.recv(1024)
        except ConnectionResetError:
            answer = b""
        waited = time.time() - started
        assert answer == b"" and 1.5 < waited < 10, (answer, waited)
    assert https_client(tls).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def peer_certificate(server):
    with handshake(server) as connection:
        return connection.getpeercert(binary_form=True)


def test_sighup_reloads_the_certificate_without_dropping_connections(tls, capfd):
    first = peer_certificate(tls)
    host, port = host_port(tls.tls_endpoint)
    context = ssl.create_default_context(cafile=tls.certificates.ca_path)
    kept = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    kept.request("GET", "/healthz")
    assert kept.getresponse().read() == b"ok\n"
    renewed = tls.certificates.issue()
    assert renewed != first
    tls.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while peer_certificate(tls) != renewed and time.time() < deadline:
        time.sleep(0.05)
    assert peer_certificate(tls) == renewed
    # The connection opened before the reload still serves requests with its old session.
    kept.request("GET", "/healthz")
    response = kept.getresponse()
    assert response.status == 200
    response.read()
    assert kept.sock.getpeercert(binary_form=True) == first
    kept.close()
    # A broken file on reload keeps the previous certificate and the server up.
    with open(tls.certificates.key_path, "w") as out:
        out.write("not a key\n")
    tls.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert tls.proc.poll() is None
    assert peer_certificate(tls) == renewed
    assert https_client(tls).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    tls.certificates.issue()


def test_secure_transport_in_bucket_policies(tls):
    owner = https_client(tls)
    owner.create_bucket(Bucket="tls-only")
    owner.put_object(Bucket="tls-only", Key="k", Body=b"secret")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::tls-only/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    owner.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(policy))
    with pytest.raises(ClientError) as refused:
        tls.client().get_object(Bucket="tls-only", Key="k")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert owner.get_object(Bucket="tls-only", Key="k")["Body"].read() == b"secret"


def start_failure(arguments):
    data = tempfile.mkdtemp(prefix="ringstore-tls-bad-")
    try:
        result = subprocess.run([Server.binary(), "--listen", "127.0.0.1:0", "--data-dir", data,
                                 *arguments], capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return result


def test_unusable_certificates_stop_the_start_with_one_line(tmp_path):
    certificates = Certificates()
    other = Certificates()
    try:
        missing = str(tmp_path / "missing.pem")
        garbage = tmp_path / "garbage.pem"
        garbage.write_text("hello\n")
        encrypted = tmp_path / "encrypted.pem"
        subprocess.run(["openssl", "pkey", "-in", certificates.key_path, "-out", str(encrypted),
                        "-aes256", "-passout", "pass:secret"], check=True, capture_output=True)
        unreadable_cases = [
            (["--tls-cert", missing, "--tls-key", certificates.key_path], missing),
            (["--tls-cert", str(garbage), "--tls-key", certificates.key_path], str(garbage)),
            (["--tls-cert", certificates.cert_path, "--tls-key", str(garbage)], str(garbage)),
            # A key of another certificate.
            (["--tls-cert", certificates.cert_path, "--tls-key", other.key_path], other.key_path),
            # Not a regular file: read without end, or block, if it were read.
            (["--tls-cert", "/dev/zero", "--tls-key", certificates.key_path], "/dev/zero"),
            (["--tls-cert", certificates.cert_path, "--tls-key", str(tmp_path)], str(tmp_path)),
            (["--tls-cert", certificates.cert_path, "--tls-key", str(encrypted)], str(encrypted)),
        ]
        for arguments, named in unreadable_cases:
            result = start_failure(["--listen-tls", "127.0.0.1:0", *arguments])
            assert result.returncode == 1, (arguments, result)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].count(named) == 1, result.stderr
            assert lines[0].startswith("ringstore: "), result.stderr
            assert "listening" not in result.stdout
        # Half a TLS configuration is a usage error.
        result = start_failure(["--listen-tls", "127.0.0.1:0", "--tls-cert", certificates.cert_path])
        assert result.returncode == 2
        assert "go together" in result.stderr
    finally:
        shutil.rmtree(certificates.directory, ignore_errors=True)
        shutil.rmtree(other.directory, ignore_errors=True)


def tls_records_of(server, head):
    """Handshakes over a raw socket and returns it with `head` encrypted but not sent."""
    context = ssl.create_default_context(cafile=server.certificates.ca_path)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    session = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    raw = socket.create_connection(host_port(server.tls_endpoint), timeout=10)
    while True:
        try:
            session.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(outgoing.read())
            incoming.write(raw.recv(65536))
    raw.sendall(outgoing.read())
    session.write(head)
    return raw, outgoing.read()


def closed_within(raw, seconds):
    """Waits for the server to end the connection; returns how long that took, or None."""
    started = time.time()
    raw.settimeout(0.2)
    while time.time() - started < seconds:
        try:
            if raw.recv(65536) == b"":
                return time.time() - started
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - started
    return None


def test_deadlines_hold_over_tls_and_shutdown_is_prompt(tmp_path):
    # Its own server: it ends with SIGTERM. Head deadline 2 s, idle timeout 1 s, and room for
    # two connections only, shared by both listeners.
    certificates = Certificates()
    server = Server(extra_args=certificates.args() + [
        "--header-timeout", "2", "--idle-timeout", "1", "--cores", "1", "--max-connections", "2"])
    server.certificates = certificates
    try:
        # A request head trickled one byte of its TLS record at a time is cut at the head
        # deadline, although every socket read brings a byte.
        raw, record = tls_records_of(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.time()
        closed = None
        for byte in record:
            try:
                raw.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = time.time() - started
                break
            waited = closed_within(raw, 0.3)
            if waited is not None:
                closed = time.time() - started
                break
            if time.time() - started > 8:
                break
        raw.close()
        assert closed is not None and closed < 4, closed
        # An idle TLS connection ends at the idle timeout with close_notify (a clean EOF for
        # OpenSSL, not an abrupt one).
        context = ssl.create_default_context(cafile=certificates.ca_path)
        host, port = host_port(server.tls_endpoint)
        kept = http.client.HTTPSConnection(host, port, context=context, timeout=10)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok\n"
        started = time.time()
        assert kept.sock.recv(1024) == b""  # SSLEOFError here would mean no close_notify
        assert time.time() - started < 3
        kept.close()
        # With two permits, an idle TLS listener holds none: a plain request is served while
        # one plain connection sits mid-request.
        held = socket.create_connection(host_port(server.endpoint), timeout=10)
        held.sendall(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        time.sleep(0.2)
        with urllib.request.urlopen(server.endpoint + "/healthz", timeout=3) as response:
            assert response.read() == b"ok\n"
        held.close()
        # A reload that meets a FIFO neither blocks nor wedges the signal thread, and a silent
        # TCP connection on the TLS port does not hold shutdown back.
        os.remove(certificates.key_path)
        os.mkfifo(certificates.key_path)
        server.proc.send_signal(signal.SIGHUP)
        silent = socket.create_connection(host_port(server.tls_endpoint), timeout=10)
        time.sleep(0.3)
        assert peer_certificate(server)
        server.proc.send_signal(signal.SIGTERM)
        started = time.time()
        server.proc.wait(timeout=10)
        assert time.time() - started < 2, time.time() - started
        silent.close()
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
        shutil.rmtree(certificates.directory, ignore_errors=True)
