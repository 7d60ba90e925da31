"""Names outside the cluster: relayed to the host's resolvers, as CoreDNS's ``forward`` plugin does.

The upstreams are the host's ``/etc/resolv.conf`` nameservers, read by the kubelet on the
host, so a local stub such as 127.0.0.53 works. Each upstream is tried in order over UDP with
a timeout (a truncated answer is asked again over TCP); the first answer is relayed as it is.
At most ``max_concurrent`` queries are in flight: beyond that a query is refused at once
(REFUSED, CoreDNS's ``max_concurrent``), so a flood costs neither memory nor upstream load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message

log = logging.getLogger(__name__)

TIMEOUT = 2.0
MAX_CONCURRENT = 200


class Overloaded(Exception):
    """Too many forwarded queries are in flight."""


class Unreachable(Exception):
    """No upstream answered in time."""


@dataclass
class Forwarder:
    upstreams: list[tuple[str, int]]
    timeout: float = TIMEOUT
    max_concurrent: int = MAX_CONCURRENT
    in_flight: int = 0

    async def forward(self, query: dns.message.Message) -> dns.message.Message:
        """The first upstream's answer; raises Overloaded or Unreachable."""
        if self.in_flight >= self.max_concurrent:
            raise Overloaded
        if not self.upstreams:
            raise Unreachable
        self.in_flight += 1
        try:
            for host, port in self.upstreams:
                try:
                    return await self._ask(query, host, port)
                except (dns.exception.DNSException, OSError, EOFError) as err:
                    log.debug("upstream %s:%d did not answer %s: %s", host, port, query.question, err)
            raise Unreachable
        finally:
            self.in_flight -= 1

    async def _ask(self, query: dns.message.Message, host: str, port: int) -> dns.message.Message:
        response = await dns.asyncquery.udp(
            query, host, timeout=self.timeout, port=port, ignore_unexpected=True
        )
        if response.flags & dns.flags.TC:
            response = await dns.asyncquery.tcp(query, host, timeout=self.timeout, port=port)
        return response
