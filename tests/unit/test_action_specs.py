"""One vocabulary, one specification per action: the ledger's table, its access rules, the
gateway's routes and OpenAPI, notify and intake all agree with ``contracts.actions``."""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from contracts.actions import SPECS, ActionInput, field_path
from contracts.vocabulary import (
    REACH, Action, EventName, Outcome, Party, Reach, Role, State, actor_kind,
)
from gateway.app import create_app
from gateway.auth.guards import route_roles
from gateway.routes.problems import ACTION_ROLES, ACTION_SUMMARIES
from kit.settings import Settings
from services.intake import domain as intake
from services.ledger.domain import access, lifecycle
from services.ledger.domain.actions import HANDLERS, InvalidInput, parse_input
from services.notify import domain as notify

ACTIONS = list(Action)
# The reporter's own steps, reached by receipt code on the follow-up page (no account).
REPORTER_STEPS = [Action.REPORTER_SUPPLEMENT, Action.RATE_SATISFACTION]
STAFF_ACTIONS = [a for a in ACTIONS if a not in REPORTER_STEPS]


@pytest.fixture(scope="module")
def app():
    settings = Settings(amqp_uri="amqp://guest:guest@127.0.0.1:1/",
                               data_dir=Path(tempfile.mkdtemp(prefix="specs-")))
    return create_app(settings)


@pytest.fixture(scope="module")
def openapi(app):
    return app.openapi()


# ── Every action has exactly one whole specification ────────────────────────────────────────

def test_every_action_has_one_specification_and_one_handler():
    assert set(SPECS) == set(Action) == set(HANDLERS)
    assert all(SPECS[a].action is a for a in Action)


@pytest.mark.parametrize("action", ACTIONS, ids=[a.value for a in ACTIONS])
def test_a_specification_is_whole(action):
    spec = SPECS[action]
    assert spec.from_states and all(isinstance(s, State) for s in spec.from_states)
    assert spec.target is None or isinstance(spec.target, State)
    assert isinstance(spec.event, EventName)
    assert spec.callers and all(isinstance(c, (Role, Party)) for c in spec.callers)
    assert spec.roles or spec.callers == (Party.REPORTER,), (
        "some account role must be able to call every action but the reporter's own")
    assert issubclass(spec.input, ActionInput)
    assert spec.input.model_config["frozen"] and spec.input.model_config["extra"] == "forbid"
    assert spec.summary_zh.strip() and spec.summary_en.strip()
    assert spec.decides is None or SPECS[spec.decides].unit_step


def test_event_names_are_one_per_action_and_in_the_past_tense():
    events = [spec.event for spec in SPECS.values()]
    assert len(set(events)) == len(events) == len(EventName)
    assert all(e.value.endswith(("ed", "_off", "_unfounded")) for e in events)


# ── The ledger's rules are read off the specifications ──────────────────────────────────────

def test_the_ledgers_transition_table_agrees_with_the_specifications():
    expected = {(state, a): spec.target or state
                for a, spec in SPECS.items() for state in spec.from_states}
    assert lifecycle.TRANSITIONS == expected
    assert lifecycle.EVENT_NAMES == {a: spec.event for a, spec in SPECS.items()}
    assert lifecycle.CLOSING_OUTCOME == {a: s.closes_as for a, s in SPECS.items() if s.closes_as}
    assert set(lifecycle.CLOSING_OUTCOME.values()) == set(Outcome)
    assert {s for (_, a), s in lifecycle.TRANSITIONS.items()
            if a in lifecycle.CLOSING_OUTCOME} == {State.CLOSED}


def test_the_ledgers_access_rules_are_read_off_the_callers():
    assert access.UNIT_ACTIONS == {a for a, s in SPECS.items() if Role.UNIT_HANDLER in s.callers}
    assert access.REOPENERS == set(SPECS[Action.REOPEN].callers)
    assert all(REACH.get(c) is not None for spec in SPECS.values() for c in spec.callers)


def test_the_reporter_is_a_party_not_an_account_role():
    assert actor_kind("reporter") is Party.REPORTER
    assert "reporter" not in {r.value for r in Role}
    assert REACH[Party.REPORTER] is Reach.OWN_CLUE
    assert [a for a, s in SPECS.items() if Party.REPORTER in s.callers] == [
        Action.REOPEN, *REPORTER_STEPS]
    assert [a for a, s in SPECS.items() if not s.roles] == REPORTER_STEPS


# ── The gateway's routes are the specifications ─────────────────────────────────────────────

def test_the_gateways_roles_and_summaries_are_derived_from_the_specifications():
    assert ACTION_ROLES == {a.value: s.roles for a, s in SPECS.items()}
    assert ACTION_SUMMARIES == {a.value: f"{s.summary_zh} {s.summary_en}"
                                for a, s in SPECS.items()}


def test_every_action_route_exists_guarded_by_exactly_its_specifications_roles(app):
    roles = route_roles(app)
    action_routes = {path.rsplit("/", 1)[1]: allowed for (method, path), allowed in roles.items()
                     if method == "POST" and path.startswith("/api/v1/problems/{problem_id}/")}
    assert set(action_routes) == {a.value for a in STAFF_ACTIONS}
    for action, allowed in action_routes.items():
        assert allowed == frozenset(SPECS[Action(action)].roles), action


def _schema(openapi: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return openapi["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


@pytest.mark.parametrize("action", STAFF_ACTIONS, ids=[a.value for a in STAFF_ACTIONS])
def test_every_action_body_has_named_typed_fields_in_openapi(openapi, action):
    operation = openapi["paths"][f"/api/v1/problems/{{problem_id}}/{action.value}"]["post"]
    body = _schema(openapi, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body.get("additionalProperties") is False
    assert set(body["properties"]) == set(SPECS[action].input.model_fields)
    for name, prop in body["properties"].items():
        assert "type" in prop or "$ref" in prop or "anyOf" in prop or "allOf" in prop, name
    assert set(body.get("required", [])) == {
        n for n, f in SPECS[action].input.model_fields.items() if f.is_required()}
    assert operation["summary"] == SPECS[action].summary


# ── An input model refuses junk by type, naming the field ───────────────────────────────────

GOOD = {"description": "整改照片", "sha256": "ab" * 32}
JUNK = [
    (Action.CHECK_PROGRESS, {"flags": [{"flag": ["inadequate"], "reason": "r"}],
                             "new_deadline": "2030-01-01"}, "flags[0].flag"),
    (Action.CHECK_PROGRESS, {"flags": [{"flag": {"a": 1}, "reason": "r"}]}, "flags[0].flag"),
    (Action.REOPEN, {"source": ["spot_check"], "reason": "抽查"}, "source"),
    (Action.REOPEN, {"source": 7, "reason": "抽查"}, "source"),
    (Action.REPORT_RECTIFIED, {"evidence": [{**GOOD, "sha256": "ab" * 33}]},
     "evidence[0].sha256"),
    (Action.REPORT_RECTIFIED, {"evidence": [{**GOOD, "sha256": "zz" * 32}]},
     "evidence[0].sha256"),
    (Action.REPORT_UNFOUNDED, {"findings": "查无此事", "evidence": [{**GOOD, "sha256": 5}]},
     "evidence[0].sha256"),
    (Action.REPORT_UNFOUNDED, {"findings": ["a"], "evidence": [GOOD]}, "findings"),
    (Action.DISPATCH, {"respond_days": True}, "respond_days"),
    (Action.DISPATCH, {"respond_days": "5"}, "respond_days"),
    (Action.DISPATCH, {"respond_by": 20300101}, "respond_by"),
    (Action.STRIKE_OFF, {"note": "ok", "surprise": 1}, "surprise"),
    (Action.REPORT_RECTIFIED, {"evidence": [GOOD] * 51}, "evidence"),
]


@pytest.mark.parametrize(("action", "args", "field"), JUNK,
                         ids=[f"{a.value}-{f}-{i}" for i, (a, _, f) in enumerate(JUNK)])
def test_an_action_model_refuses_junk_naming_the_field(action, args, field):
    with pytest.raises(ValidationError) as caught:
        SPECS[action].input.model_validate(args)
    assert field_path(caught.value.errors()[0]["loc"]) == field
    with pytest.raises(InvalidInput) as refused:
        parse_input(action, args)
    assert refused.value.field == field and refused.value.message_zh


def test_an_evidence_hash_is_kept_in_lower_case_and_the_input_is_frozen():
    parsed = parse_input(Action.REPORT_RECTIFIED,
                         {"evidence": [{"description": " 照片 ", "sha256": "AB" * 32}]})
    assert parsed.evidence[0].sha256 == "ab" * 32 and parsed.evidence[0].description == "照片"
    with pytest.raises(ValidationError):
        parsed.note = "changed"
    assert isinstance(parsed, BaseModel)


def test_dates_are_iso_dates_only():
    parsed = parse_input(Action.REJECT_RECTIFICATION,
                         {"reason": "不到位", "new_deadline": "2030-01-31"})
    assert parsed.new_deadline == date(2030, 1, 31)


# ── Notify and intake speak the same words ──────────────────────────────────────────────────

def test_notify_knows_every_event_it_routes_by_its_vocabulary_name():
    lifecycle = {name for name in notify.RULES if name in set(EventName)}
    assert {EventName.DISPATCHED, EventName.VERIFIED, EventName.STRUCK_OFF} <= lifecycle
    assert all(rule.audience for rule in notify.RULES.values())


def test_intake_follows_the_ledgers_states_and_outcomes():
    assert set(intake.OUTCOME_LABELS) == set(Outcome)
    assert intake.status_after_transition(State.CLOSED, Outcome.MERGED) == (
        intake.CLOSED, Outcome.MERGED)
    assert intake.status_after_transition(State.REGISTERED, None) == (intake.REGISTERED, None)
    assert intake.status_after_transition(State.RECTIFYING, None) == (intake.IN_PROGRESS, None)


class RecordingBroker:
    """Stands in for the broker: records every RPC the gateway would make."""

    def __init__(self):
        self.calls = []

    def start(self):
        pass

    def stop(self):
        pass

    async def call(self, service, method, **kwargs):
        self.calls.append((service, method, kwargs))
        return {"ok": True}


def test_the_gateway_refuses_a_junk_body_before_any_rpc_and_passes_a_clean_one_on():
    from fastapi.testclient import TestClient

    from gateway.auth.tokens import issue

    broker = RecordingBroker()
    settings = Settings(amqp_uri="amqp://guest:guest@127.0.0.1:1/",
                               data_dir=Path(tempfile.mkdtemp(prefix="specs-")))
    with TestClient(create_app(settings, broker=broker)) as client:
        edu = client.app.state.accounts.create(  # tokens are honoured for real accounts only
            "edu", "long enough password", Role.SUPERVISOR, "org_education_bureau")
        token = issue(edu.principal(), settings.secret_key, 5)
        headers = {"Authorization": f"Bearer {token}"}
        url = "/api/v1/problems/p1/check_progress"
        junk = client.post(url, headers=headers, json={
            "flags": [{"flag": ["inadequate"], "reason": "未公示"}]})
        assert junk.status_code == 422 and broker.calls == []
        detail = junk.json()["detail"]
        first = detail[0] if isinstance(detail, list) else detail   # FastAPI's or the one shape
        assert first.get("field") == "flags[0].flag" or first.get("loc") == [
            "body", "flags", 0, "flag"]
        assert first["message_zh"]
        clean = client.post(url, headers=headers, json={
            "flags": [{"flag": "inadequate", "reason": " 未公示 "}], "new_deadline": "2030-01-31"})
        assert clean.status_code == 200
        assert broker.calls == [("ledger", "act", {
            "problem_id": "p1", "action": "check_progress",
            "actor": {"username": "edu", "role": "supervisor", "org_code": "org_education_bureau"},
            "args": {"flags": [{"flag": "inadequate", "reason": "未公示"}],
                     "new_deadline": "2030-01-31"}})]
        assert client.post("/api/v1/problems/p1/strike_off", headers=headers).status_code == 200
        assert broker.calls[-1][2]["args"] == {}
