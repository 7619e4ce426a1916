"""The keys a reader trusts to sign a mirror, and the newest copy each has been seen to sign.

A copy carries its own public key, so the key in it proves only that *someone* signed it: a censor can re-sign
a doctored tree with a key of its own. `verify` therefore believes a key only when the reader gave it
(`--pubkey`) or pinned it earlier (`--trust FINGERPRINT`), and pins live here, in the reader's own config folder
(`$XDG_CONFIG_HOME/newsmirror/trusted.json`, else `~/.config/newsmirror/trusted.json`), never in a copy.

For each key it also keeps the highest serial (and its signing time) seen, so that a censor cannot serve an
older, validly signed copy in place of a newer one: a copy below that serial is refused.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_write

TRUSTED = "trusted.json"


class TrustStoreError(Exception):
    """A trust store that cannot be read or written; the message names the file and the fix."""


def config_dir() -> Path:
    """The user's config folder for newsmirror: $XDG_CONFIG_HOME/newsmirror, else ~/.config/newsmirror (the XDG
    rule: a relative $XDG_CONFIG_HOME is ignored)."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "newsmirror"


def normalize_fingerprint(text: str) -> str | None:
    """A fingerprint as `fingerprint()` writes it (32 hex digits, `abcd:ef01:…`), from how a person may type it
    (any case, with or without the colons or spaces); None when it is not one."""
    digits = re.sub(r"[\s:]", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{32}", digits):
        return None
    return ":".join(digits[i:i + 4] for i in range(0, 32, 4))


@dataclass
class Seen:
    """What the store knows about one key."""

    public_key: str = ""  # base64 raw Ed25519 key
    pinned: bool = False  # trusted without --pubkey
    label: str = ""
    last_serial: int | None = None
    last_signed_at: str | None = None
    last_seen: str | None = None  # when (UTC) verify saw that copy


class TrustStore:
    """trusted.json: fingerprint → {"public_key", "pinned", "label", "last_serial", "last_signed_at", "last_seen"}.
    Written whole (temp file, then rename), so a killed `verify` never leaves it half-written."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / TRUSTED
        self.keys: dict[str, Seen] = self._load()
        self.changed = False  # set when a key is pinned or a newer serial seen: then `save()`

    def _load(self) -> dict[str, Seen]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TrustStoreError(f"{self.path}: cannot read the trusted keys ({exc}); fix or remove the file "
                                  "and pin your keys again with `newsmirror verify --trust`") from None
        if not isinstance(raw, dict):
            raise TrustStoreError(f"{self.path}: not a JSON object of fingerprints; fix or remove the file "
                                  "and pin your keys again with `newsmirror verify --trust`")
        out: dict[str, Seen] = {}
        for fp, entry in raw.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("public_key", ""), str):
                raise TrustStoreError(f"{self.path}: the entry for {fp!r} is not an object with a public_key; "
                                      "fix or remove it and pin that key again with `newsmirror verify --trust`")
            serial = entry.get("last_serial")
            out[fp] = Seen(public_key=entry.get("public_key", ""), pinned=entry.get("pinned") is True,
                           label=str(entry.get("label", "")),
                           last_serial=serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
                           last_signed_at=_str_or_none(entry.get("last_signed_at")),
                           last_seen=_str_or_none(entry.get("last_seen")))
        return out

    def trusted(self, fp: str, public_key: str) -> bool:
        """Whether the key with that fingerprint is pinned, and is exactly that key."""
        seen = self.keys.get(fp)
        return seen is not None and seen.pinned and seen.public_key == public_key

    def save(self) -> None:
        data = {fp: {"public_key": s.public_key, "pinned": s.pinned, "label": s.label, "last_serial": s.last_serial,
                     "last_signed_at": s.last_signed_at, "last_seen": s.last_seen}
                for fp, s in sorted(self.keys.items())}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
            self.changed = False
        except OSError as exc:
            raise TrustStoreError(f"{self.path}: cannot write the trusted keys ({exc.strerror or exc}); "
                                  "make its folder writable or set XDG_CONFIG_HOME to one that is") from None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
