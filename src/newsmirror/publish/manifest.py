"""Integrity: a signed list of every published file, so anyone can check that a copy is untouched and current.

`keygen()` makes an Ed25519 key pair in OpenSSH's formats (the private key stays with the operator, mode 0600;
a PKCS#8 key made by older versions still works). Each build with `[signing] key = PATH` writes `manifest.json`
(the SHA-256 and size of every file in the tree but git's own and the manifest's, the signing time and a serial
that only grows) and `manifest.json.sig`: an SSH signature (OpenSSH's SSHSIG format, namespace "newsmirror"), so
that a reader with nothing but OpenSSH checks it (`ssh-keygen -Y verify`, see `verify_command()`); older
manifests, signed with a bare base64 Ed25519 signature, still verify. `verify()` checks a clone or a downloaded
copy against them: the signature — with a key the reader gave or pinned (`trust.py`), never merely the one the
copy names, which a censor can replace with its own — then that the copy is not older than one already seen
for that key (a censor could otherwise serve a stale copy for ever), and every file: added, changed, missing, or
not a file at all.

The HTML site's search index (site/pagefind) is not in main's history (it is published on the one-commit
`snapshot` branch, see publish/snapshot.py): the manifest lists its files as one entry, `search_index` (the
folder, its number of files and the SHA-256 of `find FOLDER -type f | LC_ALL=C sort | xargs sha256sum`'s
output), so that a copy of main (no index) and a copy of the snapshot (with it) both verify against it, and an
index that is there is checked whole.

A copy is hostile input: files are hashed in 1 MiB reads (memory stays flat for any size), and a named pipe, a
socket or a device in it is reported, never opened for reading (opening a pipe blocks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .keys import (
    NAMESPACE,
    PRINCIPAL,
    _public_raw,
    _sshsig_signed_data,
    allowed_signers_line,
    fingerprint,
    load_private,
    parse_public_key,
    parse_ssh_signature,
    ssh_public_key,
    ssh_sign,
)
from .keys import keygen as keygen  # (the key functions lived here: still importable from here)
from .keys import public_raw as public_raw
from .trust import Seen, TrustStore, normalize_fingerprint

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
SKIP_DIRS = {".git"}
CHUNK = 1 << 20  # bytes read at a time when hashing
MAX_MANIFEST = 128 << 20  # a manifest lists about 120 bytes a file: this is a million files
MAX_SIGNATURE = 4096
SPECIAL_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
                 stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder"}


class NotAFile(Exception):
    """A path that is not a regular file (or cannot be opened as one); the message says what it is."""


def verify_command(public_raw: bytes) -> str:
    """The command a reader runs in a copy's top folder to check its manifest with OpenSSH alone."""
    return (f"echo '{allowed_signers_line(public_raw)}' > signers && ssh-keygen -Y verify -f signers "
            f"-I {PRINCIPAL} -n {NAMESPACE} -s {SIGNATURE} < {MANIFEST}")


def _kind(mode: int) -> str:
    return SPECIAL_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _open_regular(path: Path) -> int:
    """A descriptor of `path` for reading, only if it is a regular file. Opened without following a symbolic
    link and without blocking (a named pipe put there after we looked must not hang us), then checked again
    on the descriptor itself."""
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(_kind(mode))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise NotAFile(f"unreadable: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotAFile(_kind(mode))
    return fd


def hash_file(path: Path, buf: bytearray | None = None) -> tuple[str, int]:
    """SHA-256 and size of the regular file at `path`, read CHUNK bytes at a time into `buf` (memory stays the
    same for a 1 GB file as for a 1 kB one). Raises NotAFile for anything else."""
    buf = buf if buf is not None else bytearray(CHUNK)
    view = memoryview(buf)
    h = hashlib.sha256()
    size = 0
    with open(_open_regular(path), "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def _read_small(path: Path, limit: int) -> bytes:
    """A small regular file whole (the manifest, its signature): never a pipe, never more than `limit` bytes."""
    try:
        fd = _open_regular(path)
    except NotAFile as exc:
        raise NotAFile(f"{path.name} is {exc}") from None
    with open(fd, "rb", buffering=0) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotAFile(f"{path.name} is over {limit} bytes")
    return data


def _scan(root: Path, skip: str | None = None, top_files: bool = True) -> tuple[dict[str, tuple[str, int]],
                                                                              dict[str, str]]:
    """Every file of the tree → (SHA-256, size), but the repository's own `.git` (a folder, or a worktree's
    file) at the top, the manifest and signature, and the folder `skip` (the search index, signed apart); and,
    apart, every entry that is not a file (a named pipe, a socket, a device, an unreadable file) → what it is. A
    symbolic link is an entry of its own ("symlink:" and the SHA-256 of its target): the mirror writes none, so
    one in a copy is reported, not followed. Paths are relative to `root`; `top_files=False` skips nothing at
    the top (for a folder inside the tree)."""
    out: dict[str, tuple[str, int]] = {}
    special: dict[str, str] = {}
    buf = bytearray(CHUNK)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        top = here == root and top_files
        links = [d for d in dirnames if (here / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if d not in links and not (top and d in SKIP_DIRS)
                             and (skip is None or (here / d).relative_to(root).as_posix() != skip))
        for name in [*filenames, *links]:
            p = here / name
            rel = p.relative_to(root).as_posix()
            if (top and (name in SKIP_DIRS or rel in (MANIFEST, SIGNATURE))) or rel == skip:
                continue
            if p.is_symlink():
                out[rel] = ("symlink:" + hashlib.sha256(os.fsencode(os.readlink(p))).hexdigest(), 0)
                continue
            try:
                out[rel] = hash_file(p, buf)
            except NotAFile as exc:
                special[rel] = str(exc)
    return dict(sorted(out.items())), dict(sorted(special.items()))


def _files(root: Path, skip: str | None = None) -> dict[str, tuple[str, int]]:
    """The files of the tree (see `_scan`), without what is not a file."""
    return _scan(root, skip)[0]


def _safe_folder(value: object) -> str | None:
    """A folder a manifest names (the search index's): a relative path inside the tree, else None."""
    if not isinstance(value, str) or not value or value.startswith("/") or "\\" in value:
        return None
    parts = value.split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0] in SKIP_DIRS:
        return None
    return value


def folder_digest(root: Path, folder: str) -> tuple[int, str, dict[str, str]]:
    """(the number of files, the SHA-256 of their listing, what is not a file) of the folder `folder` of the tree
    at `root`. The listing is what `find FOLDER -type f | LC_ALL=C sort | xargs sha256sum` prints in the tree's
    top folder (`<sha256>  <path>` a line, paths from the top, in byte order), so a reader checks it with
    coreutils alone (`search_index_command`)."""
    files, special = _scan(root / folder, top_files=False)
    lines = sorted((f"{folder}/{rel}".encode(), sha) for rel, (sha, _n) in files.items())
    h = hashlib.sha256()
    for path, sha in lines:
        h.update(sha.encode("ascii") + b"  " + path + b"\n")
    return len(lines), h.hexdigest(), {f"{folder}/{rel}": kind for rel, kind in special.items()}


def search_index_command(folder: str) -> str:
    """The command, run in a copy's top folder, whose output is the SHA-256 the manifest signs for the index."""
    return f"find {folder} -type f | LC_ALL=C sort | xargs sha256sum | sha256sum"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _previous(root: Path) -> dict:
    """The manifest the tree holds now, or {}."""
    try:
        data = json.loads(_read_small(root / MANIFEST, MAX_MANIFEST))
    except (NotAFile, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _serial(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _content_digest(manifest: dict) -> str:
    """What a manifest signs but its serial and time: the same for the same tree, key and generator."""
    body = {k: v for k, v in manifest.items() if k not in ("serial", "signed_at")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def manifest_record(data: bytes) -> str:
    """What the caller keeps of a manifest `write_manifest` made (its content digest, serial and signing time), to
    hand back as `last`: a tree made afresh from the same store then gets the same manifest, byte for byte."""
    manifest = json.loads(data)
    return json.dumps({"content": _content_digest(manifest), "serial": manifest.get("serial"),
                       "signed_at": manifest.get("signed_at")}, sort_keys=True)


def write_manifest(root: Path, key_path: Path, generator: str, last_serial: int = 0,
                   last: str = "", index: str | None = None) -> dict[str, bytes]:
    """manifest.json and its signature for the tree at `root`, as {path: bytes} to write.

    The serial is one more than the highest of the tree's current manifest and `last_serial` (kept by the
    caller, so that it still grows when the tree is made afresh), and the signing time is now (or
    SOURCE_DATE_EPOCH). Both stay as they were when the signed content (files, key, generator) is the same as the
    current manifest's: then the output is byte for byte the same (Ed25519 signatures are deterministic).
    The signature is an SSH signature (`ssh_sign`): `ssh-keygen -Y verify` checks it. `index`: the search
    index's folder, signed as one entry (`folder_digest`), not file by file, when the tree has it."""
    from ..store import now

    key = load_private(key_path)
    raw = _public_raw(key.public_key())
    manifest: dict = {"generator": generator, "algorithm": "sha256", "signature": f"sshsig {NAMESPACE}",
                      "public_key": base64.b64encode(raw).decode(), "fingerprint": fingerprint(raw),
                      "ssh_public_key": ssh_public_key(raw),
                      "files": {k: {"sha256": h, "bytes": n} for k, (h, n) in _files(root, index).items()}}
    if index is not None and (root / index).is_dir() and not (root / index).is_symlink():
        n, digest, _ = folder_digest(root, index)
        manifest["search_index"] = {"folder": index, "files": n, "sha256": digest}
    previous = _previous(root)
    before = _serial(previous.get("serial"))
    same = {k: v for k, v in previous.items() if k not in ("serial", "signed_at")} == manifest
    kept = json.loads(last) if last else {}
    if same and before is not None and isinstance(previous.get("signed_at"), str):
        manifest.update(serial=before, signed_at=previous["signed_at"])
    elif (kept.get("content") == _content_digest(manifest) and _serial(kept.get("serial")) is not None
          and isinstance(kept.get("signed_at"), str)):  # the tree made afresh, with what was signed last
        manifest.update(serial=kept["serial"], signed_at=kept["signed_at"])
    else:
        manifest.update(serial=max(before or 0, last_serial) + 1, signed_at=_iso(now()))
    data = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    return {MANIFEST: data, SIGNATURE: ssh_sign(key, data)}


def manifest_serial(data: bytes) -> int | None:
    """The serial of a manifest `write_manifest` made."""
    return _serial(json.loads(data).get("serial"))


@dataclass
class Verdict:
    signature: str  # "ok" (it verifies with the key below), or what is wrong with it
    fingerprint: str = ""
    trusted: str = ""  # how the key came to be trusted ("given with --pubkey", "pinned"); "" for an unknown key
    serial: int | None = None
    signed_at: str | None = None
    refused: list[str] = field(default_factory=list)  # why a validly signed copy is not accepted (stale, too old)
    pinned: bool = False  # this call pinned the key (--trust)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    special: dict[str, str] = field(default_factory=dict)  # path → what it is, for what is not a file
    search_index: str = ""  # the signed search index: "" (none signed), "checked" or "absent" (a copy without it)

    @property
    def ok(self) -> bool:
        return (self.signature == "ok" and bool(self.trusted) and not self.refused
                and not (self.added or self.changed or self.missing or self.special))


def _pubkey_text(pubkey: str) -> str:
    """--pubkey: an OpenSSH public key or base64 raw key, or a .pub (or allowed-signers) file holding one."""
    if Path(pubkey).is_file():
        return Path(pubkey).read_text(encoding="ascii").strip()
    return pubkey


def _signature(data: bytes, sig_file: bytes) -> tuple[bytes | None, bytes]:
    """(the key an SSH signature names, the raw Ed25519 signature over `data`'s signed form) — or (None, the
    raw signature) for the bare base64 signature of older versions, which signs `data` itself."""
    if sig_file.lstrip().startswith(b"-----BEGIN"):
        named, namespace, sig = parse_ssh_signature(sig_file)
        if namespace != NAMESPACE:
            raise ValueError(f"an SSH signature for {namespace!r}, not {NAMESPACE!r}")
        return named, sig
    return None, base64.b64decode(sig_file.strip(), validate=True)


def verify(root: Path, pubkey: str | None = None, *, trust: str | None = None, max_age_days: float | None = None,
           store: TrustStore | None = None, label: str = "") -> Verdict:
    """Check the copy at `root` against its signed manifest.

    The key is `pubkey` (an OpenSSH or base64 raw key, or a .pub file), else the manifest's own key only if `trust`
    names its fingerprint (then it is pinned in `store`) or `store` has it pinned; a signature by any other key is
    reported as valid for an unknown key, and the copy is not ok. With a trusted key, a copy whose serial is below the
    highest `store` has seen for that key is refused, as is one signed more than `max_age_days` ago; a higher
    serial is recorded in `store` (the caller saves it)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        data = _read_small(root / MANIFEST, MAX_MANIFEST)
        sig_named, sig = _signature(data, _read_small(root / SIGNATURE, MAX_SIGNATURE))
        manifest = json.loads(data)
        listed = {k: v["sha256"] for k, v in manifest["files"].items()}
        index = manifest.get("search_index")
        folder = _safe_folder(index.get("folder")) if isinstance(index, dict) else None
        signed_index = index.get("sha256") if folder and isinstance(index, dict) else None
    except NotAFile as exc:
        return Verdict(f"no readable signed manifest in {root} ({exc})")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return Verdict(f"no readable signed manifest in {root} ({type(exc).__name__}: {exc})")
    named = manifest.get("public_key", "")
    named = named if isinstance(named, str) else ""
    want = normalize_fingerprint(trust) if trust else None
    if trust and want is None:
        raise ValueError(f"--trust {trust}: not a key fingerprint (32 hex digits, as `verify` prints them)")
    try:
        if pubkey:
            raw = parse_public_key(_pubkey_text(pubkey))
            how = "given with --pubkey"
        else:
            raw = base64.b64decode(named, validate=True)
            pinned = store is not None and store.trusted(fingerprint(raw), base64.b64encode(raw).decode())
            how = "pinned" if pinned else ""
        if sig_named is not None and sig_named != raw:
            raise InvalidSignature
        signed = data if sig_named is None else _sshsig_signed_data(data, NAMESPACE)
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, signed)
        verdict = Verdict("ok", fingerprint(raw), how)
    except InvalidSignature:
        verdict = Verdict("the signature does not match (the manifest was changed, or signed by another key)")
    except ValueError as exc:
        verdict = Verdict(f"not an Ed25519 public key ({exc})")
    except OSError as exc:
        verdict = Verdict(f"cannot read --pubkey {pubkey} ({exc.strerror or exc})")
    if verdict.signature == "ok":
        _check_fresh(verdict, manifest, base64.b64encode(raw).decode(), want, max_age_days, store, label)
    have, verdict.special = _scan(root, folder)
    if folder:
        if not os.path.lexists(root / folder):
            verdict.search_index = "absent"
        elif (root / folder).is_symlink() or not (root / folder).is_dir():
            verdict.special[folder] = "a symbolic link" if (root / folder).is_symlink() else "not a folder"
        else:
            _n, digest, special = folder_digest(root, folder)
            verdict.special.update(special)
            verdict.search_index = "checked"
            if digest != signed_index:
                verdict.changed.append(folder + "/")
    verdict.added = sorted(set(have) - set(listed))
    verdict.missing = sorted(set(listed) - set(have) - set(verdict.special))
    verdict.changed = sorted([*verdict.changed, *(k for k in set(have) & set(listed) if have[k][0] != listed[k])])
    return verdict


def _check_fresh(verdict: Verdict, manifest: dict, public_key: str, want: str | None, max_age_days: float | None,
                 store: TrustStore | None, label: str) -> None:
    """For a signature that verifies: pin the key if `want` names it, then refuse a copy older than one seen for
    a trusted key or than `max_age_days`, and record a newer serial."""
    fp = verdict.fingerprint
    verdict.serial = _serial(manifest.get("serial"))
    signed_at = manifest.get("signed_at")
    verdict.signed_at = signed_at if isinstance(signed_at, str) else None
    if want is not None:
        if want != fp:
            verdict.refused.append(f"this copy is signed by key {fp}, not by {want} (--trust): nothing pinned")
            return
        if store is not None:
            seen = store.keys.setdefault(fp, Seen(public_key=public_key))
            seen.public_key, seen.pinned, seen.label = public_key, True, label or seen.label
            store.changed = verdict.pinned = True
        verdict.trusted = verdict.trusted or "pinned"
    if not verdict.trusted:
        return
    seen = store.keys.get(fp) if store is not None else None
    if seen is not None and seen.public_key not in ("", public_key):
        seen = None  # another key with that fingerprint: nothing seen for this one
    now = datetime.now(UTC)
    serial = -1 if verdict.serial is None else verdict.serial  # a copy without one is older than any with one
    if seen is not None and seen.last_serial is not None and serial < seen.last_serial:
        had = "no serial" if verdict.serial is None else f"serial {verdict.serial}"
        verdict.refused.append(f"older than a copy seen on {seen.last_seen or 'an earlier check'}: this one has "
                               f"{had}, that one serial {seen.last_serial} (signed {seen.last_signed_at})")
    if max_age_days is not None:
        try:
            when = datetime.fromisoformat(verdict.signed_at or "")
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        except ValueError:
            verdict.refused.append(f"no signing time, so it cannot be shown newer than --max-age {max_age_days:g}")
        else:
            age = (now - when).total_seconds() / 86400
            if age > max_age_days:
                verdict.refused.append(f"signed {age:.1f} days ago, over --max-age {max_age_days:g}")
    if store is not None and verdict.serial is not None and (seen is None or seen.last_serial is None
                                                             or verdict.serial > seen.last_serial):
        entry = store.keys.setdefault(fp, Seen(public_key=public_key))
        entry.public_key = public_key
        entry.last_serial, entry.last_signed_at, entry.last_seen = verdict.serial, verdict.signed_at, _iso(now)
        store.changed = True
