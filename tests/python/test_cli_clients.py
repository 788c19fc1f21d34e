"""Command-line clients people point at S3, driven as users drive them, every byte checked by hash:
aws-cli v1 `s3 sync` both ways with awkward names, `s3 presign`; aws-cli v2 (Debian package), also
virtual-hosted; s3cmd; rclone (Debian package)."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import urllib.request

from conftest import ACCESS_KEY, SECRET_KEY

AWKWARD_TREE = ["plain.txt", "dir one/with space.bin", "dir one/nested/deeper/ü-unicode-日本.dat",
                "plus+sign.txt", "percent%41.txt", "dir two/a+b/c d/e.txt"]


def make_tree(root, seed):
    files = {}
    for index, name in enumerate(AWKWARD_TREE):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(1000 + index * 777 + seed)
        path.write_bytes(data)
        files[name] = hashlib.md5(data).hexdigest()
    return files


def tree_hashes(root):
    return {str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
            for path in root.rglob("*") if path.is_file()}


def clean_env(tmp_path):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), HOME=str(tmp_path))
    env.pop("AWS_CA_BUNDLE", None)
    return env


def localhost_hook(tmp_path):
    """A folder with a sitecustomize.py that routes *.localhost to 127.0.0.1 in any Python client
    started with it on PYTHONPATH (*.localhost may not resolve on this machine); the client still
    sends the virtual-hosted Host header."""
    hook = tmp_path / "localhost-hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import socket\n_original = socket.getaddrinfo\n"
        "def _resolve(host, *args, **kwargs):\n"
        "    if isinstance(host, str) and host.endswith('.localhost'):\n"
        "        host = '127.0.0.1'\n"
        "    return _original(host, *args, **kwargs)\n"
        "socket.getaddrinfo = _resolve\n")
    return hook


def run(args, env):
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def test_aws_cli_sync_both_ways_and_presign(server, tmp_path):
    # Goal: `aws s3 sync` up and down with spaces, unicode, '+' and '%' in names, `ls --recursive`,
    # `rm --recursive`, `rb`, and a presigned URL fetched by a plain HTTP client.
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    env = clean_env(tmp_path)
    cli = lambda *args: run([aws, "--endpoint-url", server.endpoint, *args], env)
    source = tmp_path / "up"
    expected = make_tree(source, 1)
    cli("s3", "mb", "s3://cli-sync")
    cli("s3", "sync", str(source), "s3://cli-sync/tree")
    listing = cli("s3", "ls", "--recursive", "s3://cli-sync/")
    for name in AWKWARD_TREE:
        assert "tree/" + name in listing, listing
    down = tmp_path / "down"
    cli("s3", "sync", "s3://cli-sync/tree", str(down))
    assert tree_hashes(down) == expected
    # A second sync uploads nothing new.
    assert "upload:" not in cli("s3", "sync", str(source), "s3://cli-sync/tree")
    # aws-cli v1 presigns with SigV2 by default; both that and s3v4 must be served.
    url = cli("s3", "presign", "s3://cli-sync/tree/plain.txt", "--expires-in", "300").strip()
    assert "Signature=" in url and "X-Amz-Signature=" not in url, url
    with urllib.request.urlopen(url) as response:
        assert hashlib.md5(response.read()).hexdigest() == expected["plain.txt"]
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    env["AWS_CONFIG_FILE"] = str(config)
    url = cli("s3", "presign", "s3://cli-sync/tree/plain.txt", "--expires-in", "300").strip()
    assert "X-Amz-Signature=" in url, url
    with urllib.request.urlopen(url) as response:
        assert hashlib.md5(response.read()).hexdigest() == expected["plain.txt"]
    head = cli("s3api", "head-object", "--bucket", "cli-sync", "--key", "tree/plus+sign.txt")
    assert expected["plus+sign.txt"] in head
    cli("s3api", "put-object", "--bucket", "cli-sync", "--key", "meta.txt", "--body", str(source / "plain.txt"), "--metadata", "team=storage")
    assert '"team": "storage"' in cli("s3api", "head-object", "--bucket", "cli-sync", "--key", "meta.txt")
    pages = cli("s3api", "list-objects-v2", "--bucket", "cli-sync", "--page-size", "2", "--query", "Contents[].Key", "--output", "text")
    assert len(pages.split()) >= len(AWKWARD_TREE)
    cli("s3", "rm", "--recursive", "s3://cli-sync/")
    cli("s3", "rb", "s3://cli-sync")


def test_s3cmd_session(server, tmp_path):
    # Goal: s3cmd mb, put, get, sync, ls, del, rb against path-style ringstore.
    s3cmd = os.path.join(os.path.dirname(sys.executable), "s3cmd")
    host = server.endpoint.split("://", 1)[1]
    config = tmp_path / "s3cfg"
    config.write_text(f"[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\nhost_base = {host}\n"
                      f"host_bucket = {host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")
    env = clean_env(tmp_path)
    cmd = lambda *args: run([s3cmd, "-c", str(config), *args], env)
    cmd("mb", "s3://s3cmd-bucket")
    payload = tmp_path / "file.bin"
    payload.write_bytes(os.urandom(300_000))
    cmd("put", str(payload), "s3://s3cmd-bucket/one/file.bin")
    fetched = tmp_path / "fetched.bin"
    cmd("get", "s3://s3cmd-bucket/one/file.bin", str(fetched))
    assert fetched.read_bytes() == payload.read_bytes()
    source = tmp_path / "tree"
    expected = make_tree(source, 2)
    cmd("sync", str(source) + "/", "s3://s3cmd-bucket/tree/")
    listing = cmd("ls", "--recursive", "s3://s3cmd-bucket/")
    assert "one/file.bin" in listing and "tree/plain.txt" in listing
    back = tmp_path / "back"
    back.mkdir()
    cmd("sync", "s3://s3cmd-bucket/tree/", str(back) + "/")
    assert tree_hashes(back) == expected
    # Virtual-hosted style: s3cmd addresses bucket.localhost:PORT (routed to 127.0.0.1 inside the
    # s3cmd process, since *.localhost may not resolve here).
    virtual_config = tmp_path / "s3cfg-virtual"
    port = host.rsplit(":", 1)[1]
    virtual_config.write_text(config.read_text().replace(f"host_base = {host}", f"host_base = localhost:{port}")
                              .replace(f"host_bucket = {host}", f"host_bucket = %(bucket)s.localhost:{port}"))
    virtual_env = dict(env, PYTHONPATH=str(localhost_hook(tmp_path)))
    out = run([s3cmd, "-c", str(virtual_config), "--debug", "put", str(payload), "s3://s3cmd-bucket/virtual.bin"], virtual_env)
    fetched_virtual = tmp_path / "fetched-virtual.bin"
    result = subprocess.run([s3cmd, "-c", str(virtual_config), "--debug", "get", "s3://s3cmd-bucket/virtual.bin",
                             str(fetched_virtual)], env=virtual_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "s3cmd-bucket.localhost" in result.stderr + out, "s3cmd did not use virtual-hosted addressing"
    assert fetched_virtual.read_bytes() == payload.read_bytes()
    cmd("del", "--recursive", "--force", "s3://s3cmd-bucket/")
    cmd("rb", "s3://s3cmd-bucket")


def test_rclone_session(server, tmp_path):
    # Goal: rclone copy, sync, check (hashes), lsl, delete, purge, and a multipart upload.
    assert shutil.which("rclone"), "rclone is not installed: run `bash tests/setup.sh` (it installs Debian's rclone) or `apt-get install rclone`"
    env = clean_env(tmp_path)
    config = tmp_path / "rclone.conf"
    config.write_text(f"[ring]\ntype = s3\nprovider = Other\naccess_key_id = {ACCESS_KEY}\nsecret_access_key = {SECRET_KEY}\n"
                      f"endpoint = {server.endpoint}\nregion = us-east-1\nforce_path_style = true\n")
    rc = lambda *args: run(["rclone", "--config", str(config), "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", *args], env)
    source = tmp_path / "src"
    make_tree(source, 3)
    (source / "big.bin").write_bytes(os.urandom(12 * 1024 * 1024 + 3))
    rc("mkdir", "ring:rclone-bucket")
    rc("copy", str(source), "ring:rclone-bucket/copy")
    rc("check", str(source), "ring:rclone-bucket/copy")
    assert "big.bin" in rc("lsl", "ring:rclone-bucket/copy")
    (source / "plain.txt").unlink()
    rc("sync", str(source), "ring:rclone-bucket/copy")
    rc("check", str(source), "ring:rclone-bucket/copy")
    down = tmp_path / "down"
    rc("copy", "ring:rclone-bucket/copy", str(down))
    assert tree_hashes(down) == tree_hashes(source)
    rc("delete", "ring:rclone-bucket/copy/big.bin")
    assert "big.bin" not in rc("lsl", "ring:rclone-bucket/copy")
    rc("purge", "ring:rclone-bucket")


def test_aws_cli_v2_session(server, tmp_path):
    # Goal: aws-cli v2 (Debian's build, /usr/bin/aws): s3 mb, cp up and down (small and multipart),
    # ls --recursive, presign fetched by a plain HTTP client, s3api head-object, rm --recursive, rb;
    # then the same client in virtual-hosted style (bucket.localhost).
    aws = "/usr/bin/aws"
    assert os.path.exists(aws), "aws-cli v2 is not installed: run `bash tests/setup.sh` (it installs Debian's awscli)"
    env = clean_env(tmp_path)
    assert run([aws, "--version"], env).startswith("aws-cli/2."), "expected aws-cli v2"
    cli = lambda *args: run([aws, "--endpoint-url", server.endpoint, *args], env)
    cli("s3", "mb", "s3://cli-v2")
    small = tmp_path / "small.txt"
    small.write_bytes(os.urandom(10_000))
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(20 * 1024 * 1024))
    cli("s3", "cp", str(small), "s3://cli-v2/dir one/small.txt")
    cli("s3", "cp", str(large), "s3://cli-v2/large.bin")
    head = cli("s3api", "head-object", "--bucket", "cli-v2", "--key", "large.bin")
    assert re.search(r"[0-9a-f]{32}-[0-9]+", head), f"expected a multipart ETag: {head}"
    for key, local in [("dir one/small.txt", small), ("large.bin", large)]:
        back = tmp_path / ("back-" + local.name)
        cli("s3", "cp", f"s3://cli-v2/{key}", str(back))
        assert hashlib.md5(back.read_bytes()).hexdigest() == hashlib.md5(local.read_bytes()).hexdigest()
    listing = cli("s3", "ls", "--recursive", "s3://cli-v2/")
    assert "dir one/small.txt" in listing and "large.bin" in listing
    url = cli("s3", "presign", "s3://cli-v2/large.bin", "--expires-in", "300").strip()
    with urllib.request.urlopen(url) as response:
        assert hashlib.md5(response.read()).hexdigest() == hashlib.md5(large.read_bytes()).hexdigest()

    # Virtual-hosted style: bucket.localhost may not resolve on this machine, so a sitecustomize
    # hook routes *.localhost to 127.0.0.1 inside the aws process; the Host header stays virtual.
    hook = localhost_hook(tmp_path)
    config = tmp_path / "virtual-config"
    config.write_text("[default]\ns3 =\n    addressing_style = virtual\n")
    virtual_env = dict(env, AWS_CONFIG_FILE=str(config), PYTHONPATH=str(hook))
    port = server.endpoint.rsplit(":", 1)[1]
    debug = subprocess.run([aws, "--endpoint-url", f"http://localhost:{port}", "--debug", "s3", "cp", str(small),
                            "s3://cli-v2/virtual.txt"], env=virtual_env, capture_output=True, text=True)
    assert debug.returncode == 0, debug.stderr[-2000:]
    assert "cli-v2.localhost" in debug.stderr, "the request did not use virtual-hosted addressing"
    back = tmp_path / "virtual-back.txt"
    cli("s3", "cp", "s3://cli-v2/virtual.txt", str(back))
    assert back.read_bytes() == small.read_bytes()
    cli("s3", "rm", "--recursive", "s3://cli-v2/")
    cli("s3", "rb", "s3://cli-v2")
