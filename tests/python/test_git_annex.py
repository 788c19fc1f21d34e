"""git-annex's S3 special remote with its defaults (SigV2 signing, path-style requests to a host
and port) against the real server: initremote creates the bucket, content is copied out, dropped
locally and fetched back byte for byte (issue 23)."""
import hashlib
import os
import shutil
import subprocess

from conftest import ACCESS_KEY, SECRET_KEY


def run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_git_annex_s3_remote_round_trip(server, tmp_path):
    assert shutil.which("git-annex"), "git-annex is not installed (tests/setup.sh installs Debian's)"
    host, port = server.endpoint.removeprefix("http://").rsplit(":", 1)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")
    repo = tmp_path / "repo"
    repo.mkdir()
    run(["git", "init", "-q"], repo, env)
    run(["git", "config", "user.email", "annex@example.com"], repo, env)
    run(["git", "config", "user.name", "annex"], repo, env)
    # git-annex refuses loopback addresses unless told; this is its own policy, not a signing workaround.
    run(["git", "config", "annex.security.allowed-ip-addresses", "all"], repo, env)
    run(["git", "annex", "init", "-q", "suite"], repo, env)
    run(["git", "annex", "initremote", "rs", "type=S3", "encryption=none", f"host={host}", f"port={port}",
         "protocol=http", "requeststyle=path", "bucket=annex-suite"], repo, env)
    payload = os.urandom(300_000) + b"annexed"
    (repo / "data.bin").write_bytes(payload)
    (repo / "small.txt").write_text("small annexed file\n")
    run(["git", "annex", "add", "-q", "data.bin", "small.txt"], repo, env)
    run(["git", "annex", "copy", "--to", "rs", "data.bin", "small.txt"], repo, env)
    run(["git", "annex", "drop", "data.bin", "small.txt"], repo, env)
    # Dropped: the annex link stays, its content is gone from this repository.
    assert not (repo / "data.bin").exists()
    run(["git", "annex", "get", "--from", "rs", "data.bin", "small.txt"], repo, env)
    assert hashlib.sha256((repo / "data.bin").read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert (repo / "small.txt").read_text() == "small annexed file\n"
    # The objects are really in the bucket, as git-annex named them.
    s3 = server.client()
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="annex-suite").get("Contents", [])]
    assert any(key.endswith(".bin") for key in keys), keys
    assert any(key.endswith(".txt") for key in keys), keys
