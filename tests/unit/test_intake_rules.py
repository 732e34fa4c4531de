"""Intake's receipt and status rules (pure, no I/O); the clue rules are in test_clue_rules."""
from __future__ import annotations

from services.intake import domain


def test_receipt_codes_match_whatever_the_spacing_and_case():
    assert domain.receipt_digest("abcd-efgh") == domain.receipt_digest("ABCD EFGH")
    assert domain.receipt_digest("ABCD-EFGH") != domain.receipt_digest("ABCD-EFGJ")


def test_registration_never_moves_a_clue_backwards():
    assert domain.next_status_on_registration(domain.RECEIVED) == domain.REGISTERED
    assert domain.next_status_on_registration("closed") == "closed"
