"""The workbench session: what it holds, and when it ends (会话到期)."""
from __future__ import annotations

from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.workbench import session as sessions

HANDLER = Principal("a1", "handler", Role.UNIT_HANDLER, "org_sch_yanshan_high", token_version=3)
HOUR = 3600


def started(at: float = 1_000_000.0) -> dict:
    data: dict = {"lang": "en"}
    sessions.begin(data, HANDLER, "承办人", now=at)
    return data


def test_a_session_carries_the_principal_and_its_token_version_and_keeps_the_language():
    data = started()
    principal = sessions.principal_of(data, ttl_seconds=8 * HOUR, idle_seconds=HOUR,
                                      now=1_000_010.0)
    assert principal == HANDLER and principal.token_version == 3
    assert data["lang"] == "en" and data["name"] == "承办人"


def test_a_session_older_than_a_token_may_be_is_refused_however_busy():
    data = started()
    for minutes in range(0, 8 * 60, 20):  # used every 20 minutes, never idle
        assert sessions.principal_of(data, ttl_seconds=8 * HOUR, idle_seconds=HOUR,
                                     now=1_000_000.0 + minutes * 60) is not None
    assert sessions.principal_of(data, ttl_seconds=8 * HOUR, idle_seconds=HOUR,
                                 now=1_000_000.0 + 8 * HOUR) is None


def test_an_idle_session_is_refused_and_use_keeps_it_alive():
    data = started()
    assert sessions.principal_of(data, ttl_seconds=8 * HOUR, idle_seconds=HOUR,
                                 now=1_000_000.0 + HOUR) is None
    data = started()
    sessions.principal_of(data, ttl_seconds=8 * HOUR, idle_seconds=HOUR, now=1_000_000.0 + 1800)
    assert sessions.principal_of(data, ttl_seconds=8 * HOUR, idle_seconds=HOUR,
                                 now=1_000_000.0 + HOUR + 60) is not None


def test_a_malformed_or_public_session_is_nobody():
    assert sessions.principal_of({}, ttl_seconds=HOUR, idle_seconds=HOUR) is None
    data = started()
    data["role"] = "public"
    assert sessions.principal_of(data, ttl_seconds=HOUR, idle_seconds=HOUR,
                                 now=1_000_001.0) is None
    data["role"] = "emperor"
    assert sessions.principal_of(data, ttl_seconds=HOUR, idle_seconds=HOUR,
                                 now=1_000_001.0) is None


def test_ending_a_session_forgets_the_person_but_not_the_language():
    data = started()
    sessions.end(data)
    assert data == {"lang": "en"}


def test_the_session_and_csrf_keys_differ_from_the_token_secret_and_from_each_other():
    keys = {sessions.derived_key("s" * 40, p) for p in ("session", "csrf")}
    assert len(keys) == 2 and "s" * 40 not in keys
