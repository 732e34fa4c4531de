"""Intake's receipt and status rules (pure, no I/O); the clue rules are in test_clue_rules."""
from __future__ import annotations

from services.intake import domain


def test_receipt_codes_match_whatever_the_spacing_and_case():
    assert domain.receipt_digest("abcd-efgh") == domain.receipt_digest("ABCD EFGH")
    assert domain.receipt_digest("ABCD-EFGH") != domain.receipt_digest("ABCD-EFGJ")


def test_registration_never_moves_a_clue_backwards():
    assert domain.next_status_on_registration(domain.RECEIVED) == domain.REGISTERED
    assert domain.next_status_on_registration("closed") == "closed"


def test_a_merged_receipt_says_so_and_may_be_disputed_only_when_its_problem_is_closed():
    from datetime import datetime, timezone

    now = datetime(2017, 6, 1, tzinfo=timezone.utc)
    open_view = domain.ReceiptView(domain.IN_PROGRESS, now, now, None, merged=True).to_dict()
    assert open_view["merged"] and "合并" in open_view["merged_zh"]
    assert not open_view["may_dispute"] and open_view["status_zh"] != "已办结"
    closed = domain.ReceiptView(domain.CLOSED, now, now, "unfounded", merged=True)
    assert closed.may_dispute
    assert not domain.ReceiptView(domain.CLOSED, now, now, "merged").may_dispute
    assert domain.ReceiptView(domain.REGISTERED, now, now).to_dict()["merged_zh"] is None
