"""联系方式启封 (issue 8, hole 11) on real stores, SQLite and PostgreSQL: the custodian opens a
real-name reporter's contact with a reason; the opening leaves intake through its outbox in
the same transaction (never with the contact) and becomes an entry of the ledger's chain."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select

from contracts.events import ContactOpened
from kit.migrate import upgrade
from services.intake import domain as intake_domain
from services.intake import handlers as intake
from services.intake.adapters import orm as intake_orm
from kit.sealing import fernet_from, seal
from services.ledger import custody, handlers as ledger_handlers
from services.ledger.adapters import orm as ledger_orm
from services.ledger.adapters.uow import LedgerUnitOfWork
from tests.integration.test_stores import ROOT, uow_for

FERNET = fernet_from(None, "development")
CONTACT = {"name": "张三", "phone": "13800000000", "email": None}
CLUE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def stores(new_database):
    intake_url, ledger_url = new_database("intake"), new_database("ledger")
    upgrade(ROOT / "services" / "intake", intake_url)
    upgrade(ROOT / "services" / "ledger", ledger_url)
    return (lambda: uow_for(intake_url, intake_orm)), (
        lambda: uow_for(ledger_url, ledger_orm, unit_of_work=LedgerUnitOfWork))


def store_clue(intake_uow, clue_id: str, contact: dict | None) -> None:
    now = intake_orm.utcnow()
    with intake_uow() as uow:
        uow.session.execute(insert(intake_orm.clues).values(
            id=clue_id, receipt_digest=clue_id, channel="public_report_platform",
            title="窗口办事推诿", description="行政审批窗口多次推诿", anonymous=contact is None,
            reporter_sealed=seal(FERNET, contact), status="received", problem_id=f"p-{clue_id}",
            submitted_at=now, updated_at=now))
        uow.commit()


def open_contact(intake_uow, clue_id=CLUE, reason="举报人要求反馈办理结果,需电话联系"):
    return intake.open_contact(intake_uow(), FERNET, clue_id=clue_id, reason=reason,
                               opened_by="custodian", opened_by_role="custodian")


def outbox(intake_uow) -> list[dict]:
    """The contact_opened events waiting in intake's outbox."""
    table = intake_orm.outbox_table
    with intake_uow() as uow:
        rows = uow.session.execute(select(table.c.body).order_by(table.c.id)
                                   .where(table.c.event_type == "contact_opened"))
        return [row.body for row in rows]


def test_the_custodian_opens_a_named_contact_and_the_opening_is_announced_without_it(stores):
    intake_uow, _ = stores
    store_clue(intake_uow, CLUE, CONTACT)
    opened = open_contact(intake_uow)
    assert opened["contact"] == CONTACT and opened["clue_id"] == CLUE
    [event] = outbox(intake_uow)
    assert (event["clue_id"], event["problem_id"], event["opened_by"], event["reason"]) == (
        CLUE, f"p-{CLUE}", "custodian", "举报人要求反馈办理结果,需电话联系")
    assert "13800000000" not in json.dumps(event, ensure_ascii=False)
    assert "张三" not in json.dumps(event, ensure_ascii=False)


def test_each_opening_is_recorded_again(stores):
    intake_uow, _ = stores
    store_clue(intake_uow, CLUE, CONTACT)
    open_contact(intake_uow)
    open_contact(intake_uow, reason="第二次联系举报人核实情况")
    assert [e["reason"] for e in outbox(intake_uow)] == [
        "举报人要求反馈办理结果,需电话联系", "第二次联系举报人核实情况"]


def test_an_anonymous_or_unknown_clue_has_no_contact_to_open_and_records_nothing(stores):
    intake_uow, _ = stores
    store_clue(intake_uow, CLUE, None)
    with pytest.raises(intake_domain.NoContact):
        open_contact(intake_uow)
    with pytest.raises(intake_domain.UnknownClue):
        open_contact(intake_uow, clue_id="f" * 32)
    assert outbox(intake_uow) == []


def test_the_ledger_appends_each_opening_to_its_hash_chain_once(stores):
    intake_uow, ledger_uow = stores
    store_clue(intake_uow, CLUE, CONTACT)
    open_contact(intake_uow)
    [body] = outbox(intake_uow)
    event = ContactOpened.model_validate(body)
    seq = custody.record_contact_opened(ledger_uow(), event)
    assert custody.record_contact_opened(ledger_uow(), event) is None  # once only
    with ledger_uow() as uow:
        [entry] = uow.session.execute(select(ledger_orm.history)
                                      .where(ledger_orm.history.c.seq == seq)).all()
    content = json.loads(entry.content)
    assert (content["action"], content["actor"], content["problem_id"]) == (
        "contact_opened", "custodian", None)
    assert content["data"] == {"role": "custodian", "clue_id": CLUE, "problem_id": f"p-{CLUE}",
                               "reason": "举报人要求反馈办理结果,需电话联系"}
    assert "13800000000" not in entry.content
    assert ledger_handlers.verify_chain(ledger_uow())["ok"] is True
