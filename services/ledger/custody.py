"""The record of contact openings (联系方式启封记录): each is an entry of the hash chain.

A custodian opens a real-name reporter's contact through intake, which announces it
(``contact_opened``). The ledger appends who, when, which clue and why to the one
hash-chained history, beside no problem's timeline (problem_id is None, as for work plans),
so the opening is as tamper-evident as any step of a case and never shows the contact.
"""
from __future__ import annotations

from contracts.events import ContactOpened
from kit.uow import AlreadyProcessed

ACTION = "contact_opened"


def record_contact_opened(uow, msg: ContactOpened) -> int | None:
    """Append the opening to the chain once; its sequence number, or None if seen before."""
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return None
        seq = uow.history.append(problem_id=None, action=ACTION, actor=msg.opened_by,
                                 at=msg.opened_at, data={
                                     "role": msg.opened_by_role, "clue_id": msg.clue_id,
                                     "problem_id": msg.problem_id, "reason": msg.reason})
        uow.commit()
        return seq
