"""The Graph API endpoints Sportello calls for Meta's channels, as documented.

- ``POST /{version}/{comment id}/comments`` ``{"message"}`` (a Facebook comment reply) → ``{"id"}``.
- ``POST /{version}/{ig comment id}/replies`` ``{"message"}`` (an Instagram comment reply) → ``{"id"}``.
- ``POST /{version}/{page or IG account id}/messages`` (Send API): ``{"recipient": {"id"}, "messaging_type":
  "RESPONSE" | "UPDATE" | "MESSAGE_TAG", "tag"?, "message": {"text"}}``, or ``{"recipient": {"comment_id"},
  "message"}`` for a private reply (one per comment, else error 10900) → ``{"recipient_id", "message_id"}``.
- ``POST /{version}/{phone number id}/messages`` with ``"messaging_product": "whatsapp"``, ``"to"`` and a
  ``text {body}`` or ``template {name, language {code}}`` → ``{"messaging_product", "contacts": [{"input",
  "wa_id"}], "messages": [{"id": "wamid..."}]}``.

Every call needs ``Authorization: Bearer <token>`` (else Graph's error 190). Errors have Graph's shape
``{"error": {"message", "type", "code", "fbtrace_id"}}``. ``calls`` keeps each POST with the time it
arrived (faults included), so tests can measure how long a client waited before retrying.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello_deploy.fakes.server import FakeServer

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")


@dataclass(frozen=True)
class GraphCall:
    at: datetime
    path: str
    json: Any


def graph_error(status: int, code: int, message: str, kind: str = "OAuthException") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": code,
                                   "fbtrace_id": "AbCdEfGhIjK"}}, status_code=status)


class FakeMeta(FakeServer):
    name = "fake-meta"

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.calls: list[GraphCall] = []
        self.comment_replies: dict[str, dict[str, Any]] = {}  # reply id → {"parent", "edge", "message"}
        self.messages: dict[str, dict[str, Any]] = {}  # message id → {"node", **request body}
        # comment id → its author's PSID / IGSID, as a private reply's answer names it (tests may set it).
        self.commenters: dict[str, str] = {}
        self.private_replies: dict[str, str] = {}  # comment id → the message id of its one private reply
        self._ids = itertools.count(int(datetime.now(UTC).timestamp()) * 1000)

    def routes(self) -> list[Route]:
        return [Route("/{version}/{node}/comments", self._comment_reply, methods=["POST"]),
                Route("/{version}/{node}/replies", self._comment_reply, methods=["POST"]),
                Route("/{version}/{node}/messages", self._message, methods=["POST"])]

    def calls_to(self, path_part: str) -> list[GraphCall]:
        return [c for c in self.calls if path_part in c.path]

    async def _checked(self, request: Request) -> tuple[Any, Response | None]:
        at = datetime.now(UTC)
        payload, fault = await self.intercept(request)
        self.calls.append(GraphCall(at, request.url.path, payload))
        if fault is not None:
            return payload, fault
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return payload, graph_error(401, 190, "Invalid OAuth access token.")
        if not isinstance(payload, dict):
            return payload, graph_error(400, 100, "(#100) The request body must be a JSON object.")
        return payload, None

    async def _comment_reply(self, request: Request) -> Response:
        payload, answer = await self._checked(request)
        if answer is not None:
            return answer
        if not isinstance(payload.get("message"), str) or not payload["message"]:
            return graph_error(400, 100, "(#100) param message must be non-empty.")
        node = request.path_params["node"]
        edge = request.url.path.rsplit("/", 1)[1]
        # Facebook comment ids are "<post>_<comment>"; Instagram's are plain numbers.
        reply_id = f"{node.split('_')[0]}_{next(self._ids)}" if edge == "comments" else str(next(self._ids))
        self.comment_replies[reply_id] = {"parent": node, "edge": edge, "message": payload["message"]}
        return JSONResponse({"id": reply_id})

    async def _message(self, request: Request) -> Response:
        payload, answer = await self._checked(request)
        if answer is not None:
            return answer
        node = request.path_params["node"]
        if payload.get("messaging_product") == "whatsapp":
            return self._whatsapp(node, payload)
        return self._send_api(node, payload)

    def _send_api(self, node: str, payload: dict[str, Any]) -> Response:
        recipient, message = payload.get("recipient"), payload.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return graph_error(400, 100, "(#100) message.text is required.")
        if not isinstance(recipient, dict) or len(recipient) != 1:
            return graph_error(400, 100, "(#100) recipient needs exactly one of id, comment_id, post_id.")
        message_id = f"m_{next(self._ids)}"
        if "comment_id" in recipient:
            comment = str(recipient["comment_id"])
            if comment in self.private_replies:
                return graph_error(400, 10900, "Activity already replied to")
            psid = self.commenters.setdefault(comment, str(next(self._ids)))
            self.private_replies[comment] = message_id
        elif "id" in recipient:
            psid = str(recipient["id"])
            kind = payload.get("messaging_type")
            if kind not in MESSAGING_TYPES or (kind == "MESSAGE_TAG" and not payload.get("tag")):
                return graph_error(400, 100, "(#100) messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG "
                                             "with a tag.")
        else:
            return graph_error(400, 100, "(#100) recipient needs exactly one of id, comment_id, post_id.")
        self.messages[message_id] = {"node": node, **payload}
        return JSONResponse({"recipient_id": psid, "message_id": message_id})

    def _whatsapp(self, node: str, payload: dict[str, Any]) -> Response:
        to, kind = payload.get("to"), payload.get("type")
        if not to:
            return graph_error(400, 100, "(#100) The parameter to is required.")
        if kind == "text" and not (payload.get("text") or {}).get("body"):
            return graph_error(400, 100, "(#100) text.body is required.")
        if kind == "template":
            template = payload.get("template") or {}
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                return graph_error(400, 100, "(#100) template.name and template.language.code are required.")
        elif kind != "text":
            return graph_error(400, 100, f"(#100) Unsupported message type {kind!r}.")
        message_id = f"wamid.HBgL{next(self._ids)}"
        self.messages[message_id] = {"node": node, **payload}
        return JSONResponse({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                             "messages": [{"id": message_id}]})
