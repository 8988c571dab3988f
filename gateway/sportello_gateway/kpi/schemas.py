"""The KPI report's and the CSAT answer's HTTP models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Durations(BaseModel):
    """Seconds. Percentiles come from quarter-octave histograms: within about 10 % of the exact
    value; the mean is exact."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None


class Rate(BaseModel):
    hit: int
    miss: int
    rate: float | None = Field(description="hit / (hit + miss); null when nothing was measured")


class SlaKpis(BaseModel):
    first_response: Rate
    resolution: Rate


class ConversationKpis(BaseModel):
    opened: int
    resolved: int
    resolved_in_channel: int
    in_channel_resolution_rate: float | None = Field(
        description="Resolved conversations whose messages all stayed on one channel, "
                    "over resolved conversations")
    resolved_after_reopen: int
    reopens: int


class MessageKpis(BaseModel):
    inbound: int
    outbound: int


class Backlog(BaseModel):
    at_start: int = Field(description="Unresolved conversations (open or snoozed) when the period "
                                      "(or group) starts")
    at_end: int = Field(description="Unresolved conversations (open or snoozed) when the period "
                                    "(or group) ends")
    snoozed_at_start: int = Field(description="Of those at the start, the snoozed ones (parked "
                                              "by an agent until the customer writes or a time)")
    snoozed_at_end: int = Field(description="Of those at the end, the snoozed ones")


class Transition(BaseModel):
    from_label: str
    to_label: str
    count: int


class SentimentKpis(BaseModel):
    distribution: dict[str, int] = Field(description="Scored inbound messages per label")
    transitions: list[Transition] = Field(
        description="First to last inbound label of the conversations resolved in the period")


class AgentKpis(BaseModel):
    concurrency_seconds: float = Field(
        description="Seconds of conversations held by agents (sum over conversations)")
    average_concurrency: float | None = Field(
        description="concurrency_seconds / seconds in the period: conversations held at once, "
                    "on average (per agent when filtered or grouped by agent)")
    online_seconds: float = Field(
        description="Seconds agents were online (sum over agents), up to now for those online "
                    "now; presence has no channel, so a report on one channel has none")
    average_online_agents: float | None = Field(
        description="online_seconds / seconds in the period: agents online at once, on average")
    capacity_seconds: float = Field(
        description="Slot-seconds offered: each online second times the agent's capacity then "
                    "(conversations they may hold at once)")
    utilisation: float | None = Field(
        description="concurrency_seconds / capacity_seconds: the share of the online agents' "
                    "slots that held conversations; null without capacity. Holds count whatever "
                    "the agent's presence (a conversation kept while away or offline still "
                    "counts), so it can exceed 1")


class CsatKpis(BaseModel):
    count: int
    average: float | None
    distribution: dict[str, int] = Field(description="Answers per score, '1' to '5'")


class KpiSet(BaseModel):
    conversations: ConversationKpis
    messages: MessageKpis
    first_response: Durations
    next_response: Durations
    resolution: Durations
    handle_time: Durations
    sla: SlaKpis
    backlog: Backlog
    sentiment: SentimentKpis
    agents: AgentKpis
    csat: CsatKpis


class Group(BaseModel):
    key: str = Field(description="The channel, team, agent id, hour (ISO) or day (YYYY-MM-DD); "
                                 "'' for conversations without one")
    kpis: KpiSet


class VolumePoint(BaseModel):
    key: str
    opened: int
    inbound: int
    outbound: int


class KpiReport(BaseModel):
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    totals: KpiSet
    group_by: str | None
    groups: list[Group]
    volume_by_channel: list[VolumePoint]
    volume_by_hour_of_day: list[VolumePoint] = Field(
        description="Per UTC hour of the day ('00' to '23'); group_by=hour gives the series")


class CsatIn(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied)")
    comment: str | None = Field(default=None, max_length=2000)


class CsatOut(BaseModel):
    conversation_id: str
    score: int
    comment: str | None
    answered_at: datetime
