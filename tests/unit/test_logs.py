"""Logs: one JSON line a record, the correlation id of what is being handled in it, nothing
secret in it whatever logs it, and the id carried from a request or a message to what it
causes (events, the next message's handling)."""
from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings
from contextlib import contextmanager

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import pytest  # noqa: E402
from nameko.events import EventHandler  # noqa: E402
from nameko.rpc import Rpc  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from contracts.events import ClueAccepted, ClueFields, ProblemRegistered  # noqa: E402
from gateway.request_log import RequestLog, request_id_from  # noqa: E402
from kit import logs  # noqa: E402
from kit.nameko_ext import Correlation, StoreAccess  # noqa: E402
from tests.unit.test_poison import FakeUow  # noqa: E402


@contextmanager
def captured(level=logging.INFO):
    """What the root logger writes meanwhile, through the processes' formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.formatter("test"))
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def records(out: io.StringIO) -> list[dict]:
    """The lines written, but the test client's own (httpx logs each request)."""
    return [r for r in map(json.loads, out.getvalue().splitlines()) if r["logger"] != "httpx"]


@pytest.fixture(autouse=True)
def unbound():
    token = logs.bind(None)
    yield
    logs.unbind(token)


# --- one JSON line ------------------------------------------------------------------------------

def test_a_record_is_one_json_line_with_its_fields_and_the_bound_correlation_id():
    logs.bind("req-1")
    with captured() as out:
        logging.getLogger("ledger.x").info("registered %s", "p1", extra={"problem_id": "p1"})
    (line,) = records(out)
    assert line["event"] == "registered p1" and line["level"] == "info"
    assert (line["logger"], line["process"], line["correlation_id"]) == ("ledger.x", "test",
                                                                         "req-1")
    assert line["problem_id"] == "p1" and line["time"].endswith("Z")


def test_no_correlation_id_is_written_when_none_is_bound():
    with captured() as out:
        logging.getLogger("x").warning("plain")
    assert "correlation_id" not in records(out)[0]


def test_a_traceback_stays_inside_its_line_as_the_exception_field():
    with captured() as out:
        try:
            raise ValueError("bad value\nsecond line")
        except ValueError:
            logging.getLogger("x").exception("failed")
    text = out.getvalue()
    assert len(text.splitlines()) == 1
    line = json.loads(text)
    assert line["level"] == "error" and "ValueError: bad value\nsecond line" in line["exception"]


def test_an_expected_refusal_is_one_info_line_without_its_traceback():
    logs.install()
    with captured() as out:
        try:
            raise LookupError("no clue has this receipt code")
        except LookupError as exc:
            logging.getLogger("nameko.containers").warning(
                "(expected) error handling worker %s: %s", "<WorkerContext [intake.x]>", exc,
                exc_info=True)
    (line,) = records(out)
    assert line["level"] == "info" and "exception" not in line
    assert line["event"] == "refused <WorkerContext [intake.x]>: no clue has this receipt code"


def test_chinese_stays_readable_and_unicode_line_breaks_are_escaped():
    with captured() as out:
        logging.getLogger("x").info("食堂卫生\u2028问题\x85")
    text = out.getvalue()
    assert "食堂卫生" in text and len(text.splitlines()) == 1
    assert json.loads(text)["event"] == "食堂卫生\u2028问题\x85"


# --- redaction ----------------------------------------------------------------------------------

SENSITIVE = [
    "ABCD-EFGH-JKLM-NPQR", "abcd-efgh-jklm-npqr", "ABCD EFGH JKLM NPQR", "ABCDEFGHJKLMNPQR",
    "13800138000", "+8613800138000", "0317-6012345", "+44 20 7946 0958",
    "zhao.liu+tips@example.cn", "Bearer abc.DEF-123_456", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "p311_Zq3xW7vT0m9Yb2Kc8LnR4sUe6HaJ1dGf5iOp",
]


@pytest.mark.parametrize("value", SENSITIVE)
def test_sensitive_looking_text_is_masked_in_the_message_and_any_field(value):
    with captured() as out:
        logging.getLogger("x").info("电话%s,请核实", value, extra={"note": f"x {value} y"})
    line = records(out)[0]
    assert value not in out.getvalue()
    assert line["event"] == "电话[redacted],请核实" and line["note"] == "x [redacted] y"


def test_a_password_in_a_url_is_masked_and_the_rest_kept():
    assert logs.redact_text("Connected to amqp://guest:s3cret@10.0.0.5:5672/prod") == \
        "Connected to amqp://[redacted]@10.0.0.5:5672/prod"


@pytest.mark.parametrize("key", ["password", "new_password", "access_token", "api_key",
                                 "webhook_secret", "Authorization", "receipt_code", "phone",
                                 "email", "reporter", "contact"])
def test_a_field_under_a_sensitive_name_is_masked_whatever_its_value(key):
    with captured() as out:
        logging.getLogger("x").info("changed", extra={key: "plain-looking", "nested": {key: 1}})
    line = records(out)[0]
    assert line[key] == "[redacted]" and line["nested"] == {key: "[redacted]"}


def test_a_sensitive_value_in_a_traceback_is_masked():
    with captured() as out:
        try:
            raise ValueError("input_value='13912345678'")
        except ValueError:
            logging.getLogger("x").exception("invalid")
    assert "13912345678" not in out.getvalue() and "[redacted]" in records(out)[0]["exception"]


@pytest.mark.parametrize("text", [
    "applied clue_submitted", "POST /api/v1/problems/3f2a13800138000b9c1d2e3f4a5b6c7d/dispatch 200",
    "2026-12-02T09:55:52.984Z", "scheduled job ledger.clock_sweep ran for 2026-12-02",
    "Connected to amqp://guest@127.0.0.1:5672/test-efefb0d63a", "食堂卫生问题多次反映无人处理",
    "rpc ledger.act 12.5 ms", "delivery 1234567 (email) attempt 3", "SHA-256 e3b0c44298fc1c14",
    "have been done with this", "READY FOR THE NEXT ONE", "problem p-12 registered",
])
def test_ids_dates_routes_and_ordinary_text_are_left_alone(text):
    assert logs.redact_text(text) == text


# --- the correlation id -------------------------------------------------------------------------

@pytest.mark.parametrize("given, traceparent, expected", [
    ("clue-42.a:b", None, "clue-42.a:b"),
    ("7f3e", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "7f3e"),
    (None, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
     "4bf92f3577b34da6a3ce929d0e0e4736"),
    ("bad id\nforged", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
     "4bf92f3577b34da6a3ce929d0e0e4736"),
])
def test_a_callers_request_id_or_trace_id_is_taken_when_it_is_sane(given, traceparent,
                                                                     expected):
    assert request_id_from(given, traceparent) == expected


@pytest.mark.parametrize("given, traceparent", [
    (None, None), ("x" * 129, None), ("有中文", None), ("a b", None), ("-leading", None),
    (None, "00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
    (None, "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), (None, "garbage"),
])
def test_otherwise_a_new_id_is_made(given, traceparent):
    made = request_id_from(given, traceparent)
    assert len(made) == 32 and int(made, 16) >= 0


def test_an_event_built_while_handling_carries_the_bound_id_unless_it_names_one():
    assert ClueAccepted(clue_id="c", clue=ClueFields(channel="x", title="tt", description="d"),
                        submitted_at="2026-12-02T00:00:00Z").correlation_id is None
    logs.bind("req-9")
    built = ClueAccepted(clue_id="c", clue=ClueFields(channel="x", title="tt", description="d"),
                         submitted_at="2026-12-02T00:00:00Z")
    assert built.correlation_id == "req-9" and built.to_message()["correlation_id"] == "req-9"
    assert ClueAccepted.model_validate({**built.to_message(), "correlation_id": "other"}
                                       ).correlation_id == "other"


def accepted(n: int, cid: str | None) -> dict:
    body = ClueAccepted(event_id=f"e{n}", clue_id=f"c{n}", submitted_at="2026-12-02T00:00:00Z",
                        clue=ClueFields(channel="x", title="tt", description="d")).to_message()
    body["correlation_id"] = cid
    return body


def test_each_message_of_a_batch_is_applied_under_its_own_id_and_passes_it_on():
    seen, emitted = [], []

    def apply(uow, message):
        seen.append(logs.correlation_id())
        emitted.append(ProblemRegistered(problem_id="p", clue_id=message.clue_id, title="t",
                                         registered_at="2026-12-02T00:00:00Z"))

    access = StoreAccess(lambda: FakeUow([]), "ledger.on_clue_accepted", ClueAccepted)
    with captured() as out:
        done = access.each([accepted(1, "req-a"), accepted(2, None)], apply)
    assert done == [True, True]
    assert seen == ["req-a", "e2"]  # a message without one: its own event id
    assert [e.correlation_id for e in emitted] == ["req-a", "e2"]
    (line,) = [r for r in records(out) if r["event"].startswith("applied")]
    assert (line["event"], line["messages"], line["consumer"]) == (
        "applied clue_accepted", 2, "ledger.on_clue_accepted")
    assert line["event_ids"] == ["e1", "e2"] and line["correlation_ids"] == ["req-a", "e2"]
    assert "correlation_id" not in line  # two ids: the line is about both


def test_applying_a_batch_leaves_the_callers_id_as_it_was():
    logs.bind("outer")
    access = StoreAccess(lambda: FakeUow([]), "ledger.on_clue_accepted", ClueAccepted)
    access.each([accepted(4, "req-d")], lambda uow, message: None)
    assert logs.correlation_id() == "outer"


def test_a_batch_of_one_is_logged_under_its_id():
    access = StoreAccess(lambda: FakeUow([]), "ledger.on_clue_accepted", ClueAccepted)
    with captured() as out:
        access.each([accepted(3, "req-c")], lambda uow, message: None)
    (line,) = records(out)
    assert (line["correlation_id"], line["event_ids"]) == ("req-c", ["e3"])


class WorkerContext:
    def __init__(self, entrypoint, context_data):
        self.entrypoint, self.context_data = entrypoint, context_data
        self.service_name = "ledger"


def entrypoint(kind, method):
    made = kind() if kind is Rpc else kind("intake", "clue_accepted")
    made.method_name = method
    return made


def test_an_rpc_worker_runs_under_its_callers_id_and_logs_one_line():
    provider = Correlation()
    ctx = WorkerContext(entrypoint(Rpc, "act"), {"correlation_id": "req-7"})
    with captured() as out:
        provider.worker_setup(ctx)
        assert logs.correlation_id() == "req-7"
        provider.worker_result(ctx, result={})
        provider.worker_teardown(ctx)
    assert logs.correlation_id() is None
    (line,) = records(out)
    assert (line["event"], line["correlation_id"]) == ("rpc ledger.act", "req-7")
    assert isinstance(line["ms"], float)


def test_a_worker_without_a_callers_id_gets_a_new_one_it_passes_on_but_not_a_batch():
    provider = Correlation()
    rpc = WorkerContext(entrypoint(Rpc, "act"), {})
    provider.worker_setup(rpc)
    assert logs.correlation_id() == rpc.context_data["correlation_id"]  # nameko forwards it
    provider.worker_teardown(rpc)
    batch = WorkerContext(entrypoint(EventHandler, "on_clue_accepted"), {})
    provider.worker_setup(batch)
    assert logs.correlation_id() is None  # each message binds its own (StoreAccess.each)
    provider.worker_teardown(batch)


def test_a_failed_rpc_logs_no_second_line_beside_nameko_s_own():
    provider = Correlation()
    ctx = WorkerContext(entrypoint(Rpc, "act"), {"correlation_id": "req-8"})
    with captured() as out:
        provider.worker_setup(ctx)
        provider.worker_result(ctx, exc_info=(ValueError, ValueError("x"), None))
        provider.worker_teardown(ctx)
    assert records(out) == []


# --- the gateway's requests ---------------------------------------------------------------------

def app_with(status: int = 200):
    async def endpoint(request):
        logging.getLogger("gateway.x").info("inside")
        return PlainTextResponse("ok", status_code=status)
    inner = Starlette(routes=[Route("/things/{id}", endpoint), Route("/healthz", endpoint)])
    return TestClient(RequestLog(inner))


def test_a_request_is_answered_with_its_id_and_logged_once_under_it():
    with captured() as out:
        reply = app_with(201).get("/things/1", headers={"X-Request-ID": "req-42"})
    assert reply.headers["x-request-id"] == "req-42"
    inside, access = records(out)
    assert inside["correlation_id"] == access["correlation_id"] == "req-42"
    assert (access["event"], access["status"]) == ("GET /things/1 201", 201)


def test_a_request_without_an_id_gets_a_new_one_in_its_answer():
    with captured() as out:
        reply = app_with().get("/things/1", headers={"X-Request-ID": "bad\tid"})
    made = reply.headers["x-request-id"]
    assert len(made) == 32 and records(out)[-1]["correlation_id"] == made


def test_probes_are_logged_only_when_they_fail():
    with captured() as out:
        app_with(200).get("/healthz")
    assert [r["event"] for r in records(out)] == ["inside"]
    with captured() as out:
        app_with(503).get("/healthz")
    assert records(out)[-1]["event"] == "GET /healthz 503"


# --- reading ------------------------------------------------------------------------------------

def test_a_line_reads_as_text_in_a_terminal():
    line = json.dumps({"time": "2026-12-02T09:55:52.984Z", "level": "warning", "process": "intake",
                       "pid": 1, "logger": "kit.relay", "event": "outbox relay: retrying",
                       "correlation_id": "0123456789abcdef", "consumer": "intake.on_x",
                       "exception": "Traceback\nValueError"})
    assert logs.human(line) == ("09:55:52.984 WARN  kit.relay: outbox relay: retrying [01234567] "
                                "consumer=intake.on_x\nTraceback\nValueError")
    assert logs.human("not json") == "not json"


def test_configure_makes_warnings_and_uncaught_exceptions_json_lines():
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, threading.excepthook)
    gathered = (logging._srcfile, logging.logThreads, logging.logProcesses,
                logging.logMultiprocessing)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            logs.configure("gateway", stream=out)
            warnings.warn("deprecated thing", UserWarning, stacklevel=1)
        try:
            raise RuntimeError("crashed")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        root.handlers[:], sys.excepthook, threading.excepthook = saved[0], *saved[2:]
        root.setLevel(saved[1])
        logging.captureWarnings(False)
        (logging._srcfile, logging.logThreads, logging.logProcesses,
         logging.logMultiprocessing) = gathered
    lines = records(out)
    assert {r["process"] for r in lines} == {"gateway"}
    assert any("deprecated thing" in r["event"] for r in lines)
    assert any(r["event"] == "uncaught exception" and "RuntimeError: crashed" in r["exception"]
               for r in lines)
