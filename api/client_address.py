"""The client's address: the socket's peer, or what a trusted reverse proxy says it is.

``X-Forwarded-For`` is believed only when the connection comes from a proxy listed in
``GRIDBILL_TRUSTED_PROXIES`` (addresses or CIDR networks), and only as far as the chain
of trusted proxies goes: reading the header right to left, the first address that is not
a trusted proxy is the client. Anyone else can write any header, so without the setting
the header is ignored and the peer address is used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

UNKNOWN = "unknown"


def _trusted(address: str, networks: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network) for network in networks)


def client_address(connection: HTTPConnection, trusted_proxies: Sequence[str]) -> str:
    peer = connection.client.host if connection.client else UNKNOWN
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in connection.headers.get("x-forwarded-for", "").split(",")]
    client = peer
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a malformed hop: trust nothing further left
        client = hop
        if not _trusted(hop, trusted_proxies):
            break
    return client
