"""The web dashboard at ``/ui``: a static shell (HTML, ES modules, CSS) shipped in the package.

The shell is public, as a login page is, and carries no data: the page asks for a bearer token
and reads everything from the Kubernetes API with it, so the dashboard can show exactly what
the token may see and nothing more. Every answer here carries a strict Content-Security-Policy
(no inline script or style, no framing) and ``nosniff``; only the files listed are served.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from apimachinery.errors import ApiError

UI_PATH = "/ui"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


def asset(name: str) -> bytes | None:
    """The shipped file ``name`` (a plain file name of a known type), or None."""
    if "/" in name or name.startswith(".") or not name.endswith(tuple(MEDIA_TYPES)):
        return None
    path = resources.files(__package__).joinpath("static", name)
    return path.read_bytes() if path.is_file() else None


def _answer(name: str) -> Response:
    body = asset(name)
    if body is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    media = MEDIA_TYPES["." + name.rsplit(".", 1)[1]]
    return Response(body, media_type=media, headers=SECURITY_HEADERS)


@router.get(UI_PATH)
async def ui_root() -> Response:
    return RedirectResponse(f"{UI_PATH}/", status_code=302, headers=SECURITY_HEADERS)


@router.get(UI_PATH + "/")
async def ui_index() -> Response:
    return _answer("index.html")


@router.get(UI_PATH + "/{name}")
async def ui_file(name: str) -> Response:
    return _answer(name)
