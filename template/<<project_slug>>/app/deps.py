"""Request dependencies shared by every route: the caller and a session scoped to its tenant.

Who the caller is, is the project's own `caller.py`: the composition root puts its `current_caller`
on `app.state.caller`, so this module (and everything that imports it) never imports user code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import Caller
from .db import Database

CallerFunction = Callable[[Request], Awaitable[Caller]]


async def request_caller(request: Request) -> Caller:
    identify: CallerFunction = request.app.state.caller
    return await identify(request)


CallerDep = Annotated[Caller, Depends(request_caller)]


async def tenant_session(request: Request, caller: CallerDep) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.session(caller.tenant_id) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(tenant_session)]
