"""No request into the operator's network unless the config names the host.

A link in a feed or page, a redirect or an image URL may point at an address only the mirror's machine can
reach (its loopback, the LAN, a cloud metadata service): fetching and publishing what answers there leaks it.
So an address that is not public (loopback, private, link-local, multicast, reserved, unspecified, shared,
IPv4 seen through IPv6) is refused, unless the URL's host is one the config names: a source's own host,
`fetch.allow_hosts`, the proxy. The check is on the addresses the connection is made to (the resolver hands
the connector only those that pass), so a name that resolves to a public address when checked and a private
one when connected (DNS rebinding) does not get through; an address written in the URL is checked as it is.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ..ids import host_of


class AddressRefused(OSError):
    """A host that resolves only to addresses newsmirror does not fetch from (not named in the config)."""


@functools.lru_cache(maxsize=1024)  # (asked for every request: a run talks to a few hosts)
def not_public(address: str) -> str | None:
    """Why `address` (an IP address) is not fetched from without the config naming its host, or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, what in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
                       ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
                       ("is_private", "a private"), ("is_reserved", "a reserved")):
        if getattr(ip, test):
            return f"{what} address"
    return None if ip.is_global else "not a public address"


def named_hosts(urls: Iterable[str | None], hosts: Iterable[str] = ()) -> frozenset[str]:
    """The hosts of the URLs the config (or the command line) names, and the hosts it lists."""
    return frozenset({h for h in (host_of(u) for u in urls if u) if h}
                     | {h.strip().strip("[]").rstrip(".").lower() for h in hosts if h.strip()})


def refusal(host: str, address: str, allowed: frozenset[str]) -> str | None:
    """The reason a connection to `address` (for the URL host `host`) is refused, or None."""
    if host.strip("[]").lower() in allowed:
        return None
    why = not_public(address)
    if why is None:
        return None
    shown = host if host.strip("[]") == address else f"{host} ({address})"
    return (f"refused: {shown} is {why}, and the config does not name this host (a source's url or "
            "fetch.allow_hosts); newsmirror fetches nothing else on the operator's network")


class GuardedResolver(AbstractResolver):
    """The default resolver, handing the connector only the addresses `refusal` lets through."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if host.lower().rstrip(".") in self.allowed:
            return found
        keep = [r for r in found if refusal(host, r["host"], self.allowed) is None]
        if not keep:
            reason = refusal(host, found[0]["host"], self.allowed) if found else f"refused: {host} has no address"
            raise AddressRefused(reason)
        return keep

    async def close(self) -> None:
        await self._inner.close()
