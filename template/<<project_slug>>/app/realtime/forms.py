"""HTML form values <-> resource fields: what an <input> shows and how its text becomes request data.

Validation stays with the resource's pydantic schemas; this only undoes what HTML forms do to
values (everything is text, an unchecked box is absent, an empty input means "no value").
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..schemas import Resource

INPUT_TYPES = {
    "int": "number",
    "float": "number",
    "bool": "checkbox",
    "date": "date",
    "datetime": "datetime-local",
}


@dataclass(frozen=True, slots=True)
class FormField:
    """How one field of a resource (its `FieldSpec`) shows in a form and comes back from it."""

    name: str
    kind: str
    optional: bool = False

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.kind, "text")

    @property
    def multiline(self) -> bool:
        return self.kind in ("text", "json")

    @property
    def step(self) -> str | None:
        return "any" if self.kind == "float" else None

    def shown(self, value: Any) -> str:
        """The value as an input's text."""
        if value is None:
            return ""
        if self.kind == "json":
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, datetime.datetime):
            # datetime-local has no zone: show UTC, and read it back as UTC.
            return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        return str(value)

    def parsed(self, text: str | None) -> Any:
        """The request value for an input's text (None: absent or empty)."""
        if self.kind == "bool":
            return text is not None and text.lower() in ("on", "true", "1", "yes")
        if text is None or (text == "" and self.optional):
            return None
        if self.kind == "json":
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text  # let the schema report it
        if self.kind == "datetime":
            try:
                moment = datetime.datetime.fromisoformat(text)
            except ValueError:
                return text
            return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
        return text


def form_data(fields: Sequence[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """Request data for a resource schema from submitted form values; unknown names are kept for the
    schema to refuse."""
    known = {f.name for f in fields}
    data: dict[str, Any] = {k: v for k, v in form.items() if k not in known}
    for f in fields:
        value = form.get(f.name)
        data[f.name] = f.parsed(value if isinstance(value, str) else None)
    return data


def form_fields(resource: Resource[Any]) -> list[FormField]:
    return [FormField(f.name, f.kind, optional=f.optional) for f in resource.fields]
