"""One OpenAPI 3.1 document for the whole API: the gateway's own merged with its upstreams'.

Deterministic whatever order the documents arrive in: upstreams are merged in name order, and the
gateway's own document always wins. The rules:

- paths: a path the gateway has keeps its operations; an upstream adds the operations (methods) it
  serves that the gateway does not, so the document lists exactly what the proxy forwards;
- components (schemas, responses, parameters, security schemes...): a name already present with the
  same content is shared; with different content the upstream's is renamed ``<Name>_<upstream>``
  and every ``$ref`` in that upstream's document follows. A component that refers to a renamed one
  is renamed too, since its content differs once its references are rewritten;
- operationIds stay unique (a clash gets the ``_<upstream>`` suffix); tags are united in order.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from sportello_gateway.edge.routing import HTTP_METHODS
from sportello_gateway.edge.upstreams import Upstreams

_REF = re.compile(r"^#/components/([^/]+)/(.+)$")


def merge_documents(own: Mapping[str, Any], upstreams: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = copy.deepcopy(dict(own))
    merged["openapi"] = "3.1.0"
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, dict[str, Any]] = merged.setdefault("components", {})
    operation_ids = {op["operationId"] for item in paths.values() for op in _operations(item)
                     if "operationId" in op}
    tags: list[dict[str, Any]] = merged.get("tags", [])
    for name in sorted(upstreams):
        document = _rename_components(copy.deepcopy(dict(upstreams[name])), components, name)
        for section, entries in (document.get("components") or {}).items():
            components.setdefault(section, {}).update(
                {key: value for key, value in entries.items()
                 if key not in components.get(section, {})})
        for template, item in (document.get("paths") or {}).items():
            target = paths.setdefault(template, {})
            for method, operation in item.items():
                if method in HTTP_METHODS and method not in target:
                    if operation.get("operationId") in operation_ids:
                        operation["operationId"] = f"{operation['operationId']}_{_suffix(name)}"
                    operation_ids.add(operation.get("operationId"))
                    target[method] = operation
                elif method not in HTTP_METHODS:
                    target.setdefault(method, operation)  # parameters shared by the operations
        known = {tag["name"] for tag in tags}
        tags += [tag for tag in document.get("tags", []) if tag.get("name") not in known]
    if tags:
        merged["tags"] = tags
    return merged


def _operations(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [operation for method, operation in item.items() if method in HTTP_METHODS]


def _suffix(upstream: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", upstream)


def _rename_components(document: dict[str, Any], existing: Mapping[str, Mapping[str, Any]],
                       upstream: str) -> dict[str, Any]:
    """The upstream's document with its clashing components renamed and every reference following."""
    theirs: dict[str, dict[str, Any]] = document.get("components") or {}
    renamed: set[tuple[str, str]] = {
        (section, key) for section, entries in theirs.items() for key, value in entries.items()
        if key in existing.get(section, {}) and _canonical(value) != _canonical(existing[section][key])
    }
    # Fixpoint: a component equal to ours by content but pointing at a renamed one differs after all.
    while True:
        more = {
            (section, key) for section, entries in theirs.items() for key, value in entries.items()
            if (section, key) not in renamed and key in existing.get(section, {})
            and _references(value) & renamed
        }
        if not more:
            break
        renamed |= more
    if not renamed:
        return document
    new_names = {ref: _free_name(ref, upstream, existing, theirs) for ref in renamed}
    document = _rewrite_refs(document, new_names)
    schemes = {key: new for (section, key), new in new_names.items() if section == "securitySchemes"}
    if schemes:  # security requirements name schemes directly, not through $ref
        for item in (document.get("paths") or {}).values():
            for operation in _operations(item):
                if "security" in operation:
                    operation["security"] = [{schemes.get(k, k): v for k, v in requirement.items()}
                                             for requirement in operation["security"]]
    for (section, key), new_key in new_names.items():
        theirs = document["components"]
        theirs[section][new_key] = theirs[section].pop(key)
    return document


def _free_name(ref: tuple[str, str], upstream: str, existing: Mapping[str, Mapping[str, Any]],
               theirs: Mapping[str, Mapping[str, Any]]) -> str:
    section, key = ref
    candidate, n = f"{key}_{_suffix(upstream)}", 2
    while candidate in existing.get(section, {}) or candidate in theirs.get(section, {}):
        candidate, n = f"{key}_{_suffix(upstream)}{n}", n + 1
    return candidate


def _references(value: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and (match := _REF.match(ref)):
            found.add((match.group(1), match.group(2)))
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _rewrite_refs(value: Any, new_names: Mapping[tuple[str, str], str]) -> Any:
    if isinstance(value, dict):
        rewritten = {key: _rewrite_refs(item, new_names) for key, item in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and (match := _REF.match(ref)):
            new = new_names.get((match.group(1), match.group(2)))
            if new is not None:
                rewritten["$ref"] = f"#/components/{match.group(1)}/{new}"
        return rewritten
    if isinstance(value, list):
        return [_rewrite_refs(item, new_names) for item in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class MergedOpenApi:
    """``app.openapi`` for the gateway: its own document merged with the upstreams' known now,
    rebuilt only when one of those changed. Without upstreams (embedded mode) it is FastAPI's own,
    which already describes every component's routes."""

    def __init__(self, own: Callable[[], dict[str, Any]],
                 upstreams: Callable[[], Upstreams | None]) -> None:
        self._own = own
        self._upstreams = upstreams
        self._cached: tuple[int, dict[str, Any]] | None = None

    def __call__(self) -> dict[str, Any]:
        upstreams = self._upstreams()
        if upstreams is None or not upstreams.documents:
            return self._own()
        if self._cached is None or self._cached[0] != upstreams.version:
            self._cached = (upstreams.version, merge_documents(self._own(), upstreams.documents))
        return self._cached[1]
