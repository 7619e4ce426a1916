"""Integrity: a signed list of every published file, so anyone can check that a copy is untouched.

`keygen()` makes an Ed25519 key pair (the private key stays with the operator, mode 0600). Each build
with `[signing] key = PATH` writes `manifest.json` (the SHA-256 and size of every file in the tree but
git's own and the manifest's) and `manifest.json.sig` (the Ed25519 signature of manifest.json, base64).
`verify()` checks a clone or a downloaded copy against them: the signature (with the public key the
reader got from the operator, or the one the manifest names) and every file — added, changed, missing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
SKIP_DIRS = {".git"}


class SigningError(Exception):
    """A key that cannot be read or used; the message names the file and the fix."""


def _public_raw(public_key) -> bytes:  # noqa: ANN001
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_raw: bytes) -> str:
    """A short, readable name of a public key: SHA-256 of its raw bytes, 32 hex digits in groups of 4."""
    h = hashlib.sha256(public_raw).hexdigest()[:32]
    return ":".join(h[i:i + 4] for i in range(0, 32, 4))


def keygen(path: Path) -> tuple[Path, Path, str]:
    """Write PATH (the private key, PEM, mode 0600) and PATH.pub (the public key, base64 raw)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        raise SigningError(f"{path} exists already; choose another path (a key is never overwritten)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    raw = _public_raw(key.public_key())
    pub = path.with_name(path.name + ".pub")
    pub.write_text(base64.b64encode(raw).decode() + "\n", encoding="ascii")
    return path, pub, fingerprint(raw)


def load_private(path: Path):  # -> Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"signing.key {path}: cannot read the key ({exc}); make one with "
                           f"`newsmirror keygen {path}`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"signing.key {path}: not an Ed25519 key; make one with `newsmirror keygen`")
    return key


def public_fingerprint(path: Path) -> str:
    return fingerprint(_public_raw(load_private(path).public_key()))


def _files(root: Path) -> dict[str, tuple[str, int]]:
    """Every file of the tree → (SHA-256, size), but the repository's own `.git` (a folder, or a worktree's
    file) at the top, and the manifest and signature. A symbolic link is an entry of its own ("symlink:" and
    the SHA-256 of its target): the mirror writes none, so one in a copy is reported, not followed."""
    out: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        top = here == root
        links = [d for d in dirnames if (here / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if d not in links and not (top and d in SKIP_DIRS))
        for name in [*filenames, *links]:
            p = here / name
            rel = p.relative_to(root).as_posix()
            if top and (name in SKIP_DIRS or rel in (MANIFEST, SIGNATURE)):
                continue
            if p.is_symlink():
                out[rel] = ("symlink:" + hashlib.sha256(os.readlink(p).encode()).hexdigest(), 0)
                continue
            data = p.read_bytes()
            out[rel] = (hashlib.sha256(data).hexdigest(), len(data))
    return dict(sorted(out.items()))


def write_manifest(root: Path, key_path: Path, generator: str) -> dict[str, bytes]:
    """manifest.json and its signature for the tree at `root`, as {path: bytes} to write."""
    key = load_private(key_path)
    raw = _public_raw(key.public_key())
    manifest = {"generator": generator, "algorithm": "sha256", "signature": "ed25519",
                "public_key": base64.b64encode(raw).decode(), "fingerprint": fingerprint(raw),
                "files": {k: {"sha256": h, "bytes": n} for k, (h, n) in _files(root).items()}}
    data = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    return {MANIFEST: data, SIGNATURE: base64.b64encode(key.sign(data)) + b"\n"}


@dataclass
class Verdict:
    signature: str  # "ok", or what is wrong with it
    fingerprint: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature == "ok" and not (self.added or self.changed or self.missing)


def verify(root: Path, pubkey: str | None = None) -> Verdict:
    """Check the copy at `root` against its signed manifest. `pubkey`: base64 raw key, or a .pub file."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        data = (root / MANIFEST).read_bytes()
        sig = base64.b64decode((root / SIGNATURE).read_bytes().strip(), validate=True)
        manifest = json.loads(data)
        listed = {k: v["sha256"] for k, v in manifest["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return Verdict(f"no readable signed manifest in {root} ({type(exc).__name__}: {exc})")
    if pubkey and Path(pubkey).is_file():
        pubkey = Path(pubkey).read_text(encoding="ascii").strip()
    try:
        raw = base64.b64decode(pubkey or manifest.get("public_key", ""), validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, data)
        verdict = Verdict("ok", fingerprint(raw))
    except InvalidSignature:
        verdict = Verdict("the signature does not match (the manifest was changed, or signed by another key)")
    except ValueError as exc:
        verdict = Verdict(f"not an Ed25519 public key ({exc})")
    have = _files(root)
    verdict.added = sorted(set(have) - set(listed))
    verdict.missing = sorted(set(listed) - set(have))
    verdict.changed = sorted(k for k in set(have) & set(listed) if have[k][0] != listed[k])
    return verdict
