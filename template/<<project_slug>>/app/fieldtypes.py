"""Request-schema types for resource fields: each rejects as a 422 what PostgreSQL would fail with a 500."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, JsonValue, StringConstraints

Date = datetime.date
DateTime = datetime.datetime
Decimal = decimal.Decimal
UUID = uuid.UUID

__all__ = [
    "AwareDateTime",
    "BigInt",
    "Date",
    "DateTime",
    "Decimal",
    "JsonDocument",
    "JsonValue",
    "LongText",
    "Money",
    "Real",
    "ShortText",
    "UUID",
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000) characters")
    return value


def _no_nul_inside(value: Any) -> Any:
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul_inside(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul_inside(item)
    return value


ShortText = Annotated[str, StringConstraints(max_length=255), AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(max_length=1_000_000), AfterValidator(_no_nul)]
BigInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Real = Annotated[float, Field(allow_inf_nan=False)]
# NUMERIC(20, 4): 16 digits before the point, 4 after.
Money = Annotated[decimal.Decimal, Field(max_digits=20, decimal_places=4, allow_inf_nan=False)]
AwareDateTime = AwareDatetime
JsonDocument = Annotated[JsonValue, AfterValidator(_no_nul_inside)]
