"""One small NOTIFY per committed transaction that changed tenant-scoped rows.

PostgreSQL delivers a NOTIFY only when its transaction commits, so sending it on the session's own
connection from `before_commit` means a rolled-back write announces nothing. The payload names
rows (tenant, topic, op, ids) and the writing transaction's id, never their content: listeners
re-read what they need, and the payload stays far below PostgreSQL's 8000-byte limit.

NOTIFY takes a global lock at commit, so a transaction sends at most one, however many rows it
changed. Writes made with Core statements (`session.execute(update(...))`) fire no ORM events and
announce nothing: call `Hub.publish(Change.refresh(...))` after them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as SA
from sqlalchemy import event
from sqlalchemy import orm as ORM

from ..models import TenantScoped

CHANNEL = "forge_live"
# PostgreSQL refuses payloads of 8000 bytes or more.
MAX_PAYLOAD = 7999
PENDING_KEY = "forge_live_changes"
XID_SLOT = "0" * 20  # xid8 has at most 20 digits
NOTIFY = SA.text(
    """SELECT pg_notify(:channel, replace(:payload, :slot, '"x":"' || pg_current_xact_id()::text || '"'))"""
)

Op = Literal["created", "updated", "deleted", "refresh"]


@dataclass(frozen=True, slots=True)
class Change:
    """What happened to rows of one topic (a resource's table) in one tenant."""

    tenant: str
    topic: str
    op: Op
    ids: tuple[int, ...] = ()
    # Writing transaction (xid8 as text): lets a stream skip changes its snapshot already shows.
    xid: str | None = None

    @classmethod
    def refresh(cls, tenant: str, topic: str) -> Change:
        return cls(tenant, topic, "refresh")


Key = tuple[str, str, Op]


@dataclass
class Pending:
    """Rows changed so far in the session's transaction, per (sub)transaction that flushed them.

    A savepoint rolled back takes back only what was flushed inside it (SQLAlchemy reports that
    rollback with the same event as a full one); a savepoint released hands its rows to its parent.
    """

    rows: dict[ORM.SessionTransaction, dict[Key, set[int]]] = field(default_factory=dict)

    def add(self, transaction: ORM.SessionTransaction, obj: object, op: Op) -> None:
        if isinstance(obj, TenantScoped) and obj.tenant_id is not None and obj.id is not None:
            self.rows.setdefault(transaction, defaultdict(set))[(obj.tenant_id, _topic(obj), op)].add(obj.id)

    def forget(self, rolled_back: ORM.SessionTransaction) -> None:
        for transaction in list(self.rows):
            if _within(transaction, rolled_back):
                del self.rows[transaction]

    def changes(self) -> list[Change]:
        merged: dict[Key, set[int]] = defaultdict(set)
        for rows in self.rows.values():
            for key, ids in rows.items():
                merged[key] |= ids
        return [Change(t, topic, op, tuple(sorted(ids))) for (t, topic, op), ids in sorted(merged.items())]


def _within(transaction: ORM.SessionTransaction | None, ancestor: ORM.SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _topic(obj: TenantScoped) -> str:
    table: str = getattr(obj, "__tablename__")  # noqa: B009 - declared by every resource model
    return table


def encode(changes: list[Change], xid: str | None) -> str:
    """The NOTIFY payload; rows collapse to per-topic refreshes when the ids do not fit."""
    body = [[c.tenant, c.topic, c.op, list(c.ids)] for c in changes]
    payload = _dumps(body, xid)
    if len(payload.encode()) <= MAX_PAYLOAD:
        return payload
    topics = sorted({(c.tenant, c.topic) for c in changes})
    payload = _dumps([[tenant, topic, "refresh", []] for tenant, topic in topics], xid)
    if len(payload.encode()) <= MAX_PAYLOAD:
        return payload
    return _dumps([["*", "*", "refresh", []]], xid)


def _dumps(body: list[list[Any]], xid: str | None) -> str:
    return json.dumps({"v": 1, "x": xid, "c": body}, separators=(",", ":"))


def decode(payload: str) -> list[Change]:
    """Changes in a payload from `encode`; a tenant or topic of "*" means every one."""
    data = json.loads(payload)
    xid = data.get("x")
    return [Change(tenant, topic, op, tuple(ids), xid) for tenant, topic, op, ids in data["c"]]


def _pending(session: ORM.Session) -> Pending:
    pending = session.info.get(PENDING_KEY)
    if not isinstance(pending, Pending):
        pending = session.info[PENDING_KEY] = Pending()
    return pending


def _collect(session: ORM.Session, _context: Any) -> None:
    """Record what this flush wrote; `dirty` counts only rows whose attributes really changed."""
    pending = _pending(session)
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        return
    for obj in session.new:
        pending.add(transaction, obj, "created")
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            pending.add(transaction, obj, "updated")
    for obj in session.deleted:
        pending.add(transaction, obj, "deleted")


def _announce(session: ORM.Session) -> None:
    """Flush what is left, then send one NOTIFY on the transaction's own connection."""
    if session.in_nested_transaction():
        # SQLAlchemy fires before_commit for a savepoint released too: its rows stay pending for the
        # transaction's commit (a NOTIFY sent inside a savepoint dies with an enclosing one rolled back).
        return
    session.flush()
    pending = session.info.pop(PENDING_KEY, None)
    changes = pending.changes() if isinstance(pending, Pending) else []
    if not changes:
        return
    # One round trip: the transaction id is filled in by PostgreSQL, into a slot as wide as the
    # largest xid8, so the size guard in `encode` still holds.
    session.connection().execute(
        NOTIFY, {"channel": CHANNEL, "payload": encode(changes, XID_SLOT), "slot": f'"x":"{XID_SLOT}"'}
    )


def _forget(session: ORM.Session, previous_transaction: ORM.SessionTransaction) -> None:
    pending = session.info.get(PENDING_KEY)
    if isinstance(pending, Pending):
        pending.forget(previous_transaction)


LISTENERS = (("after_flush", _collect), ("before_commit", _announce), ("after_soft_rollback", _forget))


def install_change_events() -> None:
    """Announce committed writes of every Session in this process (idempotent)."""
    for name, listener in LISTENERS:
        if not event.contains(ORM.Session, name, listener):
            event.listen(ORM.Session, name, listener)
