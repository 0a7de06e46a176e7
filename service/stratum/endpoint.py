"""Where a pool listens: ``PoolEndpoint``, the ``stratum+tcp://`` / ``stratum+ssl://`` URL
parser, and ``same_host`` (the test a ``client.reconnect`` must pass to be followed
without ``--pool-allow-redirect``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.stratum.errors import StratumJobError

__all__ = ["PoolEndpoint", "parse_pool_url", "same_host"]


@dataclass(frozen=True, slots=True)
class PoolEndpoint:
    """Where a pool listens and who we are to it."""

    host: str
    port: int
    tls: bool
    user: str
    password: str = "x"

    @property
    def url(self) -> str:
        return f"stratum+{'ssl' if self.tls else 'tcp'}://{self.host}:{self.port}"


def parse_pool_url(url: str, user: str, password: str = "x") -> PoolEndpoint:
    """``stratum+tcp://HOST:PORT`` or ``stratum+ssl://HOST:PORT`` as an endpoint.

    Raises
    ------
    StratumJobError
        Naming ``pool`` for another scheme, a missing host or a bad port.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("stratum+tcp", "stratum+ssl", "stratum+tls"):
        raise StratumJobError("pool", f"must be stratum+tcp:// or stratum+ssl://, got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise StratumJobError("pool", f"has a bad port: {url!r}") from None
    if parts.username is not None or parts.password is not None:
        # The URL is a metric label and goes into logs and status: no secret may ride in it.
        raise StratumJobError(
            "pool", "must not carry USER:PASSWORD@; give them as --pool-user / --pool-password"
        )
    if not parts.hostname or port is None:
        raise StratumJobError("pool", f"needs HOST:PORT: {url!r}")
    if not user:
        raise StratumJobError("pool_user", "must not be empty")
    return PoolEndpoint(parts.hostname, port, parts.scheme != "stratum+tcp", user, password)


def same_host(a: str, b: str) -> bool:
    """Whether two host names (or addresses) name the same host, spelled alike.

    Names compare without case and a trailing dot; addresses as addresses
    (``[::1]`` is ``::1``). A name and an address are different hosts: what a
    name resolves to is the DNS's word, not the pool's.
    """

    def norm(host: str) -> str | ipaddress.IPv4Address | ipaddress.IPv6Address:
        host = host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()
        try:
            return ipaddress.ip_address(host)
        except ValueError:
            return host

    return norm(a) == norm(b)
