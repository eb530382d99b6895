"""Live pages: per resource an HTML page, its SSE stream, and the form posts its page sends.

The page is plain HTML with Datastar attributes. It subscribes with `@get(stream, {retry: 'always'})`
and sends the caller's Authorization header on every request (taken from the page request, where
`?token=` is accepted because a browser address bar cannot set headers).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any

import sqlalchemy as SA
from datastar_py import ServerSentEventGenerator as SSE
from datastar_py.consts import ElementPatchMode
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..crud import Resource, RowId, _commit
from ..db import Database, libpq_url
from ..deps import CallerDep, SessionDep
from ..settings import Settings
from .fields import FIELDS
from .forms import form_data
from .hub import PostgresHub
from .streams import Limiter, StreamStats, live_response
from .views import LiveView, template_environment

LIVE_PREFIX = "/live"


@dataclass
class Live:
    """Everything the live routes share in one process; `app.state.live`."""

    settings: Settings
    hub: PostgresHub
    limiter: Limiter
    views: dict[str, LiveView]

    @property
    def stats(self) -> StreamStats:
        return self.limiter.stats

    @classmethod
    async def start(
        cls, settings: Settings, database: Database, url: str, resources: tuple[Resource[Any], ...]
    ) -> Live:
        sse = settings.sse
        hub = PostgresHub(
            libpq_url(url),
            queue_size=sse.queue_size,
            backoff_min=sse.reconnect_min_seconds,
            backoff_max=sse.reconnect_max_seconds,
            keepalive_idle=sse.keepalive_idle_seconds,
        )
        await hub.start()
        templates = template_environment()
        views = {r.name: LiveView(r, FIELDS[r.name], database, templates, LIVE_PREFIX) for r in resources}
        return cls(settings, hub, Limiter(sse.max_connections, sse.max_per_user, StreamStats()), views)

    async def close(self) -> None:
        await self.hub.close()


def _live(request: Request) -> Live:
    live: Live = request.app.state.live
    return live


def _authorization(request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = request.query_params.get("token", "")
    return header or (f"Bearer {token}" if token else "")


def live_router(resources: tuple[Resource[Any], ...]) -> APIRouter:
    router = APIRouter(prefix=LIVE_PREFIX, include_in_schema=False)
    for resource in resources:
        _add_routes(router, resource)
    return router


def _add_routes(router: APIRouter, resource: Resource[Any]) -> None:
    name, path, model = resource.name, resource.path, resource.model

    @router.get(path, response_class=HTMLResponse, name=f"live_{name}_page")
    async def page(request: Request, caller: CallerDep) -> HTMLResponse:
        live = _live(request)
        view = live.views[name]
        rows, _snapshot = await view.list_html(caller.tenant_id)
        html = view.page.render(
            view=view,
            rows=rows,
            app_name=live.settings.app.name,
            datastar_url=live.settings.sse.datastar_url,
            stream_url=f"{view.url}/stream",
            signals=json.dumps({"_auth": _authorization(request)}),
        )
        return HTMLResponse(html)

    @router.get(f"{path}/stream", name=f"live_{name}_stream")
    async def stream(request: Request, caller: CallerDep) -> Response:
        live = _live(request)
        return live_response(
            live.views[name], caller.tenant_id, caller.user_id, live.hub, live.limiter, live.settings.sse
        )

    async def load(session: AsyncSession, row_id: int) -> Any:
        row = await session.scalar(SA.select(model).where(model.id == row_id))
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{name} not found")
        return row

    async def submit(
        request: Request,
        session: AsyncSession,
        schema: type[BaseModel],
        write: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        reset: bool = False,
    ) -> Response:
        """Validate the form with the resource's schema, write, commit; answer with the error line
        (and, with `reset`, an emptied form once the write succeeded).

        The change itself reaches this page (and every other) through its stream.
        """
        try:
            payload = schema.model_validate(form_data(FIELDS[name], await request.form()))
            await write(payload.model_dump(exclude_unset=True))
            await _commit(session, resource)
            done = live_errors(name, "")
            if reset:
                # Replaced, not morphed: a morph could keep what the user typed.
                form = _live(request).views[name].render_new_form()
                done += SSE.patch_elements(form, mode=ElementPatchMode.REPLACE).encode()
            return Response(done, media_type="text/event-stream")
        except ValidationError as exc:
            message = "\n".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())
        except HTTPException as exc:
            if exc.status_code == status.HTTP_404_NOT_FOUND:
                raise
            message = str(exc.detail)
        return Response(live_errors(name, message), media_type="text/event-stream")

    @router.post(path, name=f"live_{name}_create")
    async def create(request: Request, session: SessionDep) -> Response:

        async def write(data: dict[str, Any]) -> None:
            session.add(model(**data))

        return await submit(request, session, resource.create, write, reset=True)

    @router.post(f"{path}/{{row_id}}", name=f"live_{name}_update")
    async def update(request: Request, session: SessionDep, row_id: RowId) -> Response:
        row = await load(session, row_id)

        async def write(data: dict[str, Any]) -> None:
            for key, value in data.items():
                setattr(row, key, value)

        return await submit(request, session, resource.patch, write)

    @router.post(f"{path}/{{row_id}}/delete", name=f"live_{name}_delete")
    async def delete(session: SessionDep, row_id: RowId) -> Response:
        await session.delete(await load(session, row_id))
        await _commit(session, resource)
        return Response(live_errors(name, ""), media_type="text/event-stream")


def live_errors(name: str, message: str) -> bytes:
    """The page's error line, replaced (emptied on success)."""
    html = f'<p id="{name}-errors" class="errors">{escape(message)}</p>'
    return SSE.patch_elements(html).encode()
