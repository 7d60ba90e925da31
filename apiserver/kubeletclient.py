"""How the API server reaches a kubelet: HTTPS, the kubelet verified, the server's certificate presented.

A kubelet's address comes from its Node's status, which a client could have forged. So the
connection is trusted only if the peer proves, during the TLS handshake and before any byte of
the request leaves, that it holds a certificate from the kubelet-serving CA naming that node: the TLS
server name checked is the node name (every kubelet serving certificate carries it as a DNS
name; :mod:`apiserver.nodejoin`), whatever address is dialled. This is stricter than
kube-apiserver's ``--kubelet-certificate-authority``, which checks the dialled address: a
forged address pointing at another node's kubelet fails here too. Then the subject must be
``system:node:<name>``. The server authenticates with its client certificate
(``apiserver-kubelet-client``), never a bearer token, so a listener that is not the node's
kubelet receives nothing it can reuse.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from apiserver.authn.user import NODE_PREFIX


@dataclass(frozen=True)
class KubeletTls:
    ca: Path  # the kubelet-serving CA: kubelets' serving certificates chain to it, nothing else does
    cert: Path  # apiserver-kubelet-client.crt
    key: Path

    @cached_property
    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def request_extensions(node: str) -> dict[str, Any]:
    """httpx request extensions that make TLS verify the node name instead of the dialled address."""
    return {"sni_hostname": node}


def peer_names_node(peer: dict[str, Any] | None, node: str) -> bool:
    """The verified peer certificate's subject is ``CN=system:node:<node>``."""
    if not peer:
        return False
    common = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
    return common == [NODE_PREFIX + node]
