"""Secrets out of every message: the user:password part of URLs, credential-like query parameters, and values
the caller names (a token expanded from the environment).

Used wherever a URL from the config can reach a log line, an error, `status` or the store: remotes, the proxy,
config errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")
# a query parameter whose name says it is a credential (?private_token=, &access_token=, ?sig=, ?api_key=…)
_SECRET_PARAM = re.compile(
    r"(?i)(?P<name>[?&;][a-z0-9_.-]*(?:token|passw(?:or)?d|pwd|secret|api[_-]?key|access[_-]?key|auth|"
    r"signature|credential)[a-z0-9_.-]*=|[?&;]sig=)[^&#\s'\"]*")
SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every URL's user:password@ part, every credential-like query value and every secret given
    replaced by ***."""
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, "***")
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    return _SECRET_PARAM.sub(r"\g<name>***", text)


def secret_in_query(url: str) -> bool:
    """Whether a URL carries a credential in its query string."""
    return bool(_SECRET_PARAM.search(url))


def ssh_password(url: str) -> bool:
    """Whether an ssh:// URL holds a password (ssh would be handed it on its command line)."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in SSH_SCHEMES and parts.password is not None
    except ValueError:
        return False
