"""The X API v2 endpoints Sportello calls, as documented: post a reply, send a direct message.

``POST /2/tweets`` with ``{"text", "reply": {"in_reply_to_tweet_id"}}`` answers 201
``{"data": {"id", "text"}}``; ``POST /2/dm_conversations/with/{participant_id}/messages`` with
``{"text"}`` answers 201 ``{"data": {"dm_conversation_id", "dm_event_id"}}``. Both need
``Authorization: Bearer <token>`` (401 otherwise). Post length is not checked here: X's weighted count
is the adapter's job, tested there.
``id_for`` lets a caller choose the id a post gets (the replay tool uses the dataset's own ids).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello_deploy.fakes.server import FakeServer

IdChooser = Callable[[dict[str, Any]], str | None]


def webhook_headers(consumer_secret: str, body: bytes) -> dict[str, str]:
    """The headers X sends with an Account Activity delivery: the body signed with the consumer secret."""
    digest = hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()
    return {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode(),
            "content-type": "application/json"}


class FakeX(FakeServer):
    name = "fake-x"

    def __init__(self, token: str, *, id_for: IdChooser | None = None) -> None:
        super().__init__()
        self.token = token
        self.id_for = id_for
        self.posts: dict[str, dict[str, Any]] = {}
        self.direct_messages: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1_900_000_000_000_000_000)

    def routes(self) -> list[Route]:
        return [Route("/2/tweets", self._post_tweet, methods=["POST"]),
                Route("/2/dm_conversations/with/{participant_id}/messages", self._post_dm, methods=["POST"])]

    async def _checked(self, request: Request) -> tuple[Any, Response | None]:
        payload, fault = await self.intercept(request)
        if fault is not None:
            return payload, fault
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return payload, JSONResponse({"title": "Unauthorized", "status": 401}, status_code=401)
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            return payload, JSONResponse({"title": "Invalid Request", "detail": "text is required"},
                                         status_code=400)
        return payload, None

    async def _post_tweet(self, request: Request) -> Response:
        payload, answer = await self._checked(request)
        if answer is not None:
            return answer
        tweet_id = (self.id_for(payload) if self.id_for else None) or str(next(self._ids))
        self.posts[tweet_id] = payload
        return JSONResponse({"data": {"id": tweet_id, "text": payload["text"]}}, status_code=201)

    async def _post_dm(self, request: Request) -> Response:
        payload, answer = await self._checked(request)
        if answer is not None:
            return answer
        event_id = str(next(self._ids))
        participant = request.path_params["participant_id"]
        self.direct_messages[event_id] = {**payload, "participant_id": participant}
        return JSONResponse({"data": {"dm_conversation_id": f"{participant}-brand", "dm_event_id": event_id}},
                            status_code=201)
