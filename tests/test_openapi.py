"""The admin API's OpenAPI document (issue 10 point 2): what a running sandbox serves validates with
openapi-spec-validator, and a body whose every field is optional is not marked required."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator

from simulator.testing.harness import SandboxFacade


def served_document(tdc_sandbox: SandboxFacade) -> dict[str, Any]:
    document = tdc_sandbox.admin_client().get("/openapi.json")
    assert isinstance(document, dict)
    return document


def test_the_served_document_validates(tdc_sandbox: SandboxFacade) -> None:
    document = served_document(tdc_sandbox)
    assert document["openapi"].startswith("3.0.")
    assert [error.message for error in OpenAPIV30SpecValidator(document).iter_errors()] == []


def test_a_body_of_optional_fields_is_not_required(tdc_sandbox: SandboxFacade) -> None:
    for path, item in served_document(tdc_sandbox)["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            needs_fields = schema.get("type") != "object" or bool(schema.get("required"))
            assert body["required"] == needs_fields, f"{method.upper()} {path}"
            assert schema.get("required", ["any"]) != [], f"{method.upper()} {path}: empty 'required'"


def test_an_empty_body_is_accepted_where_the_document_says_it_is_optional(tdc_sandbox: SandboxFacade) -> None:
    client = tdc_sandbox.admin_client()
    assert client.call("POST", "/commit")["message"] == "There is no data to commit."
    assert "disabled" in client.call("POST", "/tdc/disable")["message"]
