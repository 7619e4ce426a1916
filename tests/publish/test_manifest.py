"""Signed manifests: keygen, a signed build, and verify catching one changed byte, one added and one removed file."""

from __future__ import annotations

import json
import os
import stat
import subprocess

from newsmirror.publish.manifest import MANIFEST, SIGNATURE
from tests.test_pipeline import cli_run, demo_config


def test_keygen_build_and_verify_catch_every_change(demo_server, tmp_path):
    key = tmp_path / "keys" / "mirror.key"
    res = cli_run(tmp_path / "none.toml", "keygen", str(key))
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and key.with_name("mirror.key.pub").is_file()
    fp = res.output.split("fingerprint: ")[1].split()[0]
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 2  # never overwritten

    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["markdown", "html"]')
    cfg.write_text(cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n', encoding="utf-8")
    assert cli_run(cfg, "run").exit_code == 0
    out = tmp_path / "out"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == fp and (out / SIGNATURE).is_file()
    assert "pages/intl/a103612902.md" in manifest["files"] and "site/index.html" in manifest["files"]
    assert fp in (out / "README.md").read_text(encoding="utf-8")
    assert fp in (out / "site/index.html").read_text(encoding="utf-8")

    pub = str(key.with_name("mirror.key.pub"))
    ok = cli_run(cfg, "verify", str(out), "--pubkey", pub)
    assert ok.exit_code == 0 and "ok: every file is as signed" in ok.output

    page = out / "pages/intl/n2001.md"
    data = bytearray(page.read_bytes())
    data[100] ^= 1  # one changed byte
    page.write_bytes(bytes(data))
    (out / "pages/intl/extra.md").write_text("不在清单里", encoding="utf-8")
    (out / "indexes/hot.md").unlink()
    (out / "pages/intl/evil.md").symlink_to("/etc/passwd")  # links and a nested .git are content like any other
    (out / "pages/intl/elsewhere").symlink_to(tmp_path, target_is_directory=True)
    (out / "site/.git").mkdir()
    (out / "site/.git/x.html").write_text("<p>x</p>", encoding="utf-8")
    bad = cli_run(cfg, "verify", str(out), "--pubkey", pub)
    assert bad.exit_code == 1
    assert "changed: pages/intl/n2001.md" in bad.output
    assert "added: pages/intl/extra.md" in bad.output
    assert "missing: indexes/hot.md" in bad.output
    for added in ("pages/intl/evil.md", "pages/intl/elsewhere", "site/.git/x.html"):
        assert f"added: {added}" in bad.output
    assert "4 added, 1 changed, 1 missing" in bad.output

    # a manifest edited to hide a change fails its signature; another key does not vouch for it
    m = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    m["files"].pop("indexes/hot.md")
    (out / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    forged = cli_run(cfg, "verify", str(out), "--pubkey", pub)
    assert forged.exit_code == 1 and "signature does not match" in forged.output
    other = tmp_path / "other.key"
    cli_run(cfg, "keygen", str(other))
    assert cli_run(cfg, "verify", str(out), "--pubkey", str(other) + ".pub").exit_code == 1


def test_a_bad_signing_key_is_one_clear_line(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    (tmp_path / "bad.key").write_text("not a key", encoding="utf-8")
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[signing]\nkey = "bad.key"\n', encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 2 and "signing.key" in res.output and "newsmirror keygen" in res.output


def test_a_run_killed_before_it_signed_is_signed_by_the_next(demo_server, tmp_path, monkeypatch):
    """The next run writes nothing new (the pages are there already), yet the manifest must cover them."""
    import pytest

    from newsmirror.pipeline.seams import SEAMS
    from tests.test_pipeline import KilledBeforeBuild

    key = tmp_path / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    cfg = demo_config(tmp_path, demo_server.base)
    cfg.write_text(cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n', encoding="utf-8")
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0

    def killed():
        raise KilledBeforeBuild

    monkeypatch.setattr(SEAMS, "before_sign", killed)
    with pytest.raises(KilledBeforeBuild):
        cli_run(cfg, "run")
    monkeypatch.undo()
    assert cli_run(cfg, "run").exit_code == 0
    res = cli_run(cfg, "verify", str(tmp_path / "out"), "--pubkey", str(key) + ".pub")
    assert res.exit_code == 0 and "ok: every file is as signed" in res.output, res.output


def test_a_worktrees_git_file_at_the_top_is_not_signed(tmp_path):
    from newsmirror.publish.manifest import _files

    (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/out\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# 镜像\n", encoding="utf-8")
    assert list(_files(tmp_path)) == ["README.md"]


def test_turning_signing_off_takes_the_signed_manifest_out_of_the_tree(demo_server, tmp_path):
    key = tmp_path / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    cfg = demo_config(tmp_path, demo_server.base)
    signed = cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n'
    cfg.write_text(signed, encoding="utf-8")
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    out = tmp_path / "out"
    assert (out / MANIFEST).is_file() and (out / SIGNATURE).is_file()
    cfg.write_text(signed.replace(f'\n[signing]\nkey = "{key}"\n', ""), encoding="utf-8")
    assert cli_run(cfg, "run").exit_code == 0  # new pages, and no manifest that would not match them
    assert not (out / MANIFEST).exists() and not (out / SIGNATURE).exists()
    tracked = subprocess.run(["git", "-C", str(out), "ls-files", MANIFEST, SIGNATURE], capture_output=True, text=True)
    assert tracked.stdout == ""


def test_the_serial_grows_with_every_signed_change_and_only_then(demo_server, tmp_path, monkeypatch):
    """With SOURCE_DATE_EPOCH fixing the signing time, the serial still grows with each change of the tree, a
    tree signed again unchanged gives the same bytes, and a tree that lost its manifest goes on from the store."""
    from newsmirror import __version__
    from newsmirror.publish.manifest import write_manifest

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    key = tmp_path / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    cfg = demo_config(tmp_path, demo_server.base)
    cfg.write_text(cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n', encoding="utf-8")
    out = tmp_path / "out"

    def manifest() -> dict:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))

    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    assert (manifest()["serial"], manifest()["signed_at"]) == (1, "2023-11-14T22:13:20Z")
    assert cli_run(cfg, "run").exit_code == 0  # more pages
    assert (manifest()["serial"], manifest()["signed_at"]) == (2, "2023-11-14T22:13:20Z")
    signed = {p: (out / p).read_bytes() for p in (MANIFEST, SIGNATURE)}
    assert write_manifest(out, key, f"newsmirror {__version__}") == signed  # nothing changed: the same bytes
    assert cli_run(cfg, "run").exit_code == 0 and (out / MANIFEST).read_bytes() == signed[MANIFEST]

    (out / MANIFEST).unlink()  # the tree made afresh: the store knows what it signed last, the same bytes again
    assert cli_run(cfg, "build").exit_code == 0
    assert (out / MANIFEST).read_bytes() == signed[MANIFEST]
    (out / MANIFEST).unlink()  # and with a change besides, the serial goes on from the store
    (out / "CNAME").write_text("news.example\n", encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    assert manifest()["serial"] == 3
    res = cli_run(cfg, "verify", str(out), "--pubkey", str(key) + ".pub")
    assert res.exit_code == 0 and "signed 2023-11-14T22:13:20Z, serial 3" in res.output, res.output
