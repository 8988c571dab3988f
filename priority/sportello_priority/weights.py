"""How much each factor may add to a priority, and who the weights apply to.

A priority is ``base + sum(weight x value)`` with every value in [0, 1], so with weights that add up
to at most 100 the priority stays in 0..100 and every point of it is explained by one factor. Weights
are kept in profiles: ``default``, ``brand:<account>`` (e.g. ``brand:x:2244994945``) and
``team:<name>``. The most specific profile that exists wins: team, then brand, then default.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

FACTORS = ("sentiment", "urgency", "intent", "influence", "sla")
DEFAULT_PROFILE = "default"
_SCOPE = re.compile(r"^(default|brand:[^\s]{1,200}|team:[^\s]{1,200})$")

Weight = Annotated[float, Field(ge=0, le=100)]


class Weights(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base: Weight = Field(default=5, description="Every message gets an answer")
    sentiment: Weight = Field(default=25, description="x P(negative) of the message")
    urgency: Weight = Field(default=20, description="x urgency cues (0..1)")
    intent: Weight = Field(default=15, description="x importance of the intent (legal threat 1 .. spam 0)")
    influence: Weight = Field(default=20, description="x audience, press list, CRM tier, history")
    sla: Weight = Field(default=15, description="x share of the SLA time used (1 = breached)")

    @model_validator(mode="after")
    def _at_most_100(self) -> Weights:
        total = self.base + sum(getattr(self, factor) for factor in FACTORS)
        if total > 100:
            raise ValueError(f"weights add up to {total:g}; at most 100 keeps priorities in 0..100")
        return self


DEFAULT_WEIGHTS = Weights()


def valid_profile(name: str) -> bool:
    return bool(_SCOPE.match(name))


def candidate_profiles(team: str | None, account: str | None) -> list[str]:
    """Profiles that could apply to a conversation, most specific first."""
    names = [f"team:{team}"] if team else []
    if account:
        names.append(f"brand:{account}")
    return [*names, DEFAULT_PROFILE]
