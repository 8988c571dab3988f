"""A real SMTP server for tests (aiosmtpd), served in the test's event loop on a port the OS picks.

It records every message it accepts and can be told to answer the next RCPT TO or DATA with a reply of
our choosing (by default a transient ``451``), so senders are exercised over a real SMTP conversation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal

from aiosmtpd.smtp import SMTP

Stage = Literal["RCPT", "DATA"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)


@dataclass
class _Fault:
    stage: Stage
    reply: str
    remaining: int


@dataclass
class FakeSmtp:
    received: list[ReceivedMail] = field(default_factory=list)
    refused: list[tuple[Stage, str]] = field(default_factory=list)
    port: int = 0
    _faults: list[_Fault] = field(default_factory=list)
    _server: asyncio.Server | None = None

    def fail_next(self, stage: Stage, reply: str = "451 4.3.0 Try again later", *, times: int = 1) -> None:
        self._faults.append(_Fault(stage, reply, times))

    def _fault(self, stage: Stage) -> str | None:
        for fault in self._faults:
            if fault.stage == stage and fault.remaining > 0:
                fault.remaining -= 1
                self.refused.append((stage, fault.reply))
                return fault.reply
        return None

    # -- aiosmtpd handler hooks ---------------------------------------------------------------------

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if (reply := self._fault("RCPT")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (reply := self._fault("DATA")) is not None:
            return reply
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    # -- lifecycle ----------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSmtp:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="fake-smtp.test"), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
