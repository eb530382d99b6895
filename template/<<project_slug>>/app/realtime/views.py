"""Rows as Datastar `datastar-patch-elements` events: the whole list, or the rows one change touched.

A view reads the rows it shows from the database (the notification only names them) and renders
them with the app's Jinja2 templates. `render_change` is what the hub memoises per event, so it
depends on the change alone, never on the subscriber.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as SA
from datastar_py import ServerSentEventGenerator as SSE
from datastar_py.consts import ElementPatchMode

from ..db import Database
from ..schemas import Resource
from .events import Change
from .forms import FormField

# Forge's templates, and the project's own folder beside `app/`, which wins for any name it holds.
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
OWN_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A live page shows at most this many rows (the oldest first); use the JSON API to page further.
MAX_ROWS = 500


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([OWN_TEMPLATES, TEMPLATES]),
        autoescape=jinja2.select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL snapshot (`pg_current_snapshot()`): which transactions a read could see."""

    xmin: int
    xmax: int
    running: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, running = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in running.split(",") if x))

    def shows(self, xid: str) -> bool:
        """True when the transaction `xid` had committed before this snapshot was taken."""
        value = int(xid)
        return value < self.xmin or (value < self.xmax and value not in self.running)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Event bytes, and for a whole-list render the snapshot the list was read in."""

    data: bytes
    snapshot: Snapshot | None = None


class SharedReads:
    """Whole-list reads shared by the streams of one tenant that ask at about the same time.

    At most one read per tenant runs; streams that ask meanwhile wait for the next one, which
    starts after they asked (and so after they subscribed): its snapshot is valid for all of them.
    Reconnect storms (a deploy, a network blip) then cost a few reads rather than one per stream.
    """

    def __init__(self, read: Callable[[str], Awaitable[Rendered]]) -> None:
        self._read = read
        self._next: dict[str, asyncio.Future[Rendered]] = {}
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.reads = 0

    async def get(self, tenant: str) -> Rendered:
        future = self._next.get(tenant)
        if future is None:
            future = self._next[tenant] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._run(tenant, future))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(future)

    async def _run(self, tenant: str, future: asyncio.Future[Rendered]) -> None:
        previous = self._running.get(tenant)
        if previous is not None:
            await asyncio.wait([previous])
        del self._next[tenant]  # from here on, new askers wait for the next read
        this = asyncio.current_task()
        assert this is not None
        self._running[tenant] = this
        try:
            self.reads += 1
            future.set_result(await self._read(tenant))
        except Exception as exc:  # every waiter gets the failure; the next read starts afresh
            future.set_exception(exc)
        finally:
            if self._running.get(tenant) is this:
                del self._running[tenant]


class LiveView:
    """How one resource looks on its live page."""

    def __init__(
        self,
        resource: Resource[Any],
        fields: Sequence[FormField],
        database: Database,
        templates: jinja2.Environment,
        prefix: str,
    ) -> None:
        self.resource = resource
        self.name = resource.name
        self.fields = fields
        self.url = prefix + resource.path
        self._database = database
        self._row = templates.select_template([f"live/{self.name}.row.html", "live/row.html"])
        self.page = templates.get_template("live/page.html")
        self._new_form = templates.get_template("live/new.html")
        self.shared_reads = SharedReads(self.render_all)

    def row_id(self, row_id: int) -> str:
        return f"{self.name}-{row_id}"

    @property
    def rows_id(self) -> str:
        return f"{self.name}-rows"

    async def first_state(self, tenant: str) -> Rendered:
        """What a new stream sends first; shared with streams of the tenant connecting meanwhile."""
        return await self.shared_reads.get(tenant)

    async def render_all(self, tenant: str) -> Rendered:
        """The whole list as an event, with the snapshot it was read in."""
        html, snapshot = await self.list_html(tenant)
        return Rendered(SSE.patch_elements(html).encode(), snapshot)

    async def list_html(self, tenant: str) -> tuple[str, Snapshot]:
        """The whole list, read in one snapshot so changes it already shows can be skipped."""
        model = self.resource.model
        async with self._database.session(tenant) as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            snapshot = Snapshot.parse(str(await session.scalar(SA.text("SELECT pg_current_snapshot()"))))
            rows = (await session.scalars(SA.select(model).order_by(model.id).limit(MAX_ROWS))).all()
        html = "\n".join([f'<tbody id="{self.rows_id}">', *map(self.render_row, rows), "</tbody>"])
        return html, snapshot

    async def render_change(self, change: Change) -> Rendered:
        if change.op == "refresh":
            return await self.render_all(change.tenant)
        if change.op == "deleted":
            return Rendered(self._remove(change.ids))
        model = self.resource.model
        async with self._database.session(change.tenant) as session:
            rows = (
                await session.scalars(SA.select(model).where(model.id.in_(change.ids)).order_by(model.id))
            ).all()
        gone = sorted(set(change.ids) - {row.id for row in rows})
        parts = [self._remove(gone)] if gone and change.op == "updated" else []
        if rows:
            html = "\n".join(self.render_row(row) for row in rows)
            if change.op == "created":
                parts.append(
                    SSE.patch_elements(
                        html, selector=f"#{self.rows_id}", mode=ElementPatchMode.APPEND
                    ).encode()
                )
            else:
                parts.append(SSE.patch_elements(html).encode())
        return Rendered(b"".join(parts))

    def render_new_form(self) -> str:
        return self._new_form.render(view=self)

    def render_row(self, row: Any) -> str:
        return self._row.render(view=self, row=row)

    def _remove(self, ids: tuple[int, ...] | list[int]) -> bytes:
        selector = ", ".join(f"#{self.row_id(i)}" for i in ids)
        return SSE.remove_elements(selector).encode()
