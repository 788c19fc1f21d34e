"""Starts the real ringstore binary for boto3 tests: 127.0.0.1, ephemeral port, temp data dir."""
import os
import shutil
import subprocess
import tempfile
import ssl
import threading

import boto3
import pytest
from botocore.config import Config
import trustme

ACCESS_KEY = "py-access-key"
SECRET_KEY = "py-secret-key-0123456789"


class Server:
    def __init__(self, extra_args=()):
        self.data = tempfile.mkdtemp(prefix="ringstore-py-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.endpoint = None
        self.start()

    @staticmethod
    def binary():
        return os.environ.get("RINGSTORE_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "ringstore"))

    def add_user(self, name, email=None):
        """`ringstore user add` on this server's data dir; returns the printed fields."""
        args = [self.binary(), "user", "--data-dir", self.data, "add", name]
        if email:
            args += ["--email", email]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        fields = {}
        for line in out.splitlines():
            name, _, value = line.partition(":")
            fields[name.strip()] = value.strip()
        return fields

    def client_as(self, user, **config):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=user["access_key"],
                            aws_secret_access_key=user["secret_key"], region_name="us-east-1",
                            config=Config(**config) if config else None)

    def start(self):
        binary = self.binary()
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", *([] if "--cores" in self.extra_args else ["--cores", "2"]),
             "--data-dir", self.data,
             "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, "--log-level", "warn",
             *self.extra_args],
            stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        assert "http://" in first, f"ringstore did not start: {first!r}"
        self.endpoint = first.strip().split(" ")[-1]
        self.tls_endpoint = None
        if "--listen-tls" in self.extra_args:
            second = self.proc.stdout.readline()
            assert "https://" in second, f"ringstore did not listen for TLS: {second!r}"
            self.tls_endpoint = second.strip().split(" ")[-1]
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def client(self, **config):
        # boto3's *default* configuration: checksums when_supported, Expect: 100-continue, retries.
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                            config=Config(**config) if config else None)

    def resource(self):
        return boto3.resource("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                              aws_secret_access_key=SECRET_KEY, region_name="us-east-1")


class Certificates:
    """A test CA and a server certificate for 127.0.0.1/localhost, as PEM files in `directory`."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="ringstore-tls-")
        self.ca = trustme.CA()
        self.ca_path = os.path.join(self.directory, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        self.cert_path = os.path.join(self.directory, "cert.pem")
        self.key_path = os.path.join(self.directory, "key.pem")
        self.issue()

    def issue(self):
        """Writes a fresh leaf (new key, new serial) over cert.pem and key.pem; returns its DER."""
        leaf = self.ca.issue_cert("127.0.0.1", "localhost")
        with open(self.cert_path, "wb") as out:
            for blob in leaf.cert_chain_pems:
                out.write(blob.bytes())
        leaf.private_key_pem.write_to_path(self.key_path)
        return ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())

    def args(self):
        return ["--listen-tls", "127.0.0.1:0", "--tls-cert", self.cert_path, "--tls-key", self.key_path]


def https_client(server, **config):
    """boto3 with its default configuration apart from the endpoint: `server`'s HTTPS listener,
    trusting its test CA (`server.certificates`)."""
    return boto3.client("s3", endpoint_url=server.tls_endpoint, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                        verify=server.certificates.ca_path,
                        config=Config(**config) if config else None)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)
