"""What every streaming subresource does with the client's WebSocket once the kubelet is dialled.

A refusal before the handshake is accepted is the Status as an HTTP answer (ASGI's
``websocket.http.response``), which kubectl and the Python client report as they report any
Status. After it, messages are passed on unchanged in both directions (binary stays binary,
text stays text), so the framing is the kubelet's, until either side closes; then both are.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from apimachinery.errors import ApiError


async def deny(ws: WebSocket, err: ApiError) -> None:
    """Refuse the upgrade with the Status, as an HTTP answer."""
    await ws.send_denial_response(Response(err.status_json(), status_code=err.code, media_type="application/json"))


async def relay(ws: WebSocket, upstream: ClientConnection) -> None:
    """Both directions until either side closes; then the other is closed too."""

    async def client_to_kubelet() -> None:
        while True:
            try:
                message = await ws.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            try:
                await upstream.send(data if data is not None else message.get("text") or "")
            except ConnectionClosed:
                return

    async def kubelet_to_client() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in upstream:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_text(message)

    tasks = [asyncio.create_task(client_to_kubelet()), asyncio.create_task(kubelet_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
        with contextlib.suppress(Exception):
            await ws.close()
