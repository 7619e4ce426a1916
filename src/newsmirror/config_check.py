"""How config problems are told: one line each, naming the key, the bad value (passwords blanked) and the fix;
and the check that the published output holds nothing private."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .redact import redact

if TYPE_CHECKING:
    from .config import Config


class ConfigError(Exception):
    """A config problem: one line per problem, each naming the key and the fix."""


def where(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith(("literal[", "function")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError, path: Path, data: dict) -> str:
    lines = []
    for err in exc.errors():
        loc = where(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc!r}; remove it or check its spelling (see `newsmirror init`)"
        elif err["type"] == "missing":
            msg = f"{loc} is missing; add it"
        else:
            bad = err.get("input")
            if isinstance(bad, str | int | float | bool) and not isinstance(bad, dict):
                msg = f"{loc} = {redact(repr(bad))}: {msg}"  # a password in a bad URL is not echoed
            else:
                msg = f"{loc}: {msg}"
        lines.append(f"{path}: {msg}")
    return "\n".join(lines)


def nothing_private_published(cfg: Config, path: Path) -> None:
    """The output folder is published whole (`git add -A`): it must not hold the config, the store, the WARC
    files or the signing key."""
    out = cfg.output_dir
    private = [("this config file", cfg.path), ("the store (site.store)", cfg.store_path),
               ("the WARC files", cfg.store_path.parent / "warcs")]
    if cfg.signing_key is not None:
        private.append(("the signing key (signing.key)", cfg.signing_key))
    stats = cfg.site.counter_stats
    if stats and "://" not in stats:  # the counter's database: today's views, page by page
        private.append(("the counter's database (site.counter_stats)", (cfg.root / stats).resolve()))
    for what, p in private:
        if p == out or out in p.parents:
            raise ConfigError(f"{path}: site.output = {cfg.site.output!r} holds {what}, which would be published; "
                              'give the output a folder of its own, e.g. output = "mirror"')
