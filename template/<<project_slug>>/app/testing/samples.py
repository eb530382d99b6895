"""Request bodies for every resource, derived from the field types of each resource."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from ..resources import RESOURCES as APP_RESOURCES

# resource -> path, and field -> (type, modifiers): read from each resource's one description.
RESOURCES: dict[str, dict[str, Any]] = {
    r.name: {
        "path": f"/api{r.path}",
        "fields": {
            f.name: (f.kind, frozenset(m for m, on in (("optional", f.optional), ("unique", f.unique)) if on))
            for f in r.fields
        },
    }
    for r in APP_RESOURCES
}


def valid(kind: str, n: int) -> Any:
    """A value of the type; different n give different values (unique fields stay unique)."""
    samples: dict[str, Any] = {
        "str": f"value-{n}-{uuid.uuid4().hex[:6]}",
        "text": f"some longer text {n}\nwith a second line",
        "int": 1000 + n,
        "float": n + 0.5,
        "bool": n % 2 == 0,
        "decimal": f"{n}.25",
        "date": (datetime.date(2024, 1, 1) + datetime.timedelta(days=n)).isoformat(),
        "datetime": (
            datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
        ).isoformat(),
        "uuid": str(uuid.uuid4()),
        "json": {"n": n, "tags": ["a", "b"]},
    }
    return samples[kind]


# Values of the right JSON shape that PostgreSQL would refuse, or of the wrong shape: all must be 422.
INVALID: dict[str, list[Any]] = {
    "str": ["x" * 256, "nul\x00byte", 12],
    "text": ["nul\x00byte", ["a"]],
    "int": [2**63, "twelve", 1.5],
    "float": ["NaN", "Infinity", "abc"],
    "bool": ["maybe", [1]],
    "decimal": ["1e30", "NaN", "abc"],
    "date": ["2024-02-30", "not a date"],
    "datetime": ["2024-01-01T00:00:00", "not a time"],
    "uuid": ["not-a-uuid", 5],
    "json": [{"k": "nul\x00byte"}],
}


def body(resource: str, n: int) -> dict[str, Any]:
    return {field: valid(kind, n) for field, (kind, _mods) in RESOURCES[resource]["fields"].items()}


def same(kind: str, sent: Any, got: Any) -> bool:
    """Compare what was sent with what the API returned, modulo JSON representation."""
    if kind == "decimal":
        return decimal.Decimal(str(sent)) == decimal.Decimal(str(got))
    if kind == "datetime":
        return datetime.datetime.fromisoformat(sent) == datetime.datetime.fromisoformat(got)
    return bool(sent == got)
