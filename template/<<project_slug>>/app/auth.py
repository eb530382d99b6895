"""Who is calling: a user in a tenant. The default proof is a bearer token signed with app.secret_key.

Swap the proof in the project's own `caller.py`; everything else only sees `Caller`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from fastapi import HTTPException, Request, status

ALGORITHM = "HS256"
AUDIENCE = "forge"


@dataclass(frozen=True, slots=True)
class Caller:
    """A user in a tenant. `claims` holds the verified token's claims, for your own checks (roles...)."""

    user_id: str
    tenant_id: str
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


def issue_token(
    secret: str, user_id: str, tenant_id: str, ttl_seconds: int, extra: Mapping[str, Any] | None = None
) -> str:
    """A signed token; `extra` adds claims of your own (e.g. {"roles": ["admin"]})."""
    now = int(time.time())
    claims = {
        **(extra or {}),
        "sub": user_id,
        "tenant": tenant_id,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def verify_token(secret: str, token: str) -> Caller:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.PyJWTError:
        raise _unauthorized("invalid token") from None
    user, tenant = claims.get("sub"), claims.get("tenant")
    if not isinstance(user, str) or not isinstance(tenant, str) or not user or not tenant:
        raise _unauthorized("token lacks sub or tenant")
    if len(tenant) > 64:
        raise _unauthorized("tenant id longer than 64 characters")
    return Caller(user_id=user, tenant_id=tenant, claims=claims)


def bearer_token(request: Request) -> str:
    """The token from `Authorization: Bearer ...`, or `?token=` (EventSource cannot set headers)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    token = request.query_params.get("token", "")
    if token:
        return token
    raise _unauthorized("missing bearer token")


async def bearer_caller(request: Request) -> Caller:
    return verify_token(request.app.state.settings.app.secret_key, bearer_token(request))
