"""What every priority endpoint module needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from sportello.http.auth import Principal
from sportello.runtime import Context, context_of

PriorityContext = Annotated[Context, Depends(context_of("priority"))]


def who(principal: Principal) -> str:
    """How a change is attributed (a person's subject, or an API key's role and last characters)."""
    return principal.actor
