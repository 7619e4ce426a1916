"""`verify` against copies a censor made: re-signed with its own key, older than one seen, too old, holding a
named pipe or a huge file, or file names that carry terminal escape codes.

Each copy is a small tree signed the way a build signs it (`write_manifest`), checked with the real command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsmirror.cli import cli
from newsmirror.publish.manifest import MANIFEST, SIGNATURE, keygen, write_manifest


def verify(*args: str) -> Result:
    """`newsmirror verify`, its output as a terminal would get it (click keeps escape codes for a terminal)."""
    return CliRunner().invoke(cli, ["verify", *args], catch_exceptions=False, color=True)


def key(tmp_path: Path, name: str) -> tuple[Path, str, str]:
    """A new key pair: (private key, public key file, fingerprint)."""
    priv, pub, fp = keygen(tmp_path / "keys" / name)
    return priv, str(pub), fp


def copy(tmp_path: Path, name: str = "copy") -> Path:
    root = tmp_path / name
    (root / "pages/intl").mkdir(parents=True)
    (root / "README.md").write_text("# 新闻镜像\n", encoding="utf-8")
    (root / "pages/intl/n1.md").write_text("# 报道\n\n记者在现场看到。\n", encoding="utf-8")
    return root


def sign(root: Path, priv: Path) -> dict:
    for rel, data in write_manifest(root, priv, "newsmirror test").items():
        (root / rel).write_bytes(data)
    return json.loads((root / MANIFEST).read_text(encoding="utf-8"))


def trusted(config: Path) -> dict:
    return json.loads((config / "newsmirror" / "trusted.json").read_text(encoding="utf-8"))


def test_a_copy_re_signed_with_a_censors_key_is_not_trusted(tmp_path, own_config_folder):
    priv, pub, fp = key(tmp_path, "mirror.key")
    censor, _, censor_fp = key(tmp_path, "censor.key")
    real = copy(tmp_path, "real")
    sign(real, priv)
    forged = tmp_path / "forged"
    shutil.copytree(real, forged)
    (forged / "pages/intl/n1.md").write_text("# 报道\n\n一切正常，没有发生任何事情。\n", encoding="utf-8")
    sign(forged, censor)  # a whole, valid signature: by the censor's key, which the manifest names

    res = verify(str(forged))
    assert res.exit_code == 1, res.output
    assert f"signature: valid for an UNKNOWN key {censor_fp}: pin it with --trust" in res.output
    assert "ok: every file is as signed" not in res.output
    assert "NOT OK: 0 added, 0 changed, 0 missing; the key is not trusted" in res.output
    assert verify(str(real)).exit_code == 1  # the real key is no better until the reader trusts it

    # the reader pins the operator's key (its fingerprint checked out of band) once...
    assert verify(str(real), "--trust", censor_fp).exit_code == 1  # the copy is not signed by the key named
    assert not (own_config_folder / "newsmirror" / "trusted.json").exists()
    pinned = verify(str(real), "--trust", fp.replace(":", "").upper())
    assert pinned.exit_code == 0, pinned.output
    assert f"pinned: key {fp}" in pinned.output and trusted(own_config_folder)[fp]["pinned"] is True
    assert os.listdir(own_config_folder / "newsmirror") == ["trusted.json"]  # written whole: no temp file left

    # ... and from then on the real copy passes without --pubkey, the forged one still does not
    again = verify(str(real))
    assert again.exit_code == 0 and f"key fingerprint {fp}, pinned" in again.output, again.output
    res = verify(str(forged))
    assert res.exit_code == 1 and "UNKNOWN key" in res.output
    assert verify(str(forged), "--pubkey", pub).exit_code == 1  # --pubkey works as it always did
    assert verify(str(real), "--pubkey", pub).exit_code == 0
    assert verify(str(real), "--trust", "not-a-fingerprint").exit_code == 2


def test_an_older_validly_signed_copy_is_refused(tmp_path, own_config_folder):
    priv, pub, fp = key(tmp_path, "mirror.key")
    root = copy(tmp_path)
    first = sign(root, priv)
    old = tmp_path / "old"
    shutil.copytree(root, old)  # what a censor keeps, to serve for ever
    (root / "pages/intl/n2.md").write_text("# 新的报道\n", encoding="utf-8")
    second = sign(root, priv)

    assert verify(str(old), "--pubkey", pub).exit_code == 0  # nothing newer seen yet: the old copy is fine
    new = verify(str(root), "--pubkey", pub)
    assert new.exit_code == 0, new.output
    stale = verify(str(old), "--pubkey", pub)
    assert stale.exit_code == 1, stale.output
    assert "refused: older than a copy seen on " in stale.output and "serial 1, that one serial 2" in stale.output
    assert (first["serial"], second["serial"]) == (1, 2)
    assert f"signed {second['signed_at']}, serial 2" in new.output
    assert trusted(own_config_folder)[fp]["last_serial"] == 2
    assert verify(str(root), "--pubkey", pub).exit_code == 0  # the newest stays fine


def test_a_manifest_from_an_older_version_still_verifies_until_a_newer_one_is_seen(tmp_path):
    priv, pub, _ = key(tmp_path, "mirror.key")
    root = copy(tmp_path)
    manifest = sign(root, priv)
    del manifest["serial"], manifest["signed_at"]  # what versions before serials wrote
    from newsmirror.publish.manifest import load_private

    data = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    legacy = tmp_path / "legacy"
    shutil.copytree(root, legacy)
    (legacy / MANIFEST).write_bytes(data)
    import base64

    (legacy / SIGNATURE).write_bytes(base64.b64encode(load_private(priv).sign(data)) + b"\n")
    res = verify(str(legacy), "--pubkey", pub)
    assert res.exit_code == 0 and "no serial (made by an older version)" in res.output, res.output
    assert verify(str(root), "--pubkey", pub).exit_code == 0  # serial 1 seen: a copy with none is older
    res = verify(str(legacy), "--pubkey", pub)
    assert res.exit_code == 1 and "older than a copy seen on" in res.output


def test_max_age_refuses_a_copy_signed_too_long_ago(tmp_path, monkeypatch):
    priv, pub, _ = key(tmp_path, "mirror.key")
    root = copy(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) - 10 * 86400))
    sign(root, priv)
    res = verify(str(root), "--pubkey", pub, "--max-age", "5")
    assert res.exit_code == 1, res.output
    assert "refused: signed 10.0 days ago, over --max-age 5" in res.output
    assert verify(str(root), "--pubkey", pub, "--max-age", "30").exit_code == 0


def test_a_named_pipe_in_a_copy_is_reported_and_never_opened(tmp_path):
    """Opening a named pipe for reading waits for a writer that never comes: run in a process of its own, bounded,
    so that a regression fails here instead of hanging the suite."""
    priv, pub, _ = key(tmp_path, "mirror.key")
    root = copy(tmp_path)
    sign(root, priv)
    os.mkfifo(root / "pages/intl/late.md")
    res = subprocess.run([sys.executable, "-m", "newsmirror", "verify", str(root), "--pubkey", pub],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "unexpected: pages/intl/late.md (a named pipe" in res.stdout
    assert "NOT OK: 0 added, 0 changed, 0 missing, 1 unexpected" in res.stdout

    pipe = tmp_path / "pipe"
    shutil.copytree(root, pipe, ignore=shutil.ignore_patterns("late.md"))
    (pipe / SIGNATURE).unlink()
    os.mkfifo(pipe / SIGNATURE)  # the copy's own signature file is a pipe
    res = subprocess.run([sys.executable, "-m", "newsmirror", "verify", str(pipe), "--pubkey", pub],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "manifest.json.sig is a named pipe" in res.stdout, res.stdout + res.stderr

    # a build that finds one in its tree leaves it out of the manifest, and goes on
    sign_it = ("import sys; from pathlib import Path; from newsmirror.publish.manifest import write_manifest\n"
               "for rel, data in write_manifest(Path(sys.argv[1]), Path(sys.argv[2]), 't').items():\n"
               "    (Path(sys.argv[1]) / rel).write_bytes(data)\n")
    subprocess.run([sys.executable, "-c", sign_it, str(root), str(priv)], check=True, timeout=60)
    assert "late.md" not in (root / MANIFEST).read_text(encoding="utf-8")


def test_hashing_a_huge_file_keeps_memory_flat(tmp_path):
    """A 300 MB file (sparse: it costs no disk) is signed and verified in a process that measures its own peak
    memory; reading a file whole would add 300 MB to it."""
    priv, pub, _ = key(tmp_path, "mirror.key")
    root = copy(tmp_path)
    with open(root / "pages/intl/huge.bin", "wb") as f:
        f.truncate(300 << 20)
    code = ("import resource, sys; from pathlib import Path\n"
            "from newsmirror.cli import cli\n"
            "from newsmirror.publish.manifest import write_manifest\n"
            "root, priv, pub = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "for rel, data in write_manifest(root, priv, 't').items():\n"
            "    (root / rel).write_bytes(data)\n"
            "try:\n"
            "    cli(['verify', str(root), '--pubkey', pub])\n"
            "except SystemExit as exc:\n"
            "    print('exit', exc.code)\n"
            "print('growth-kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n")
    res = subprocess.run([sys.executable, "-c", code, str(root), str(priv), pub], capture_output=True, text=True,
                         timeout=300)
    assert "exit 0" in res.stdout, res.stdout + res.stderr
    growth = int(res.stdout.split("growth-kib ")[1].split()[0])
    assert growth < 64 * 1024, f"peak memory grew by {growth} KiB hashing a 300 MB file"


@pytest.mark.parametrize("evil", [
    "n9\x1b[1A\x1b[2K\r  ok: every file is as signed\n.md",  # CSI: up a line, erase it, write a fake "ok"
    "n9\x9b2K\x1b]0;mirror\x07.md",  # the one-byte C1 CSI, a window title (OSC) and a bell
    "n9\u202edm.exe",  # right-to-left override: shows as "n9exe.md"
])
def test_escape_codes_in_a_copys_file_names_never_reach_the_terminal(tmp_path, evil):
    priv, pub, _ = key(tmp_path, "mirror.key")
    root = copy(tmp_path)
    (root / "pages/intl" / f"gone-{evil}").write_text("x", encoding="utf-8")
    sign(root, priv)
    (root / "pages/intl" / f"gone-{evil}").unlink()  # a name from the manifest: "missing:"
    (root / "pages/intl" / evil).write_text("x", encoding="utf-8")  # a name from the copy: "added:"
    res = verify(str(root), "--pubkey", pub)
    assert res.exit_code == 1
    shown = [line for line in res.output.splitlines() if line.startswith(("  added:", "  missing:"))]
    assert len(shown) == 2 and len(res.output.splitlines()) == 5, res.output  # no line break from outside
    for ch in ("\x1b", "\x9b", "\x07", "\r", "\u202e"):
        assert ch not in res.output
    assert not any(line.startswith("ok:") for line in res.output.splitlines())
    assert "NOT OK: 1 added, 0 changed, 1 missing" in res.output
    assert "\\x1b" in res.output or "\\x9b" in res.output or "\\u202e" in res.output
