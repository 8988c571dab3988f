"""What every priority endpoint module needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sportello.http.auth import Principal
from sportello.runtime import Context, context_of

PriorityContext = Annotated[Context, Depends(context_of("priority"))]


def who(principal: Principal) -> str:
    """How a change is attributed (the token's role and last characters, never the token)."""
    return f"{principal.role}:…{principal.token_hint}"
