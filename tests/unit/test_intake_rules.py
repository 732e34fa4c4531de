"""Intake's acceptance rules against a stand-in campaign (pure, no I/O)."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from services.intake import domain
from services.intake.rules import check_clue


class Campaign:
    channels = {"public_report_platform": True, "letter": False}

    def channel(self, code):
        return SimpleNamespace(public=self.channels[code], name_zh=code) if code in self.channels else None

    def organization(self, code):
        return object() if code == "org_unit" else None

    def category(self, code):
        return object() if code == "c1" else None

    def kind(self, code):
        return object() if code == "inaction" else None


def check(**overrides):
    args = dict(channel="public_report_platform", subject_unit=None, category=None, kind=None,
                occurred_on=None, anonymous=True, has_contact=False, caller_is_public=True,
                today=date(2017, 6, 1))
    args.update(overrides)
    return [p.code for p in check_clue(Campaign(), **args)]


def test_a_plain_anonymous_public_clue_is_acceptable():
    assert check() == []


def test_unknown_codes_are_named():
    assert check(channel="carrier_pigeon") == ["unknown_channel"]
    assert check(subject_unit="org_nowhere", category="c99", kind="laziness") == [
        "unknown_unit", "unknown_category", "unknown_kind"]


def test_staff_channels_are_refused_to_the_public_but_open_to_staff():
    assert check(channel="letter") == ["channel_not_public"]
    assert check(channel="letter", caller_is_public=False) == []


def test_a_named_report_needs_contact_and_an_anonymous_one_must_not_have_it():
    assert check(anonymous=False) == ["contact_required"]
    assert check(anonymous=False, has_contact=True) == []
    assert check(anonymous=True, has_contact=True) == ["anonymous_with_contact"]
    assert check(anonymous=True, has_identity=True) == ["anonymous_with_contact"]


def test_a_date_in_the_future_is_refused():
    assert check(occurred_on=date(2017, 6, 2)) == ["in_future"]


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
