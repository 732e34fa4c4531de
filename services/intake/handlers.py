"""Intake's use cases. Each takes a unit of work and a contract message."""
from __future__ import annotations

from contracts.events import (
    ClueAccepted, ClueSubmitted, ContactOpened, ProblemRegistered, ProblemTransitioned,
    problem_id_for,
)
from kit.uow import AlreadyProcessed, UnitOfWork
from services.intake import domain
from services.intake.adapters import orm
from kit.sealing import seal, unseal

def accept_clue(uow: UnitOfWork, msg: ClueSubmitted, fernet) -> bool:
    """Store a submitted clue once and announce it (clue_accepted). False if seen before."""
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return False
        now = orm.utcnow()
        fields = msg.clue
        orm.insert_clue(
            uow.session, id=msg.clue_id, receipt_digest=msg.digest_of_receipt(),
            channel=fields.channel, title=fields.title, description=fields.description,
            subject_unit=fields.subject_unit, category=fields.category, kind=fields.kind,
            place=fields.place, occurred_on=fields.occurred_on, anonymous=msg.anonymous,
            reporter_sealed=msg.reporter_sealed or seal(  # sealed at the gateway since v2
                fernet, msg.reporter.model_dump() if msg.reporter else None),
            submitted_by=msg.submitted_by, status=domain.RECEIVED, submitted_at=now,
            updated_at=now, problem_id=problem_id_for(msg.clue_id),
        )
        uow.emit(ClueAccepted(event_id=f"accepted-{msg.clue_id}", clue_id=msg.clue_id,
                              clue=fields, submitted_at=now, submitter_role=msg.submitter_role,
                              submitter_org=msg.submitter_org,
                              requested_by=msg.requested_by()))
        uow.commit()
        return True


def mark_registered(uow: UnitOfWork, msg: ProblemRegistered) -> None:
    """The ledger registered the clue's problem: the reporter's status moves on."""
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return
        orm.move_status(uow.session, msg.clue_id, domain.REGISTRATION_MOVES)
        uow.commit()


def receipt_status(uow: UnitOfWork, receipt_code: str) -> dict:
    with uow:
        row = orm.find_by_receipt(uow.session, domain.receipt_digest(receipt_code))
        if row is None:
            raise domain.UnknownReceipt(receipt_code)
        return _view(row).to_dict()


def _view(row) -> domain.ReceiptView:
    return domain.ReceiptView(row.status, row.submitted_at, row.updated_at, row.outcome,
                              merged=row.merged_into is not None)


def follow_transition(uow: UnitOfWork, msg: ProblemTransitioned) -> None:
    """The reporter's status follows the problem through the ledger."""
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return
        status, outcome = domain.status_after_transition(msg.to_state, msg.outcome)
        if msg.action == domain.MERGE and msg.data.get("into"):
            orm.follow_merge(uow.session, msg.problem_id, str(msg.data["into"]),
                             fallback=domain.REGISTERED)
        elif msg.action == domain.UNMERGE:
            orm.follow_unmerge(uow.session, msg.problem_id, status, outcome, msg.history_seq)
            orm.set_status_by_problem(uow.session, msg.problem_id, status, outcome,
                                      msg.history_seq)
        else:
            orm.set_status_by_problem(uow.session, msg.problem_id, status, outcome,
                                      msg.history_seq)
        uow.commit()


def receipt_and_problem(uow: UnitOfWork, receipt_code: str) -> dict:
    """The receipt's view and the problem it follows (the survivor, for a merged clue), for
    the gateway to ask the ledger about the case's public stages; the problem id stays at
    the gateway, never in an answer to the reporter."""
    with uow:
        row = orm.find_by_receipt(uow.session, domain.receipt_digest(receipt_code))
        if row is None:
            raise domain.UnknownReceipt(receipt_code)
        return {"receipt": _view(row).to_dict(),
                "problem_id": row.merged_into or row.problem_id}


def problem_for_receipt(uow: UnitOfWork, receipt_code: str) -> str:
    """The problem a reporter's dispute (举报人异议) reopens: the one the receipt follows
    (the survivor, for a merged clue), and only once it is closed as rectified or
    unfounded (``NotDisputable`` otherwise)."""
    with uow:
        row = orm.find_by_receipt(uow.session, domain.receipt_digest(receipt_code))
        if row is None or row.problem_id is None:
            raise domain.UnknownReceipt(receipt_code)
        if not _view(row).may_dispute:
            raise domain.NotDisputable(receipt_code)
        return row.merged_into or row.problem_id


def open_contact(uow: UnitOfWork, fernet, *, clue_id: str, reason: str, opened_by: str,
                 opened_by_role: str) -> dict:
    """联系方式启封: unseal a real-name reporter's contact for a custodian. The opening (who,
    when, which clue, why; never the contact) leaves through the outbox in the same
    transaction, for the ledger's chain, before the contact is handed out."""
    with uow:
        row = orm.find_contact(uow.session, clue_id)
        if row is None:
            raise domain.UnknownClue(clue_id)
        if row.anonymous or not row.reporter_sealed:
            raise domain.NoContact(clue_id)
        contact = unseal(fernet, row.reporter_sealed)
        now = orm.utcnow()
        uow.emit(ContactOpened(clue_id=clue_id, problem_id=row.problem_id, opened_by=opened_by,
                               opened_by_role=opened_by_role, reason=reason, opened_at=now))
        uow.commit()
        return {"clue_id": clue_id, "contact": contact, "opened_by": opened_by,
                "opened_at": now.isoformat()}
