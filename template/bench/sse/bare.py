"""The ceiling: a bare sse-starlette endpoint fed by in-process queues, no database, no rendering.

`run.py` measures it the same way as the real service: GET /stream holds a stream, POST /fire puts
one event of the given size into every stream's queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

QUEUES: set[asyncio.Queue[bytes]] = set()
FIRST = b"event: datastar-patch-elements\ndata: elements <tbody id='rows'></tbody>\n\n"


async def stream(request: Request) -> EventSourceResponse:
    async def events() -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(64)
        QUEUES.add(queue)
        try:
            yield FIRST
            while True:
                yield await queue.get()
        finally:
            QUEUES.discard(queue)

    return EventSourceResponse(events(), ping=60, sep="\n")


async def fire(request: Request) -> Response:
    size = int(request.query_params.get("size", "1000"))
    event = b"event: datastar-patch-elements\ndata: mode append\ndata: elements " + b"x" * size + b"\n\n"
    for queue in tuple(QUEUES):
        if not queue.full():
            queue.put_nowait(event)
    return Response(status_code=204)


app = Starlette(routes=[Route("/stream", stream), Route("/fire", fire, methods=["POST"])])
