"""What the fuzz tests share.

Schemathesis driven from an async test: cases generated from a running app's OpenAPI document, sent
in-process through ``httpx.ASGITransport`` (the app's database lives on the session's event loop, which
schemathesis's own ASGI transport, a thread with its own loop, cannot share), then judged by schemathesis's
checks (no 5xx, response schema, content type) plus ours (every 4xx a problem document).

Generation is real schemathesis generation (``APIOperation.as_strategy`` in positive and negative mode,
drawn by Hypothesis with ``derandomize``), collected first and sent afterwards: no shrinking, a bounded
number of requests per operation, the same requests on every run.

Known bugs: findings matching a :class:`KnownBug` are set apart, and end the test with
:class:`KnownBugFound`, which the affected tests expect (``xfail(strict=True, raises=KnownBugFound)``), so
anything new still fails them and a fixed bug shows up as an XPASS, failing the run until its marker goes.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from sportello.runtime import Component, create_app
from tests.support.app import TOKENS_SPEC
from tests.support.database import settings_for

PROBLEM_JSON = "application/problem+json"
BASE_URL = "http://test"

# The e-mail webhook takes raw RFC 5322 bytes: send what is generated for it as it is.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")


def assert_problem_document(status: int, content_type: str, content: bytes) -> None:
    """An RFC 9457 problem document: problem+json with status (the HTTP one), title and detail."""
    media_type = content_type.split(";")[0].strip().lower()
    assert media_type == PROBLEM_JSON, f"{status} answered {media_type or 'no content type'}, not {PROBLEM_JSON}"
    body = json.loads(content)
    assert isinstance(body, dict), f"the problem document is not an object: {body!r}"
    assert body.get("status") == status, f"problem status {body.get('status')!r} differs from the HTTP status {status}"
    for member in ("title", "detail"):
        assert isinstance(body.get(member), str) and body[member], f"problem without a {member}: {body!r}"


@schemathesis.check
def problem_details_for_errors(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx is a problem document."""
    if 400 <= response.status_code < 500:
        assert_problem_document(response.status_code, (response.headers.get("content-type") or [""])[0],
                                response.content)
    return None


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          problem_details_for_errors]


def openapi_operations(component: Component) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation the component's app documents, known without starting it
    (for parametrising tests at collection time)."""
    settings_ = settings_for("postgresql+asyncpg://fuzz@localhost/unused", component.settings_cls,
                             bus="memory", api_tokens=TOKENS_SPEC)
    document = create_app([component], settings_).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")]


async def load_schema(client: httpx.AsyncClient) -> Any:
    """The schema as the running app serves it."""
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    return schemathesis.openapi.from_dict(response.json())


def examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Up to ``count`` values of a strategy, the same ones on every run: drawn first, so async code can
    send them afterwards (Hypothesis cannot drive a coroutine on the session's event loop)."""
    found: list[Any] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    try:
        collect()
    except Unsatisfiable:
        pass  # nothing to make invalid (an operation without parameters has no negative cases)
    return found


def generate(operation: Any, mode: GenerationMode, count: int) -> list[Case]:
    """Up to ``count`` schemathesis cases for one operation, the same ones on every run."""
    cases: list[Case] = examples(operation.as_strategy(generation_mode=mode), count)
    return cases


@dataclass(frozen=True)
class Finding:
    """One request that broke a check: enough to reproduce it and see why."""

    operation: str
    mode: str
    request: str
    status: int | None
    reason: str

    def __str__(self) -> str:
        status = self.status if self.status is not None else "exception"
        return f"{self.operation} [{self.mode}] -> {status}\n  request: {self.request}\n  {self.reason}"


def _excerpt(value: object, limit: int = 600) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _request_of(kwargs: dict[str, Any]) -> tuple[dict[str, str], bytes | None]:
    headers = {str(k): str(v) for k, v in kwargs.get("headers", {}).items()}
    if kwargs.get("cookies"):
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    if "json" in kwargs:
        # As requests (schemathesis's own transport) would: ASCII JSON, lone surrogates as \\u escapes.
        return headers, json.dumps(kwargs["json"], allow_nan=False).encode()
    data = kwargs.get("data")
    if data is None:
        return headers, None
    if isinstance(data, bytes):
        return headers, data
    if isinstance(data, str):
        return headers, data.encode("utf-8", "surrogatepass")
    return headers, json.dumps(data).encode()


# Rewrites a positive case before it is sent (points it at rows that exist); gets the case's index so it
# can leave some cases as generated.
Tamper = Callable[[Case, int], None]
# Headers to send with a serialised case (a webhook signature over its body); they replace generated ones.
Signer = Callable[[Case, int, bytes | None], dict[str, str]]


@dataclass(frozen=True)
class KnownBug:
    """A bug already reported: findings that match it are counted apart, so every operation still fails
    on anything new. ``status`` None matches any status."""

    name: str
    status: int | None
    texts: tuple[str, ...]  # any one of them in a finding's reason

    def matches(self, finding: Finding) -> bool:
        return (self.status is None or finding.status == self.status) and self.seen_in(finding.reason)

    def seen_in(self, text: str) -> bool:
        return any(known in text for known in self.texts)


class KnownBugFound(AssertionError):
    """Raised only for findings of known bugs: an ``xfail(raises=KnownBugFound)`` hides nothing else."""


@dataclass
class Fuzzer:
    """Sends an operation's cases to an app, with some headers (a bearer token), and collects findings."""

    app: FastAPI
    headers: dict[str, str]
    tamper: Tamper | None = None
    sign: Signer | None = None
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    async def run(self, operation: Any, *, positive: int, negative: int) -> list[Finding]:
        findings: list[Finding] = []
        before = dict(self.statuses)
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for mode, count in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):
                for index, case in enumerate(generate(operation, mode, count) if count else ()):
                    if self.tamper is not None and mode is GenerationMode.POSITIVE:
                        self.tamper(case, index)
                    finding = await self._send(client, case, mode, index)
                    if finding is not None:
                        findings.append(finding)
        answered = {code: n - before.get(code, 0) for code, n in sorted(self.statuses.items())
                    if n > before.get(code, 0)}
        # Shown with the test's output: which answers the generated cases got (how deep they reached).
        print(f"{operation.label}: {sum(answered.values())} requests, statuses {answered}")
        return findings

    async def _send(self, client: httpx.AsyncClient, case: Case, mode: GenerationMode,
                    index: int) -> Finding | None:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=self.headers)
        headers, content = _request_of(kwargs)
        if self.sign is not None and mode is GenerationMode.POSITIVE:
            for name, value in self.sign(case, index, content).items():
                headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
                headers[name] = value
        shown = {k: v for k, v in headers.items() if k.lower() not in _NOISE}
        described = (f"{kwargs['method']} {kwargs['url']} params={_excerpt(kwargs.get('params'))} "
                     f"headers={_excerpt(shown)} body={_excerpt(content)}")
        label = case.operation.label
        self.sent += 1
        try:
            answer = await client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                          headers=headers, content=content)
        except Exception:
            # ASGITransport re-raises what the app did not handle (after its 500 problem): a server error.
            self.statuses[500] = self.statuses.get(500, 0) + 1
            reason = "unhandled exception in the app:\n" + app_traceback()
            return Finding(label, mode.value, described, 500, reason)
        self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
        try:
            case.validate_response(Response.from_httpx(answer, verify=False), checks=CHECKS)
        except (Exception, BaseExceptionGroup) as failed:
            reasons = [r for r in _failures(failed) if not _documented_422_mismatch(answer.status_code, r)]
            if reasons:
                return Finding(label, mode.value, described, answer.status_code,
                               "; ".join(reasons) + f"\n  response: {_excerpt(answer.text)}")
        return None


async def send_raw(client: httpx.AsyncClient, label: str, method: str, url: str, *, content: bytes,
                   headers: dict[str, str], expected: Iterable[int]) -> Finding | None:
    """One request outside schemathesis (a signed webhook body): a Finding unless it is answered with an
    expected status, each 4xx a problem document."""
    described = f"{method} {url} headers={_excerpt(headers)} body={_excerpt(content)}"
    try:
        answer = await client.request(method, url, content=content, headers=headers)
    except Exception:
        return Finding(label, "signed", described, 500, "unhandled exception in the app:\n" + app_traceback())
    if answer.status_code not in set(expected):
        return Finding(label, "signed", described, answer.status_code, f"unexpected status: {_excerpt(answer.text)}")
    if answer.status_code >= 400:
        try:
            assert_problem_document(answer.status_code, answer.headers.get("content-type", ""), answer.content)
        except (AssertionError, ValueError) as failed:
            return Finding(label, "signed", described, answer.status_code, str(failed))
    return None


_ROOT = str(Path(__file__).resolve().parents[2])


def app_traceback() -> str:
    """The current exception as our code saw it: the project's own frames (not the libraries') of the
    whole chain, and the final error."""
    _, error, _ = sys.exc_info()
    assert error is not None
    frames: list[traceback.FrameSummary] = []
    cause: BaseException | None = error
    while cause is not None:
        frames += [frame for frame in traceback.extract_tb(cause.__traceback__)
                   if frame.filename.startswith(_ROOT) and "/.venv/" not in frame.filename
                   and "/tests/" not in frame.filename]
        cause = cause.__cause__ or cause.__context__
    lines = "".join(traceback.format_list(frames))
    return f"{lines}{type(error).__module__}.{type(error).__name__}: {_excerpt(str(error), 700)}"


_NOISE = {"authorization", "user-agent", "accept-encoding", "accept", "connection", "x-schemathesis-testcaseid"}


def _documented_422_mismatch(status: int, reason: str) -> bool:
    """BUG (documentation, reported, not re-reported per operation): FastAPI documents every 422 as
    ``application/json`` ``HTTPValidationError`` (``detail``: a list), while sportello answers 422 with a
    problem document (``application/problem+json``, ``detail`` a string, ``errors`` the list). Our own
    problem check still judges every 422; ``test_documented_422_matches_what_is_sent`` keeps the mismatch
    visible as a strict xfail."""
    return status == 422 and ("Undocumented Content-Type" in reason or "Response violates schema" in reason)


def split(findings: list[Finding], known: Iterable[KnownBug]) -> tuple[list[Finding], dict[str, list[Finding]]]:
    """(new findings, known bug name -> its findings)."""
    fresh: list[Finding] = []
    matched: dict[str, list[Finding]] = {}
    bugs = list(known)
    for finding in findings:
        bug = next((b for b in bugs if b.matches(finding)), None)
        if bug is None:
            fresh.append(finding)
        else:
            matched.setdefault(bug.name, []).append(finding)
    return fresh, matched


def assert_only_known(findings: list[Finding], known: Iterable[KnownBug]) -> None:
    """New findings fail the test outright; findings of known bugs raise :class:`KnownBugFound` (the
    operations they affect are marked ``xfail(strict=True, raises=KnownBugFound)``)."""
    fresh, matched = split(findings, known)
    assert not fresh, f"{len(fresh)} finding(s):\n\n{report(fresh)}"
    if matched:
        raise KnownBugFound("; ".join(f"{name}: {len(found)} request(s), e.g.\n{found[0]}"
                                      for name, found in matched.items()))


def _failures(failed: BaseException) -> list[str]:
    if isinstance(failed, BaseExceptionGroup):
        return [reason for one in failed.exceptions for reason in _failures(one)]
    title = getattr(failed, "title", None)
    if title is not None:
        return [f"{title}: {getattr(failed, 'message', '')}"]
    return [f"{type(failed).__name__}: {failed}"]


def report(findings: list[Finding]) -> str:
    return "\n\n".join(str(f) for f in findings[:5]) + (
        f"\n\n... and {len(findings) - 5} more" if len(findings) > 5 else "")


def check_property(strategy: st.SearchStrategy[Any], prop: Callable[[Any, dict[str, list[str]]], None],
                   *, count: int = 150) -> None:
    """Run ``prop(value, found)`` on ``count`` derandomised values. ``prop`` records known bugs' findings in
    ``found`` (bug name -> examples) and fails on anything else (Hypothesis then shrinks it); afterwards,
    any known finding fails the test with KnownBugFound."""
    found: dict[str, list[str]] = {}

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(strategy)
    def run(value: Any) -> None:
        prop(value, found)

    run()
    if found:
        raise KnownBugFound("\n".join(f"{bug}: {len(items)} example(s), e.g. {items[0]}"
                                      for bug, items in found.items()))
