"""Which peers may say who the client is (X-Forwarded-*, X-Real-IP, Forwarded).

Only a trusted proxy in front of the gateway may: from anyone else those
headers are hearsay, dropped before the request goes upstream, and the
client is the connection's peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from shopmesh.gateway.server import Exchange

_CACHE_SIZE = 10_000


class Forwarding:
    """Trust decisions by peer address: every peer (``trust_all``) or the listed networks."""

    def __init__(self, *, trust_all: bool, trusted: Iterable[str] = ()) -> None:
        self._trust_all = trust_all
        self._networks = [ipaddress.ip_network(net.strip(), strict=False) for net in trusted]
        self._known: dict[str, bool] = {}

    def trusts(self, peer: str) -> bool:
        """Whether ``peer`` is a proxy whose forwarding headers are believed."""
        if self._trust_all:
            return True
        if not self._networks:
            return False
        known = self._known.get(peer)
        if known is None:
            try:
                address = ipaddress.ip_address(peer)
            except ValueError:
                known = False
            else:
                known = any(address in network for network in self._networks)
            if len(self._known) >= _CACHE_SIZE:
                self._known.clear()
            self._known[peer] = known
        return known

    def client_ip(self, exchange: Exchange) -> str:
        """The client's address behind a trusted peer: the last hop it appended, or the peer."""
        forwarded = exchange.fields.get(b"x-forwarded-for")
        if forwarded:
            # The right-most entry is the one our trusted proxy appended; the rest is hearsay.
            return forwarded.rsplit(b",", 1)[-1].strip().decode("latin-1")
        return exchange.client or "unknown"
