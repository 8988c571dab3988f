"""Which upstream owns a request, from the path templates of the upstreams' OpenAPI documents.

Built from the documents rather than a hand-kept prefix table because ownership is not by prefix:
``/v1/conversations/{id}`` is the gateway's, ``.../assign`` assignment's and ``.../replies`` ingest's.
The documents are the services' own description of their routes, so the table cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PARAMETER = re.compile(r"\{[^/{}]+\}")
# Operations of an OpenAPI path item (other keys are parameters, summary, servers...).
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True)
class OwnedRoute:
    upstream: str
    template: str
    methods: frozenset[str]  # upper case
    pattern: re.Pattern[str]

    @property
    def specificity(self) -> tuple[int, int]:
        """More literal segments first: ``/v1/queue/escalated`` before ``/v1/queue/{id}``."""
        parameters = len(_PARAMETER.findall(self.template))
        return (-(self.template.count("/") - parameters), parameters)


def compile_template(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    position = 0
    for match in _PARAMETER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        parts.append("[^/]+")  # one path segment, as FastAPI matches {name}
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z")


class RouteTable:
    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        routes = [
            OwnedRoute(upstream, template, methods, compile_template(template))
            for upstream in sorted(documents)
            for template, item in (documents[upstream].get("paths") or {}).items()
            if (methods := frozenset(m.upper() for m in item if m in HTTP_METHODS))
        ]
        # Deterministic whatever the documents' order: most specific template, then upstream name.
        self.routes = sorted(routes, key=lambda r: (r.specificity, r.template, r.upstream))

    def owner(self, method: str, path: str) -> str | None:
        """The upstream serving ``method path``, or None."""
        method = method.upper()
        for route in self.routes:
            if method in route.methods and route.pattern.match(path):
                return route.upstream
        return None

    def __len__(self) -> int:
        return len(self.routes)
