"""How config values are checked and problems told: the models' base (unknown keys are errors), the checks
several keys share, one line per problem naming the key, the bad value (passwords blanked) and the fix, and the
check that the published output holds nothing private; and a source's CSS `rules`, made of those checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .ids import KEY_RE
from .redact import redact

if TYPE_CHECKING:
    from .config import Config


class ConfigError(Exception):
    """A config problem: one line per problem, each naming the key and the fix."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def key_name(value: str, what: str) -> str:
    """A name used as a key (a source's, a remote's): 1-40 of a-z, 0-9, '-' and '_'."""
    if not KEY_RE.match(value):
        raise ValueError(f"a {what} name is 1-40 of a-z, 0-9, '-' and '_', starting with a letter or digit")
    return value


def named_once(items: list, what: str) -> None:
    """Raise on the first name used twice in a list of named entries (`what`: the list's key)."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            raise ValueError(f"{what}s[{i}].name: {item.name!r} is used twice; give each {what} its own name")
        seen.add(item.name)


def http_url(value: str, what: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{what} must be an http:// or https:// URL")
    if re.search(r"\s", value):
        raise ValueError(f"{what} has a space in it; write it as %20")
    return value


def css_selector(sel: str | None, key: str = "") -> None:
    """A ValueError (naming `key`) unless `sel` is empty or a CSS selector."""
    from cssselect import GenericTranslator, SelectorError

    if sel:
        try:
            GenericTranslator().css_to_xpath(sel)
        except SelectorError as exc:
            raise ValueError(f"{key + ': ' if key else ''}{sel!r} is not a CSS selector ({exc})") from None


class Rules(Model):
    title: str | None = None
    body: str | None = None
    image: str | None = None
    caption: str | None = None
    date: str | None = None
    remove: list[str] = []

    @model_validator(mode="after")
    def _selectors_parse(self) -> Rules:
        for key in ("title", "body", "image", "caption", "date"):
            css_selector(getattr(self, key), f"rules.{key}")
        for i, sel in enumerate(self.remove):
            css_selector(sel, f"rules.remove[{i}]")
        return self


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


def untagged(loc: tuple, data: object) -> tuple:
    """`loc` without the tags pydantic adds to it after an entry of a tagged union (sources[0].rss.url is
    sources[0].url in the file): a part that is no key of the entry but its `kind` is the tag."""
    out = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        out.append(part)
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _kind_error(err: dict, loc: str) -> str:
    """A source's kind that is none of them, or missing: one line with the kinds there are."""
    from .config_sources import KIND_MODELS

    kinds = ", ".join(KIND_MODELS)
    if err["type"] == "union_tag_not_found":
        return f"{loc}.kind is missing; add it, one of: {kinds}"
    tag = err["input"].get("kind") if isinstance(err["input"], dict) else None
    return f"{loc}.kind = {redact(repr(tag))}: not a source kind; use one of: {kinds}"


def format_validation_error(exc: ValidationError, path: Path, data: dict) -> str:
    lines = []
    for err in exc.errors():
        loc = where(untagged(err["loc"], data))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("union_tag_invalid", "union_tag_not_found") and err["ctx"]["discriminator"] == "'kind'":
            msg = _kind_error(err, loc)
        elif err["type"] == "extra_forbidden":
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
