"""pgBackRest (Debian's, HTTPS only) backs up a PostgreSQL cluster into ringstore over TLS with no
terminator in front, archives its WAL there, and restores it: the rows written after the backup
come back through WAL replay from the archive."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import ACCESS_KEY, SECRET_KEY, Certificates, Server

STANZA = "demo"
BUCKET = "pgbackrest"


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL missing: run tests/setup.sh (Debian's postgresql)"
    return os.path.dirname(found[-1])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres(arguments, **settings):
    """Runs `arguments` as the postgres user (PostgreSQL refuses root); fails with its output."""
    command = ["runuser", "-u", "postgres", "--", *arguments] if os.geteuid() == 0 else arguments
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, **settings)
    assert result.returncode == 0, f"{arguments}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def cluster():
    assert shutil.which("pgbackrest"), "pgBackRest missing: run tests/setup.sh (Debian's pgbackrest)"
    certificates = Certificates()
    server = Server(extra_args=certificates.args())
    work = tempfile.mkdtemp(prefix="ringstore-pgbackrest-")
    os.chmod(work, 0o755)
    os.chmod(certificates.directory, 0o755)
    os.chmod(certificates.ca_path, 0o644)
    shutil.chown(work, "postgres", "postgres")
    setup = Cluster(work, server, certificates)
    yield setup
    setup.stop()
    server.stop()
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(server.data, ignore_errors=True)
    shutil.rmtree(certificates.directory, ignore_errors=True)


class Cluster:
    def __init__(self, work, server, certificates):
        self.bin = postgres_bin()
        self.work = work
        self.data = os.path.join(work, "pgdata")
        self.port = free_port()
        self.config = os.path.join(work, "pgbackrest.conf")
        tls_port = server.tls_endpoint.rsplit(":", 1)[1]
        with open(self.config, "w") as out:
            out.write(f"""[global]
repo1-type=s3
repo1-path=/repo
repo1-s3-bucket={BUCKET}
repo1-s3-endpoint=localhost
repo1-storage-port={tls_port}
repo1-s3-region=us-east-1
repo1-s3-key={ACCESS_KEY}
repo1-s3-key-secret={SECRET_KEY}
repo1-s3-uri-style=path
repo1-storage-ca-file={certificates.ca_path}
repo1-retention-full=2
log-path={work}/log
lock-path={work}/lock
spool-path={work}/spool
log-level-console=warn
log-level-file=off
start-fast=y

[{STANZA}]
pg1-path={self.data}
pg1-port={self.port}
pg1-socket-path={work}
""")
        os.chmod(self.config, 0o644)
        server.client().create_bucket(Bucket=BUCKET)
        self.server = server
        as_postgres([f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as out:
            out.write(f"""
port = {self.port}
listen_addresses = ''
unix_socket_directories = '{work}'
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config={self.config} --stanza={STANZA} archive-push %p'
""")
        self.start()

    def start(self):
        as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.work, "pg.log"),
                     "-w", "-t", "60", "start"])

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin}/pg_ctl", "-D", self.data,
                        "-m", "fast", "-w", "stop"] if os.geteuid() == 0 else
                       [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60)

    def sql(self, statement):
        return as_postgres([f"{self.bin}/psql", "-h", self.work, "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", statement]).strip()

    def pgbackrest(self, *arguments):
        return as_postgres(["pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *arguments])


def test_backup_and_restore_over_tls(cluster):
    cluster.sql("CREATE TABLE ledger AS SELECT i, md5(i::text) AS digest FROM generate_series(1, 50000) AS i")
    cluster.pgbackrest("stanza-create")
    cluster.pgbackrest("check")
    cluster.pgbackrest("backup", "--type=full")
    # Written after the backup: only WAL archived into ringstore can bring these back.
    cluster.sql("INSERT INTO ledger SELECT i, 'after' FROM generate_series(50001, 50100) AS i")
    cluster.sql("SELECT pg_switch_wal()")
    cluster.pgbackrest("check")  # waits until the switched segment is in the archive
    expected = cluster.sql("SELECT count(*), sum(i), md5(string_agg(digest, ',' ORDER BY i)) FROM ledger")
    info = cluster.pgbackrest("info")
    assert "full backup" in info, info
    objects = cluster.server.client().list_objects_v2(Bucket=BUCKET, Prefix="repo/")
    assert objects["KeyCount"] > 0

    cluster.stop()
    shutil.rmtree(cluster.data)
    os.makedirs(cluster.data, mode=0o700)
    shutil.chown(cluster.data, "postgres", "postgres")
    cluster.pgbackrest("restore")
    cluster.start()
    # Archive recovery serves read-only queries while it replays (hot standby): wait for the end.
    deadline = time.time() + 120
    while cluster.sql("SELECT pg_is_in_recovery()") == "t":
        assert time.time() < deadline, "recovery from the archive did not finish"
        time.sleep(0.2)
    restored = cluster.sql("SELECT count(*), sum(i), md5(string_agg(digest, ',' ORDER BY i)) FROM ledger")
    assert restored == expected
    assert restored.startswith("50100|")
