"""How podctl reports failures: worded like kubectl, so its users recognise them.

Server failures carry a Status and print as ``Error from server (NotFound): ...``; everything
the client itself refuses (a bad flag value, a manifest error, a missing kubeconfig) prints as
``error: ...``. Both exit 1, like kubectl.
"""

from __future__ import annotations

from apimachinery.errors import ApiError


class PodctlError(Exception):
    """A user-facing failure detected on the client side; the message is printed as is."""


class TimeoutExceeded(PodctlError):
    """A wait (``--timeout``) ran out before the condition held."""


def format_api_error(err: ApiError) -> str:
    """kubectl's rendering of a Status: the reason in brackets, then the server's message.

    Transport failures never reached a server, so they read as a client error instead.
    """
    if err.code == 503 and err.message.startswith(("cannot reach the apiserver", "connection to the apiserver")):
        return f"error: {err.message}"
    message = err.message or f"the server responded with status {err.code}"
    if err.reason in ("", "Unknown"):
        return f"Error from server: {message}"
    return f"Error from server ({err.reason}): {message}"
