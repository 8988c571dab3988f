"""Assignment's settings (environment variables prefixed ``SPORTELLO_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sportello.settings import ServiceSettings
from sportello_assignment.policy import CHANNELS, Rules, policy_named


class AssignmentSettings(ServiceSettings):
    # A JSON list of agents (as POST /v1/agents takes them) created at start when missing (keyed
    # by name), so a fresh installation or demo has agents before anyone calls the API.
    assignment_seed_agents: str = ""
    # ours: urgent, then high strictly first; normal and low together by the SLA deadline aged by
    # the longest wait, less the priority head start; then band, then waiting time; skills, sticky
    # owners and
    # re-assignment. round_robin / fewest_open: the first-come-first-served baselines other tools
    # offer (kept selectable so `make simulate` measures them with the same code).
    assignment_policy: Literal["ours", "round_robin", "fewest_open"] = "ours"
    # Concurrent conversations per channel for an agent created without a capacity.
    assignment_default_capacity: int = Field(default=7, ge=1, le=50)
    # How long a follow-up or returning customer waits for their last owner before anyone may take it.
    assignment_sticky_wait_seconds: float = Field(default=300, ge=0)
    # How long a conversation waits for its team (and topic specialists) before any agent may take it.
    assignment_widen_after_seconds: float = Field(default=600, ge=0)
    # An agent who went offline keeps their conversations this long (a dropped connection, a reload).
    assignment_offline_grace_seconds: float = Field(default=120, ge=0)
    # An online agent not seen (heartbeat, reply, presence) for this long becomes away; 0 disables.
    assignment_auto_away_seconds: float = Field(default=900, ge=0)
    # Aging of ours' queue: a conversation is served as if its SLA deadline were at most this long
    # after the customer started waiting (a 24-hour target is a floor, not a place at the back of
    # the queue behind everyone who comes later); 0 keeps the SLA deadline alone.
    assignment_longest_wait_seconds: float = Field(default=4 * 3600, ge=0)
    # Within ours' shared queue class (normal and low), each priority point serves a conversation
    # as if it had been waiting this many seconds longer (0: waiting time and deadline alone).
    assignment_priority_head_start_seconds: float = Field(default=30, ge=0)
    # Time from assignment to the owner's first reply before the conversation is re-assigned.
    assignment_reply_timeout_seconds: dict[str, float] = Field(
        default={"urgent": 300, "high": 900, "normal": 1800, "low": 3600})
    # An owner active (a reply, a heartbeat) within this is working through their conversations:
    # the no-reply timer does not take theirs away.
    assignment_working_seconds: float = Field(default=600, ge=0)
    # SLA stages that put an unanswered conversation in the supervisors' queue.
    assignment_escalate_stages: tuple[str, ...] = ("at_risk", "critical", "breached")
    # Channels whose new conversations a bot answers first; they reach people on hand-off.
    assignment_bot_channels: tuple[str, ...] = ()
    # Every channel conversations may come from (an agent listing no channels takes all of these).
    assignment_channels: tuple[str, ...] = CHANNELS
    # Accounts with no team: this team answers them ("" = any agent).
    assignment_default_team: str = ""
    assignment_sweep_seconds: float = Field(default=1.0, gt=0)
    assignment_sweep_batch: int = Field(default=200, ge=1)


    def rules(self) -> Rules:
        return Rules(
            policy=policy_named(self.assignment_policy),
            sticky_wait_s=self.assignment_sticky_wait_seconds,
            widen_after_s=self.assignment_widen_after_seconds,
            longest_wait_s=self.assignment_longest_wait_seconds,
            priority_head_start_s=self.assignment_priority_head_start_seconds,
            offline_grace_s=self.assignment_offline_grace_seconds,
            auto_away_s=self.assignment_auto_away_seconds,
            working_s=self.assignment_working_seconds,
            reply_timeout_s=tuple(self.assignment_reply_timeout_seconds.items()),
            escalate_stages=frozenset(self.assignment_escalate_stages),
            bot_channels=frozenset(self.assignment_bot_channels),
            channels=self.assignment_channels,
            default_team=self.assignment_default_team or None,
        )
