"""Live pages: per resource an HTML page, its SSE stream, and the form posts its page sends.

The page is plain HTML with Datastar attributes. It subscribes with `@get(stream, {retry: 'always'})`
and sends the caller's Authorization header on every request (taken from the page request, where
`?token=` is accepted because a browser address bar cannot set headers).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from datastar_py import ServerSentEventGenerator as SSE
from datastar_py.consts import ElementPatchMode
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from .. import writes
from ..auth import bearer_token
from ..crud import RowId
from ..db import Database, libpq_url
from ..deps import CallerDep, SessionDep
from ..rules import Rules
from ..schemas import Resource
from ..settings import Settings
from .forms import form_data, form_fields
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
        views = {r.name: LiveView(r, form_fields(r), database, templates, LIVE_PREFIX) for r in resources}
        return cls(settings, hub, Limiter(sse.max_connections, sse.max_per_user, StreamStats()), views)

    async def close(self) -> None:
        await self.hub.close()


def _live(request: Request) -> Live:
    live: Live = request.app.state.live
    return live


def live_router(resources: tuple[Resource[Any], ...], rules: Mapping[str, Rules]) -> APIRouter:
    router = APIRouter(prefix=LIVE_PREFIX, include_in_schema=False)
    for resource in resources:
        _add_routes(router, resource, rules[resource.name])
    return router


def _add_routes(router: APIRouter, resource: Resource[Any], rules: Rules) -> None:
    name, path = resource.name, resource.path

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
            signals=json.dumps({"_auth": f"Bearer {bearer_token(request)}"}),
        )
        return HTMLResponse(html)

    @router.get(f"{path}/stream", name=f"live_{name}_stream")
    async def stream(request: Request, caller: CallerDep) -> Response:
        live = _live(request)
        return live_response(
            live.views[name], caller.tenant_id, caller.user_id, live.hub, live.limiter, live.settings.sse
        )

    async def submit(
        request: Request,
        schema: type[BaseModel],
        write: Callable[[dict[str, Any]], Awaitable[object]],
        *,
        reset: bool = False,
    ) -> Response:
        """Validate the form with the resource's schema, then write through the resource's one write
        path (rules, commit); answer with the error line (and, with `reset`, an emptied form once the
        write succeeded).

        The change itself reaches this page (and every other) through its stream.
        """
        try:
            payload = schema.model_validate(form_data(form_fields(resource), await request.form()))
            await write(payload.model_dump(exclude_unset=True))
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
    async def create(request: Request, session: SessionDep, caller: CallerDep) -> Response:
        async def write(data: dict[str, Any]) -> object:
            return await writes.create(session, resource, rules, caller, data)

        return await submit(request, resource.create, write, reset=True)

    @router.post(f"{path}/{{row_id}}", name=f"live_{name}_update")
    async def update(request: Request, session: SessionDep, caller: CallerDep, row_id: RowId) -> Response:
        async def write(data: dict[str, Any]) -> object:
            return await writes.update(session, resource, rules, caller, row_id, data)

        return await submit(request, resource.patch, write)

    @router.post(f"{path}/{{row_id}}/delete", name=f"live_{name}_delete")
    async def delete(session: SessionDep, caller: CallerDep, row_id: RowId) -> Response:
        await writes.delete(session, resource, rules, caller, row_id)
        return Response(live_errors(name, ""), media_type="text/event-stream")


def live_errors(name: str, message: str) -> bytes:
    """The page's error line, replaced (emptied on success)."""
    html = f'<p id="{name}-errors" class="errors">{escape(message)}</p>'
    return SSE.patch_elements(html).encode()
