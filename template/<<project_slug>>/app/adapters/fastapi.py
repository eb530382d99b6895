"""FastAPI internals Forge relies on, each with why.

- `scope["fastapi"]["effective_route_context"]` (fastapi/routing.py, `_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY`):
  FastAPI resolves included routers lazily, so `scope["route"]` holds the route as declared, without
  the prefixes of the routers that included it; the effective route, prefixes and all, is recorded
  only under this private key. HTTP metrics need the full template (`/api/products/{id}`) as their
  route label. If an upgrade drops the key, `matched_route_template` falls back to the declared
  route, and tests/forge/test_observe.py fails on its prefixed probe route.
"""

from __future__ import annotations

from starlette.types import Scope

EFFECTIVE_ROUTE_KEY = "effective_route_context"


def matched_route_template(scope: Scope) -> str | None:
    """The path template of the route FastAPI matched, router prefixes included; None if none matched."""
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get(EFFECTIVE_ROUTE_KEY) if isinstance(fastapi_scope, dict) else None
    for route in (effective, scope.get("route")):
        path = getattr(route, "path_format", None)
        if isinstance(path, str) and path:
            return path
    return None
