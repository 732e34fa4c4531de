"""The API description says what each operation may answer and who may call it.

Derived from the routes themselves, so it cannot drift: the roles from each route's
``allow(...)`` guards (``route_roles``), the statuses from what the route can meet (a
guard: 401/403; a path parameter: 404; a body: 413/422; the services behind it:
409/502/503/504), every error with the one error shape as its schema. Public operations
carry no security requirement; guarded ones need the bearer token.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from gateway.auth.guards import BEARER_SCHEME, route_roles
from gateway.auth.roles import ROLE_LABELS_ZH, Role
from gateway.errors import ErrorBody
from kit.errors import CODES

SERVICE_ROUTES = ("gateway.routes.problems", "gateway.routes.clues", "gateway.routes.followup")
LIMITED_PATHS = ("/api/v1/auth/token", "/api/v1/receipts")  # rate-limited (issue 8, hole 12)
WHY = {
    "400": "Bad request 请求有误",
    "401": "Not signed in, or the token is invalid or expired 未登录或登录凭证无效",
    "403": "Signed in, but not allowed to do this 无权操作",
    "404": "Not found, or not visible to this caller 未找到",
    "409": "Not allowed in the current state 与当前状态冲突",
    "413": "Body over the size limit 请求内容过大",
    "415": "Not JSON 请以 JSON 格式提交",
    "422": "Input refused: a schema error (a list, one entry per problem, each with "
           "`message_zh`) or a rule's refusal 输入有误",
    "429": "Too many requests; retry after `Retry-After` seconds 请求过于频繁",
    "500": "Internal error; quote the `correlation_id` 服务器内部出错",
    "502": "A service failed; quote the `correlation_id` 后台服务出错",
    "503": "The broker or a service is unavailable; retry after `Retry-After` seconds "
           "服务暂不可用",
    "504": "A service did not answer in time 后台服务响应超时",
}


def why(status: str) -> str:
    """The status's meaning and its codes, from the one vocabulary (``kit.errors.CODES``)."""
    codes = [f"`{code}`" for code, (s, _, _) in CODES.items() if str(s) == status]
    return WHY[status] + (" — codes: " + ", ".join(codes) if codes else "")


class SchemaError(BaseModel):
    loc: list[str | int]
    type: str
    msg: str = Field(description="English")
    message_zh: str = Field(description="中文说明")


class SchemaErrorBody(BaseModel):
    """A schema error (422): FastAPI's list shape, each entry with its Chinese."""

    detail: list[SchemaError]


def statuses(route: APIRoute, method: str, roles: frozenset[Role]) -> list[str]:
    """The error statuses an operation may answer."""
    found = {"500"}
    if Role.PUBLIC not in roles:
        found |= {"401", "403"}
    if "{" in route.path:
        found.add("404")
    if method in ("POST", "PUT", "PATCH"):
        found |= {"413", "422"}
    if route.dependant.query_params or route.dependant.path_params or route.body_field:
        found.add("422")
    if route.endpoint.__module__ in SERVICE_ROUTES:
        found |= {"502", "503", "504"}
        if method == "POST" and "{" in route.path:
            found.add("409")
    if route.path == "/api/v1/clues":
        found |= {"415", "503"}
    if route.path.startswith(LIMITED_PATHS):
        found.add("429")
    if route.path == "/readyz":
        found.add("503")
    return sorted(found)


def who_may_call(roles: frozenset[Role]) -> str:
    if Role.PUBLIC in roles:
        return "**Who may call:** anyone, without signing in (公众,无需登录)."
    names = ", ".join(f"`{r.value}` {ROLE_LABELS_ZH[r]}" for r in sorted(roles,
                                                                       key=lambda r: r.value))
    return f"**Who may call:** {names} (bearer token). 仅限上述角色。"


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route with its full path (included routers flattened)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        found = app.routes
    else:
        found = [context.route for context in iter_route_contexts(app.routes)]
    return [r for r in found if isinstance(r, APIRoute) and r.include_in_schema]


def describe(app: FastAPI, schema: dict[str, Any]) -> None:
    roles_of = route_roles(app)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, SchemaErrorBody):
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    schema_or_refusal = {"application/json": {"schema": {"anyOf": [
        {"$ref": "#/components/schemas/SchemaErrorBody"},
        {"$ref": "#/components/schemas/ErrorBody"}]}}}
    for route in api_routes(app):
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            roles = roles_of.get((method, route.path))
            if operation is None or roles is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in statuses(route, method, roles):
                responses[status] = {"description": why(status), "content": (
                    schema_or_refusal if status == "422" else error)}
            for status, response in responses.items():  # those the route declares itself
                if int(status) >= 400:
                    response.setdefault("content", error)
            operation["responses"] = dict(sorted(responses.items()))
            operation["x-roles"] = [Role.PUBLIC.value] if Role.PUBLIC in roles \
                else sorted(r.value for r in roles)
            operation["description"] = "\n\n".join(
                p for p in (operation.get("description"), who_may_call(roles)) if p)
            if Role.PUBLIC in roles:
                operation.pop("security", None)
            else:
                operation["security"] = [{"HTTPBearer": []}]
    schema["components"].setdefault("securitySchemes", {})["HTTPBearer"] = BEARER_SCHEME
    validation = components.get("HTTPValidationError")
    if validation is not None and not _referenced(schema["paths"], "HTTPValidationError"):
        components.pop("HTTPValidationError")
        if not _referenced(components, "ValidationError"):
            components.pop("ValidationError", None)


def _referenced(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == f"#/components/schemas/{name}" or any(
            _referenced(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_referenced(v, name) for v in node)
    return False


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that adds statuses, roles and security."""
    generate = app.openapi
    described: dict[str, int] = {}

    def openapi() -> dict[str, Any]:
        schema = generate()
        if described.get("id") != id(schema):
            describe(app, schema)
            described["id"] = id(schema)
        return schema

    app.openapi = openapi
