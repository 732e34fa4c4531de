"""One error vocabulary, bilingual all through; no internals in any answer; logs one line a
record (in-process: the gateway with a stand-in broker, the ledger's refusals, logging)."""
from __future__ import annotations

import json
import logging
import re
import sys

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth import tokens
from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from kit.settings import Settings
from kit import logs
from kit.errors import EXPECTED, Conflict, Invalid, NotFound, refusal_from_reply
from services.ledger.domain.access import NotPermitted
from services.ledger.domain.actions import InvalidInput
from services.ledger.domain.lifecycle import Action, IllegalTransition, State
from services.ledger.domain.plan import PlanInvalid
from services.ledger.refusals import refusal

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
HANDLER = Principal("acc-2", "handler-school1", Role.UNIT_HANDLER, "org_sch_yanshan_high")
COUNTY = Principal("acc-1", "county", Role.COUNTY_OFFICE, "org_county_office")
ACCOUNTS: dict[str, Principal] = {}  # tokens are honoured for real accounts only
SQL = ('(psycopg2.errors.StringDataRightTruncation) value too long for type character '
       'varying(64) [SQL: INSERT INTO work_plans (id, unit) VALUES (%(id)s, %(unit)s)]')
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def nameko_reply(exc: Exception) -> dict:
    """What nameko puts in an RPC error reply (``nameko.exceptions.serialize``)."""
    from nameko.exceptions import serialize
    return serialize(exc)


class StandInBroker:
    """Answers every call with ``answer`` (raised when it is an exception)."""

    connected = True

    def __init__(self):
        self.answer = None
        self.calls = []

    def start(self):
        pass

    def stop(self):
        pass

    async def call(self, service, method, **kwargs):
        self.calls.append((service, method, kwargs))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def broker():
    return StandInBroker()


@pytest.fixture
def client(tmp_path, broker):
    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path)
    with TestClient(create_app(settings, broker=broker), raise_server_exceptions=False) as c:
        for p in (HANDLER, COUNTY):
            ACCOUNTS[p.username] = c.app.state.accounts.create(
                p.username, "long enough password", p.role, p.org_code).principal()
        yield c


def bearer(principal: Principal) -> dict:
    return {"Authorization": "Bearer " + tokens.issue(ACCOUNTS[principal.username], SECRET, 30)}


def as_handler() -> dict:
    return bearer(HANDLER)


# --- the vocabulary ----------------------------------------------------------------------------

def test_error_codes_are_snake_case_and_refusals_carry_both_languages():
    with pytest.raises(ValueError):
        Conflict("x", "冲突", "Conflict")
    refusal_ = NotFound("no clue has this receipt code", "未找到该回执码对应的线索。",
                        "unknown_receipt")
    back = refusal_from_reply(nameko_reply(refusal_))
    assert (type(back), back.code, back.message_zh, back.field) == (
        NotFound, "unknown_receipt", "未找到该回执码对应的线索。", None)
    assert Invalid("x", "错误").code == "invalid_input"
    assert {k.status for k in EXPECTED} == {404, 422, 409, 403}


def test_a_foreign_exception_is_never_taken_for_a_refusal():
    class NotFound(Exception):  # same name, another home
        pass

    assert refusal_from_reply(nameko_reply(NotFound(SQL))) is None
    assert refusal_from_reply(nameko_reply(ValueError(SQL))) is None
    assert refusal_from_reply({"exc_type": "NotFound", "exc_path": "kit.errors.NotFound",
                               "exc_args": [SQL]}) is None


# --- the gateway's answers ---------------------------------------------------------------------

def test_a_refusal_from_a_service_keeps_its_code_languages_and_field(client, broker):
    broker.answer = RemoteCallError(nameko_reply(Invalid(
        "phase: unknown phase 'x'", "工作阶段不是本次专项工作的阶段。", "invalid_input", "phase")))
    reply = client.get("/api/v1/work-plans/missing?phase=x",
                       headers=bearer(COUNTY))
    assert reply.status_code == 422
    assert reply.json() == {"detail": {
        "code": "invalid_input", "message": "phase: unknown phase 'x'",
        "message_zh": "工作阶段不是本次专项工作的阶段。", "field": "phase"}}


def test_a_service_crash_answers_502_with_only_a_correlation_id(client, broker, caplog):
    broker.answer = RemoteCallError(nameko_reply(ValueError(SQL)))
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        reply = client.post("/api/v1/work-plans", headers=as_handler(),
                            json={"title": "工作方案", "summary": "本单位清理工作方案"})
    assert reply.status_code == 502
    detail = reply.json()["detail"]
    cid = detail["correlation_id"]
    assert detail["code"] == "upstream_error"
    assert LATIN_WORD.search(detail["message_zh"].replace(cid, "")) is None
    assert "SQL" not in reply.text and "ValueError" not in reply.text
    assert reply.headers["x-correlation-id"] == cid and cid in detail["message_zh"]
    assert any(cid in r.getMessage() and "INSERT INTO" in r.getMessage() for r in caplog.records)


def test_an_unhandled_gateway_error_answers_500_with_only_a_correlation_id(client, broker,
                                                                           caplog):
    broker.answer = RuntimeError("connection string postgresql://secret@db/ledger")
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        reply = client.get("/api/v1/work-plans", headers=as_handler())
    assert reply.status_code == 500
    assert "postgresql" not in reply.text and "RuntimeError" not in reply.text
    detail = reply.json()["detail"]
    assert detail["code"] == "internal_error" and detail["message_zh"].startswith("服务器内部出错")
    logged = [r for r in caplog.records if detail["correlation_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None


@pytest.mark.parametrize("body, field", [
    ({"title": ["a"], "summary": "本单位清理工作方案"}, "title"),
    ({"title": {"a": 1}, "summary": "本单位清理工作方案"}, "title"),
    ({"title": "工作方案", "summary": 12345}, "summary"),
    ({"title": "工作方案", "summary": "本单位清理工作方案", "document_sha256": "a" * 65}, "document_sha256"),
    ({"title": "工作方案", "summary": "本单位清理工作方案", "document_sha256": "A" * 64}, "document_sha256"),
    ({"title": "工作方案", "summary": "本单位清理工作方案", "document_sha256": "g" * 64}, "document_sha256"),
    ({"title": "工作方案", "summary": "本单位清理工作方案", "document_sha256": ["a" * 64]},
     "document_sha256"),
    ({"title": "工作方案", "summary": "本单位清理工作方案", "owner": "x"}, "owner"),
])
def test_a_work_plan_is_checked_by_type_at_the_gateway(client, broker, body, field):
    reply = client.post("/api/v1/work-plans", headers=as_handler(), json=body)
    assert reply.status_code == 422, reply.text
    assert [e["loc"][-1] for e in reply.json()["detail"]] == [field]
    assert all(e["message_zh"] for e in reply.json()["detail"])
    assert broker.calls == []


def test_a_valid_work_plan_reaches_the_ledger_as_plain_strings(client, broker):
    broker.answer = {"id": "p1"}
    uploaded = client.post("/api/v1/files", headers={**as_handler(), "X-Filename": "plan.pdf"},
                           content=b"%PDF-1.4\n" + b"0" * 100)
    digest = uploaded.json()["files"][0]["original"]["sha256"]
    reply = client.post("/api/v1/work-plans", headers=as_handler(), json={
        "title": " 工作方案 ", "summary": "本单位清理工作方案", "document_sha256": digest})
    assert reply.status_code == 201
    (_, method, kwargs), = broker.calls
    assert (method, kwargs["title"], kwargs["document_sha256"]) == (
        "file_work_plan", "工作方案", digest)


# --- the ledger's refusals, in Chinese all through ------------------------------------------

@pytest.mark.parametrize("exc, code, status", [
    (PlanInvalid([("target", "required"), ("deadline", "lies in the past"),
                  ("milestones[0].due_on", "after the plan's deadline")]), "invalid_plan", 422),
    (PlanInvalid([("plan", "required, an object with the plan's fields")]), "invalid_plan", 422),
    (InvalidInput("respond_days", "a whole number of working days, 1 to 120"),
     "invalid_input", 422),
    (InvalidInput("evidence[2].description", "required"), "invalid_input", 422),
    (InvalidInput("unit", "unknown unit 'org_x'"), "invalid_input", 422),
    (InvalidInput("phase", "unknown phase 'x\nINFO forged'"), "invalid_input", 422),
    (InvalidInput("title", "2 to 200 characters"), "invalid_input", 422),
    (InvalidInput("somefield", "something the table does not know"), "invalid_input", 422),
    (IllegalTransition(State.CLOSED, Action.DISPATCH), "illegal_transition", 409),
    (IllegalTransition(State.RECTIFYING, Action.SUSPEND, "the problem is already suspended"),
     "illegal_transition", 409),
    (NotPermitted("this problem is outside your system"), "not_permitted", 403),
    (NotPermitted("only the handler of unit org_a may verify"), "not_permitted", 403),
])
def test_every_ledger_refusal_reads_in_chinese_without_an_english_tail(exc, code, status):
    mapped = refusal(exc)
    assert (mapped.code, mapped.status) == (code, status)
    assert LATIN_WORD.search(mapped.message_zh) is None, mapped.message_zh
    assert mapped.message == str(exc) or str(exc) in mapped.message


def test_a_plan_refusal_names_each_field_by_its_chinese_label():
    mapped = refusal(PlanInvalid([("target", "required"), ("lead_official", "required")]))
    assert mapped.message_zh == "整改计划不完整或有误:整改目标为必填项;牵头领导为必填项。"
    assert mapped.field == "plan.target"


# --- logs --------------------------------------------------------------------------------------

def record(msg, *args, level=logging.INFO, name="gateway", exc_info=None):
    logs.install()
    return logging.getLogRecordFactory()(name, level, __file__, 1, msg, args, exc_info)


def test_user_text_cannot_start_a_forged_log_line():
    forged = "x\n2026-12-01 00:00:00 ledger ERROR forged\r\u2028\x85\x1b[31m"
    line = logs.formatter("ledger").format(record("unknown phase %s", forged))
    assert len(line.splitlines()) == 1 and "\x1b" not in line
    assert json.loads(line)["event"] == f"unknown phase {forged}"


def test_an_expected_refusal_is_one_info_line_without_a_traceback():
    try:
        raise NotFound("no clue has this receipt code", "未找到。", "unknown_receipt")
    except NotFound as exc:
        rec = record("(expected) error handling worker %s: %s", "<WorkerContext [intake."
                     "get_receipt]>", exc, level=logging.WARNING, name="nameko.containers",
                     exc_info=sys.exc_info())
    logging.getLogger("nameko.containers").filter(rec)
    formatted = logging.Formatter("%(levelname)s %(message)s").format(rec)
    assert formatted == ("INFO refused <WorkerContext [intake.get_receipt]>: no clue has this "
                         "receipt code")


def test_an_unexpected_error_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = record("error handling worker %s: %s", "w", "boom", level=logging.ERROR,
                     name="nameko.containers", exc_info=sys.exc_info())
    logging.getLogger("nameko.containers").filter(rec)
    assert "Traceback" in logging.Formatter("%(message)s").format(rec)


# --- one home for the codes --------------------------------------------------------------------

def codes_in_source() -> dict[str, list[str]]:
    """Every error code literal the code base answers with, and where: the second argument
    of ``problem(...)``/``error(...)``/``ClueProblem(...)``, the first of ``_body(...)``,
    the third (or ``code=``) of a refusal, ``code = "..."`` in a class, and
    ``{"code": "..."}``."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    second = {"problem", "error", "ClueProblem"}
    third = {"RemoteError", "NotFound", "Invalid", "Conflict", "Forbidden"}
    found: dict[str, list[str]] = {}

    def note(node, where):
        if isinstance(node, ast.IfExp):
            note(node.body, where)
            note(node.orelse, where)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.setdefault(node.value, []).append(where)

    for folder in ("gateway", "services", "kit", "contracts"):
        for path in (root / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                    if name in second and len(node.args) > 1:
                        note(node.args[1], where)
                    if name == "_body" and node.args:
                        note(node.args[0], where)
                    if name in third:
                        if len(node.args) > 2:
                            note(node.args[2], where)
                        for kw in node.keywords:
                            if kw.arg == "code":
                                note(kw.value, where)
                elif isinstance(node, ast.ClassDef):
                    for stmt in node.body:
                        if isinstance(stmt, ast.Assign) and any(
                                getattr(t, "id", "") in ("code", "default_code")
                                for t in stmt.targets):
                            note(stmt.value, where)
                elif isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values):
                        if isinstance(key, ast.Constant) and key.value == "code":
                            note(value, where)
    return found


def test_every_error_code_is_snake_case_and_has_its_home_in_kit_errors():
    from kit.errors import CODE, CODES

    found = codes_in_source()
    assert {"unknown_receipt", "illegal_transition", "unauthenticated", "body_too_large",
            "upstream_error"} <= set(found)
    strays = {code: places for code, places in found.items() if code not in CODES}
    assert strays == {}, "add these codes to kit.errors.CODES (status, English, Chinese)"
    assert all(CODE.match(code) for code in CODES)
    names = re.compile(r"Idempotency-Key|JSON")  # technical names stay as they are
    assert all(LATIN_WORD.search(names.sub("", zh)) is None for _, _, zh in CODES.values())


def test_the_domains_own_chinese_is_used_where_it_has_the_words():
    exc = InvalidInput("on_behalf_of", "not this problem's unit (org_a)")
    exc.message_zh = "不是该问题的承办单位"
    assert refusal(exc).message_zh == "代为办理的单位不是该问题的承办单位。"

    class DutiesNotSeparated(NotPermitted):
        pass

    duties = DutiesNotSeparated("you reported this step; another account decides on it")
    duties.message_zh = "本环节由您报告,须由其他账号审核。"
    mapped = refusal(duties)
    assert (mapped.code, mapped.status, mapped.message_zh) == (
        "duties_not_separated", 403, "本环节由您报告,须由其他账号审核。")
