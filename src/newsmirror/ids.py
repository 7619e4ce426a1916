"""Stable, unique, path-safe article ids and URL normalisation."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit, urlunsplit

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")  # a key the config names things by: a category, a source
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|spm|from|share_token|ref|src)$", re.IGNORECASE)
_EXT = re.compile(r"\.(s?html?|php|aspx?|jsp|cms)$", re.IGNORECASE)
_ID_PARAMS = ("id", "aid", "article_id", "articleid", "docid", "newsid", "nid", "p")
MAX_OWN_ID = 40  # a URL's own id longer than this is not taken: the hashed id is short and always safe
# names Windows reserves whatever their extension (CON.md cannot be checked out there)
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)


def normalise_url(url: str) -> str:
    """A URL in the form used for dedup: lower-case scheme and host, no fragment, no tracking params."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    netloc = parts.netloc.lower()
    if (scheme == "http" and netloc.endswith(":80")) or (scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    # the query as it was written, less tracking parameters: decoding it (as UTF-8) and encoding it again would
    # turn GBK bytes (?kw=%B1%B1%BE%A9) into replacement characters and "?12345" into "?12345="
    query = "&".join(p for p in parts.query.split("&") if p and not _TRACKING.match(unquote(p.split("=", 1)[0])))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def absolute_url(base: str, link: str, normalise: bool = True) -> str | None:
    """The absolute http(s) URL of a link found at `base`, normalised (`normalise_url`) unless told not to;
    None for one that cannot be fetched: another scheme, or not a URL at all (a broken IPv6 address, a host
    with an empty or over-long label)."""
    try:
        url = urljoin(base, link.strip())
    except ValueError:
        return None
    if not fetchable(url):
        return None
    return normalise_url(url) if normalise else url


_ORIGIN = re.compile(r"[^:/?#]*://[^/?#]*")
_UNSAFE = re.compile("[\t\r\n]")  # what urlsplit removes from a URL before it reads it


def origin_of(url: str) -> str:
    """The scheme://host[:port] that begins `url` (all that urlsplit reads its scheme, host and port from), for
    what depends on those alone to be worked out once a site; or `url` itself when it has none, or holds what
    urlsplit removes before it reads a URL (tabs, line ends)."""
    m = _ORIGIN.match(url)
    return m.group() if m is not None and not _UNSAFE.search(url) else url


def host_of(url: str) -> str:
    """The host of `url` as a connection names it (lower case, no trailing dot), or "" for none: worked out once a
    site (origin_of), not once a page."""
    return _host_of_origin(origin_of(url))


@functools.lru_cache(maxsize=4096)
def _host_of_origin(origin: str) -> str:
    try:
        return (urlsplit(origin).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def fetchable(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL whose host the resolver can be asked for (not a broken IPv6
    address, nor a host with an empty or over-long label)."""
    return fetchable_host(url) is not None


def fetchable_host(url: str) -> str | None:
    """The host of `url` (as urlsplit gives it: lower case) when fetchable(url), else None."""
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            return None
        host = parts.hostname
    except ValueError:
        return None
    return host if host and (host.startswith("[") or _resolvable(host)) else None


@functools.lru_cache(maxsize=4096)
def _resolvable(host: str) -> bool:
    try:
        host.encode("idna")  # what the resolver will be asked for: refused here rather than there
    except UnicodeError:
        return False
    return True


def is_safe_id(value: str) -> bool:
    return bool(_SAFE.match(value))


def is_portable_id(value: str) -> bool:
    """Safe, and a file name every system can hold (not one Windows reserves)."""
    return is_safe_id(value) and not _RESERVED.match(value)


def short_hash(text: str, n: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


@functools.lru_cache(maxsize=4096)
def url_id(url: str) -> str | None:
    """The id a URL carries itself (`…/a103612902.html` → `a103612902`), or None.

    A path segment counts when it is path-safe and has a digit in it (so a
    section name like `news` or `index` is not taken for an id).
    """
    parts = urlsplit(url)
    segs = [s for s in parts.path.split("/") if s]
    if segs:
        last = _EXT.sub("", segs[-1])
        if _own(last) and last.lower() != "index":
            return last
    for key, value in parse_qsl(parts.query):
        if key.lower() in _ID_PARAMS:
            own = f"{key.lower()}{value}" if value.isdigit() else value
            if _own(own):
                return own
    return None


def _own(value: str) -> bool:
    """A URL's own id: path-safe, short, with a digit in it (not a section name), and a file name every system
    can hold (not a name Windows reserves)."""
    return is_portable_id(value) and len(value) <= MAX_OWN_ID and re.search(r"\d", value) is not None


def article_id(canonical_url: str, taken: Callable[[str], bool] = lambda _id: False, own: str | None = None) -> str:
    """The URL's own id, unless another article has it; else a short hash of the URL. Always path-safe.

    `taken(id)` says whether that id already belongs to a different article, compared without case: pages whose
    names differ only in case would be one file on macOS and Windows, and a clone there would lose one.
    `own`: url_id(canonical_url) when the caller has it ("" for none).
    """
    own = url_id(canonical_url) if own is None else own
    if own and not taken(own):
        return own
    hashed = "h" + short_hash(normalise_url(canonical_url))
    if own and not taken(f"{own}-{hashed[1:7]}"):
        return f"{own}-{hashed[1:7]}"
    return hashed


def safe_id(value: str) -> str:
    """Raise if `value` could escape a folder or is not a plain id."""
    if not is_safe_id(value):
        raise ValueError(f"unsafe article id {value!r}")
    return value


@functools.cache
def _psl() -> object:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the list the package ships: no network


def site_of(url: str) -> str:
    """The registrable domain of a URL's host (www.bbc.co.uk → bbc.co.uk, by the Public Suffix List), or the host
    itself for an IP address or a host that is a public suffix (a.github.io is a site of its own)."""
    host = host_of(url)
    if not host:
        return ""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    return _psl().privatesuffix(host) or host  # type: ignore[attr-defined]


def same_site(a: str, b: str) -> bool:
    """Whether two URLs belong to one site (the same registrable domain): what a page may claim as its canonical
    address, and whose stored article its content may replace."""
    site = site_of(a)
    return bool(site) and site == site_of(b)
