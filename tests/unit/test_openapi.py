"""The API description: every operation says what it may answer and who may call it."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.guards import route_roles
from gateway.auth.roles import Role
from kit.settings import Settings
from tests.unit.test_errors import SECRET, StandInBroker

ERROR_SHAPE = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def described(tmp_path_factory):
    settings = Settings(environment="development", secret_key=SECRET,
                               data_dir=tmp_path_factory.mktemp("gw"))
    app = create_app(settings, broker=StandInBroker())
    with TestClient(app) as client:
        yield app, client.get("/openapi.json").json()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def test_every_guarded_operation_lists_401_and_403_and_needs_the_bearer_token(described):
    app, spec = described
    roles = route_roles(app)
    guarded = [(m, p, o) for m, p, o in operations(spec) if Role.PUBLIC not in roles[(m, p)]]
    assert len(guarded) >= 30
    for method, path, operation in guarded:
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
        assert operation["security"] == [{"HTTPBearer": []}], (method, path)
        assert operation["x-roles"] == sorted(r.value for r in roles[(method, path)])
        assert "Who may call" in operation["description"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "Access token from POST /api/v1/auth/token"}


SIGN_IN = {"/api/v1/auth/token", "/api/v1/auth/change-password"}


def test_a_public_operation_needs_no_token(described):
    app, spec = described
    roles = route_roles(app)
    public = [(m, p, o) for m, p, o in operations(spec) if Role.PUBLIC in roles[(m, p)]]
    assert {p for _, p, _ in public} >= {"/api/v1/clues", "/api/v1/campaign", "/healthz",
                                         "/api/v1/auth/token", "/api/v1/ledger/head"}
    for method, path, operation in public:
        assert "security" not in operation, (method, path)
        assert operation["x-roles"] == ["public"]
        # a public operation refuses no role; sign-in's one 403 is a reset password's
        assert "403" not in operation["responses"] or (
            path == "/api/v1/auth/token"
            and "password_change_required" in operation["responses"]["403"]["description"]), \
            (method, path)
        # a wrong password is the one 401 a public operation answers
        assert ("401" in operation["responses"]) == (path in SIGN_IN), (method, path)


def test_every_error_status_has_the_one_error_shape(described):
    _, spec = described
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            refs = [s["$ref"] for s in schema.get("anyOf", [schema])]
            assert ERROR_SHAPE in refs, (method, path, status)
            assert response["description"], (method, path, status)
    detail = spec["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"code", "message", "message_zh", "field"} <= set(detail)


@pytest.mark.parametrize("method, path, expected", [
    ("POST", "/api/v1/problems/{problem_id}/dispatch",
     {"401", "403", "404", "409", "413", "422", "503"}),
    ("GET", "/api/v1/problems/{problem_id}", {"401", "403", "404", "422", "503"}),
    ("POST", "/api/v1/clues", {"413", "415", "422", "503"}),
    ("POST", "/api/v1/receipts/lookup", {"413", "422", "429", "503"}),
    ("POST", "/api/v1/receipts/supplement", {"404", "409", "413", "415", "422", "429", "503"}),
    ("POST", "/api/v1/receipts/satisfaction", {"404", "409", "413", "422", "429", "503"}),
    ("POST", "/api/v1/auth/token", {"429"}),
    ("POST", "/api/v1/work-plans", {"401", "403", "413", "422", "503"}),
    ("GET", "/readyz", {"503"}),
])
def test_an_operation_lists_the_statuses_it_can_answer(described, method, path, expected):
    _, spec = described
    assert expected <= set(spec["paths"][path][method.lower()]["responses"])


def test_the_docs_pages_are_not_operations(described):
    _, spec = described
    assert not {"/docs", "/redoc", "/docs-assets/{name}"} & set(spec["paths"])
