"""Signatures that standard tools check: OpenSSH's `ssh-keygen -Y verify` for the manifest, `git verify-commit` for
every commit, and `jq | sha256sum -c` for the files, as the home page and README tell a reader."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from newsmirror.publish.manifest import MANIFEST, SIGNATURE, allowed_signers_line, public_raw
from tests.test_pipeline import cli_run, demo_config

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="OpenSSH's ssh-keygen is not installed "
                                                                           "(apt-get install openssh-client)")

# how the README tells a reader to check the files against the manifest, with jq and coreutils
FILES_CHECK = re.search(r"`(jq -r [^`]*sha256sum -c[^`]*)`",
                        (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")).group(1)


def _signed_mirror(demo_server, tmp_path, key):
    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["markdown", "html"]')
    cfg.write_text(cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n', encoding="utf-8")
    return cfg


def _sh(cmd: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=60)


def _git_verify(out, signers) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(out), "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-commit",
                           "HEAD"], capture_output=True, text=True, timeout=60)


def test_a_reader_checks_a_copy_with_openssh_and_git_alone(demo_server, tmp_path):
    key = tmp_path / "keys" / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    assert key.with_name("mirror.key.pub").read_text(encoding="ascii").startswith("ssh-ed25519 AAAA")
    cfg = _signed_mirror(demo_server, tmp_path, key)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    assert cli_run(cfg, "run").exit_code == 0  # a second commit
    out = tmp_path / "out"

    # the command the home page prints, run as a reader would, in the copy's top folder
    home = (out / "README.md").read_text(encoding="utf-8")
    cmd = re.search(r"`(echo '[^`]*ssh-keygen -Y verify[^`]*)`", home).group(1)
    assert cmd in html.unescape((out / "site/index.html").read_text(encoding="utf-8"))
    res = _sh(cmd, out)
    assert res.returncode == 0 and 'Good "newsmirror" signature for newsmirror' in res.stdout, res.stderr
    assert _sh(FILES_CHECK, out).returncode == 0

    # git: every commit signed with the same key
    signers = tmp_path / "allowed_signers"
    signers.write_text(allowed_signers_line(public_raw(key)) + "\n", encoding="ascii")
    res = _git_verify(out, signers)
    assert res.returncode == 0 and 'Good "git" signature' in res.stderr, res.stderr
    marks = subprocess.run(["git", "-C", str(out), "-c", f"gpg.ssh.allowedSignersFile={signers}", "log",
                            "--format=%G?"], capture_output=True, text=True).stdout.split()
    assert len(marks) == 2 and set(marks) == {"G"}
    assert not list(tmp_path.rglob(".signing-*"))  # the key's copy for git is gone

    # a changed file fails the files check; a changed manifest fails ssh-keygen; another key fails both tools
    page = out / "pages/intl/n2001.md"
    page.write_bytes(page.read_bytes() + b"x")
    assert _sh(FILES_CHECK, out).returncode != 0
    manifest = (out / MANIFEST).read_bytes()
    (out / MANIFEST).write_bytes(manifest.replace(b'"serial": ', b'"serial": 9'))
    assert _sh(cmd, out).returncode != 0
    (out / MANIFEST).write_bytes(manifest)
    other = tmp_path / "other.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(other)).exit_code == 0
    other_line = allowed_signers_line(public_raw(other))
    assert _sh(cmd.replace(cmd.split("'")[1], other_line), out).returncode != 0
    signers.write_text(other_line + "\n", encoding="ascii")
    assert _git_verify(out, signers).returncode != 0


def test_a_key_and_a_manifest_of_an_older_version_keep_working(demo_server, tmp_path):
    """A PKCS#8 key with a base64 .pub (what keygen wrote before): the mirror signs with it in the standard
    formats, and a manifest signed the old way (a bare base64 signature) still verifies with that .pub."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    k = Ed25519PrivateKey.generate()
    key = tmp_path / "old.key"
    key.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    key.chmod(0o644)  # ssh-keygen refuses a key others can read: the mirror hands git a copy of its own
    raw = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pub = tmp_path / "old.key.pub"
    pub.write_text(base64.b64encode(raw).decode() + "\n", encoding="ascii")
    cfg = _signed_mirror(demo_server, tmp_path, key)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    out = tmp_path / "out"
    signers = tmp_path / "allowed_signers"
    signers.write_text(allowed_signers_line(raw) + "\n", encoding="ascii")
    assert _git_verify(out, signers).returncode == 0
    assert _sh(f"ssh-keygen -Y verify -f {signers} -I newsmirror -n newsmirror -s {SIGNATURE} < {MANIFEST}",
               out).returncode == 0
    res = cli_run(cfg, "verify", str(out), "--pubkey", str(pub))
    assert res.exit_code == 0 and "ok: every file is as signed" in res.output, res.output

    # the old signature format: base64 of the raw Ed25519 signature of manifest.json
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    data["signature"] = "ed25519"
    old = (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    (out / MANIFEST).write_bytes(old)
    (out / SIGNATURE).write_bytes(base64.b64encode(k.sign(old)) + b"\n")
    res = cli_run(cfg, "verify", str(out), "--pubkey", str(pub))
    assert res.exit_code == 0 and "ok: every file is as signed" in res.output, res.output
    (out / SIGNATURE).write_bytes(base64.b64encode(k.sign(old + b" ")) + b"\n")
    assert cli_run(cfg, "verify", str(out), "--pubkey", str(pub)).exit_code == 1
