"""Other services' records in the ledger's hash chain (``ledger.append_record``) on a real
store (SQLite and PostgreSQL): written once per (kind, key), a retry with the same record
returns the first entry, other content under the key is refused, writers and readers by role,
and the chain still verifies."""
from __future__ import annotations

import pytest

from kit.errors import Conflict, Forbidden, Invalid
from services.ledger import handlers
from services.ledger.domain.actions import Actor
from services.ledger.handlers import records
from tests.integration.test_ledger_store import accepted, CAMPAIGN, ledger  # noqa: F401

CHECKER = Actor("checker", "spot_check", None)
COUNTY = Actor("county", "county_office", "org_county_office")
HANDLER = Actor("handler-school1", "unit_handler", "org_sch_yanshan_high")
MANIFEST = {"manifest_sha256": "ab" * 32, "params": {"method": "hypergeometric"}}


def test_a_record_is_written_once_and_a_retry_returns_the_first_entry(ledger):
    handlers.register_problem(ledger(), accepted(1), CAMPAIGN)
    first = records.append(ledger(), actor=CHECKER, kind="spot_check_manifest", key="round:r1",
                           record=MANIFEST)
    again = records.append(ledger(), actor=CHECKER, kind="spot_check_manifest",
                           key="round:r1", record=dict(MANIFEST))
    assert again["seq"] == first["seq"] and again["hash"] == first["hash"]
    assert first["record"] == MANIFEST and first["actor"] == "checker"
    with pytest.raises(Conflict):
        records.append(ledger(), actor=CHECKER, kind="spot_check_manifest", key="round:r1",
                       record={**MANIFEST, "manifest_sha256": "cd" * 32})
    listed = records.listing(ledger(), actor=COUNTY, kind="spot_check_manifest")
    assert [i["seq"] for i in listed["items"]] == [first["seq"]]
    assert handlers.verify_chain(ledger())["ok"] is True


def test_writers_readers_kinds_and_keys_are_checked_and_nothing_is_written(ledger):
    head = handlers.verify_chain(ledger())
    with pytest.raises(Forbidden):
        records.append(ledger(), actor=HANDLER, kind="spot_check_seed", key="round:r1",
                       record={"seed": "1" * 20})
    with pytest.raises(Forbidden):   # only the county office confirms ladder steps
        records.append(ledger(), actor=CHECKER, kind="accountability_step", key="case:1:notice",
                       record={})
    with pytest.raises(Invalid):
        records.append(ledger(), actor=CHECKER, kind="no_such_kind", key="k", record={})
    with pytest.raises(Invalid):
        records.append(ledger(), actor=CHECKER, kind="spot_check_seed", key="bad key!",
                       record={})
    with pytest.raises(Invalid):
        records.append(ledger(), actor=CHECKER, kind="spot_check_seed", key="round:r2",
                       record={"x": "字" * 30_000})
    with pytest.raises(Forbidden):
        records.listing(ledger(), actor=HANDLER, kind="spot_check_seed")
    assert handlers.verify_chain(ledger())["checked"] == head["checked"]
