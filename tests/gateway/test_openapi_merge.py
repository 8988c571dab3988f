"""One OpenAPI 3.1 document for the whole API: the gateway's merged with every service's."""

from __future__ import annotations

import importlib
from typing import Any

import jsonschema
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31

from sportello.runtime import create_app
from sportello_gateway.component import COMPONENT
from sportello_gateway.edge.openapi_merge import MergedOpenApi, merge_documents
from sportello_gateway.settings import GatewaySettings

UPSTREAMS = {"ingest": "sportello_ingest", "priority": "sportello_priority",
             "assignment": "sportello_assignment", "crm-sync": "sportello_crm_sync"}


def document_of(package: str) -> dict[str, Any]:
    component = importlib.import_module(f"{package}.component").COMPONENT
    app = create_app([component], component.settings_cls(bus="memory"))
    document: dict[str, Any] = app.openapi()
    return document


def gateway_document() -> dict[str, Any]:
    app = create_app([COMPONENT], GatewaySettings(bus="memory"))
    # The gateway's own document, before any merge (no upstream is running here).
    document: dict[str, Any] = app.openapi()
    return document


def refs_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(refs_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(refs_in(v) for v in value))
    return set()


def assert_valid_openapi_31(document: dict[str, Any]) -> None:
    # The official OAS 3.1 schema (as schemathesis ships it), then what it cannot check: every
    # $ref resolves and operationIds are unique.
    jsonschema.Draft202012Validator(OPENAPI_31).validate(document)
    for ref in refs_in(document):
        section, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in document["components"][section], f"dangling {ref}"
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))


@pytest.fixture(scope="module")
def real_documents() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    return gateway_document(), {name: document_of(pkg) for name, pkg in UPSTREAMS.items()}


def test_the_merged_document_of_the_real_services_is_valid_and_complete(
    real_documents: tuple[dict[str, Any], dict[str, dict[str, Any]]],
) -> None:
    own, upstreams = real_documents
    merged = merge_documents(own, upstreams)

    assert_valid_openapi_31(merged)
    assert merged["openapi"] == "3.1.0" and merged["info"] == own["info"]
    for name, document in upstreams.items():
        for path, item in document["paths"].items():
            for method in item:
                assert method in merged["paths"][path], f"{name}: {method.upper()} {path} missing"
    for path, item in own["paths"].items():  # the gateway's own operations are kept as they are
        for method, operation in item.items():
            assert merged["paths"][path][method] == operation
    assert "/v1/stream" in merged["paths"]
    tags = [tag["name"] for tag in merged.get("tags", [])]
    assert len(tags) == len(set(tags))


def test_the_merge_does_not_depend_on_the_order_the_documents_arrived_in(
    real_documents: tuple[dict[str, Any], dict[str, dict[str, Any]]],
) -> None:
    own, upstreams = real_documents
    backwards = dict(reversed(list(upstreams.items())))
    assert merge_documents(own, upstreams) == merge_documents(own, backwards)


def schema_doc(paths: dict[str, Any], schemas: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}, **more}


def operation(ref: str, operation_id: str) -> dict[str, Any]:
    return {"operationId": operation_id, "responses": {"200": {
        "description": "ok", "content": {"application/json": {"schema": {"$ref": ref}}}}}}


def test_a_clashing_schema_is_renamed_and_its_references_follow() -> None:
    own = schema_doc({"/v1/a": {"get": operation("#/components/schemas/Page", "list")}},
                     {"Page": {"type": "object", "properties": {"a": {"type": "string"}}}})
    upstream = schema_doc(
        {"/v1/b": {"get": operation("#/components/schemas/Wrapper", "list")}},
        {"Page": {"type": "object", "properties": {"b": {"type": "integer"}}},
         # Identical to nothing of ours, but points at the clashing Page.
         "Wrapper": {"type": "object", "properties": {"page": {"$ref": "#/components/schemas/Page"}}},
         "Shared": {"type": "string"}},
    )
    own["components"]["schemas"]["Shared"] = {"type": "string"}

    merged = merge_documents(own, {"crm-sync": upstream})

    schemas = merged["components"]["schemas"]
    assert schemas["Page"] == own["components"]["schemas"]["Page"]  # ours is untouched
    assert schemas["Page_crm_sync"] == upstream["components"]["schemas"]["Page"]
    assert schemas["Wrapper"]["properties"]["page"] == {"$ref": "#/components/schemas/Page_crm_sync"}
    assert "Shared_crm_sync" not in schemas  # same content: shared, not duplicated
    get_b = merged["paths"]["/v1/b"]["get"]
    assert get_b["operationId"] == "list_crm_sync"  # operationIds stay unique
    assert_valid_openapi_31(merged)


def test_a_component_equal_to_ours_but_pointing_at_a_renamed_one_is_renamed_too() -> None:
    own = schema_doc({}, {"Item": {"type": "string"},
                          "List": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}})
    upstream = schema_doc(
        {"/v1/c": {"get": operation("#/components/schemas/List", "c")}},
        {"Item": {"type": "integer"},
         "List": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}},
    )
    merged = merge_documents(own, {"ingest": upstream})
    schemas = merged["components"]["schemas"]
    assert schemas["List"]["items"] == {"$ref": "#/components/schemas/Item"}
    assert schemas["List_ingest"]["items"] == {"$ref": "#/components/schemas/Item_ingest"}
    assert merged["paths"]["/v1/c"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/List_ingest"}


def test_the_gateway_keeps_its_operation_and_gains_the_upstreams_other_methods() -> None:
    own = schema_doc({"/v1/x/{id}": {"get": operation("#/components/schemas/X", "get_x")}},
                     {"X": {"type": "object"}})
    upstream = schema_doc({"/v1/x/{id}": {"get": operation("#/components/schemas/X", "theirs"),
                                          "delete": operation("#/components/schemas/X", "del_x")}},
                          {"X": {"type": "object"}})
    merged = merge_documents(own, {"assignment": upstream})
    assert merged["paths"]["/v1/x/{id}"]["get"]["operationId"] == "get_x"
    assert merged["paths"]["/v1/x/{id}"]["delete"]["operationId"] == "del_x"


def test_a_renamed_security_scheme_is_renamed_where_operations_require_it() -> None:
    own = schema_doc({}, {})
    own["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    upstream = schema_doc({"/v1/k": {"get": {**operation("#/components/schemas/K", "k"),
                                             "security": [{"bearer": []}]}}},
                          {"K": {"type": "string"}})
    upstream["components"]["securitySchemes"] = {"bearer": {"type": "apiKey", "in": "header",
                                                            "name": "X-Key"}}
    merged = merge_documents(own, {"ingest": upstream})
    assert merged["paths"]["/v1/k"]["get"]["security"] == [{"bearer_ingest": []}]
    assert merged["components"]["securitySchemes"]["bearer_ingest"]["type"] == "apiKey"


def test_without_upstreams_the_document_is_fastapis_own() -> None:
    own = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    assert MergedOpenApi(lambda: own, lambda: None)() is own


def test_every_service_document_is_itself_valid() -> None:
    # The merge assumes valid inputs: if a service's own document broke, this says which.
    assert_valid_openapi_31(gateway_document())
    for package in UPSTREAMS.values():
        assert_valid_openapi_31(document_of(package))
