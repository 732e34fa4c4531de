"""What the gateway does with a clue before it reaches the broker (pure, no I/O):
characters no store keeps, random receipt codes, caller-scoped idempotency keys whose
stored form gives no receipt away."""
from __future__ import annotations

import re

import pytest
from cryptography.exceptions import InvalidTag

from contracts.events import ClueFields, ClueSubmitted, receipt_digest
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.auth.roles import Role
from gateway.idempotency import Answer, Idempotency, scope_of
from gateway.routes.clues import ClueIn, new_receipt_code, unstorable_field

CLUE = {"channel": "public_report_platform", "title": "审批窗口推诿扯皮",
        "description": "行政审批局窗口多次推诿,未履行一次性告知义务"}


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x1f", "\x7f", "\x85",
                                  "\x9f"])
def test_a_character_no_store_keeps_is_found_in_any_field(char):
    assert unstorable_field(ClueIn(**{**CLUE, "title": f"审批{char}窗口"})) == "title"
    assert unstorable_field(ClueIn(**{**CLUE, "place": f"二{char}楼"})) == "place"
    named = ClueIn(**{**CLUE, "anonymous": False, "reporter": {"name": f"张{char}三"}})
    assert unstorable_field(named) == "reporter.name"


@pytest.mark.parametrize("char", ["\ud800", "\udfff"])
def test_a_lone_surrogate_never_becomes_a_clue(char):
    with pytest.raises(ValueError):
        ClueIn(**{**CLUE, "title": f"审批{char}窗口"})
    with pytest.raises(ValueError):
        ClueIn.model_validate_json('{"channel": "x", "title": "\\udc00", "description": "ddddd"}')


def test_tabs_line_breaks_and_any_script_are_storable():
    text = "第一行\n第二行\r\n\t缩进 😀 ئۇيغۇرچە ﷺ"
    assert unstorable_field(ClueIn(**{**CLUE, "description": text})) is None


def test_receipt_codes_are_80_random_bits_in_groups_of_four():
    codes = {new_receipt_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", c) for c in codes)  # 16 × 5 bits


def test_a_version_2_clue_message_carries_only_the_receipts_digest():
    code = new_receipt_code()
    event = ClueSubmitted(clue_id="c1", receipt_digest=receipt_digest(code),
                          reporter_sealed="gAAAA-sealed",
                          clue=ClueFields(channel="x", title="tt", description="ddddd"))
    wire = event.to_message()
    assert wire["_v"] == 2 and "receipt_code" not in wire and "reporter" not in wire
    assert code not in str(wire) and event.digest_of_receipt() == receipt_digest(code)


def test_a_version_1_clue_message_left_in_a_queue_is_still_understood():
    old = {"event_id": "c1", "clue_id": "c1", "receipt_code": "ABCD-EFGH-JKLM-NPQR",
           "clue": {"channel": "x", "title": "tt", "description": "ddddd"},
           "reporter": {"phone": "13800000000"}, "_v": 1}
    event = ClueSubmitted.model_validate(old)
    assert event.digest_of_receipt() == receipt_digest("abcd efgh jklm npqr")
    with pytest.raises(ValueError):
        ClueSubmitted.model_validate({k: v for k, v in old.items() if k != "receipt_code"})


def test_staff_keys_are_scoped_to_the_account_and_public_keys_to_the_public():
    clerk = Principal(account_id="a1", username="county", role=Role.COUNTY_OFFICE)
    assert scope_of(clerk) == "staff:county" and scope_of(ANONYMOUS) == "public"


@pytest.fixture
def keys():
    return Idempotency(engine=None, secret="s" * 32)


def test_a_key_means_another_record_for_another_caller(keys):
    public = keys.keyed("public", "key-12345678", b"{}")
    staff = keys.keyed("staff:county", "key-12345678", b"{}")
    assert public.key_digest != staff.key_digest and public.seal_key != staff.seal_key


def test_the_same_key_and_body_find_the_record_and_another_body_does_not_match(keys):
    first = keys.keyed("public", "key-12345678", b'{"title":"a"}')
    retry = keys.keyed("public", "key-12345678", b'{"title":"a"}')
    other = keys.keyed("public", "key-12345678", b'{"title":"b"}')
    assert first == retry
    assert other.key_digest == first.key_digest and other.body_digest != first.body_digest


def test_only_the_original_key_and_body_open_a_sealed_answer(keys):
    answer = Answer("0f" * 16, new_receipt_code())
    first = keys.keyed("public", "key-12345678", b'{"title":"a"}')
    sealed = first.seal(answer)
    assert answer.receipt_code.encode() not in sealed and answer.clue_id.encode() not in sealed
    assert keys.keyed("public", "key-12345678", b'{"title":"a"}').open(sealed) == answer
    for stranger in (keys.keyed("public", "key-12345678", b'{"title":"b"}'),
                     keys.keyed("public", "key-12345679", b'{"title":"a"}'),
                     Idempotency(None, "t" * 32).keyed("public", "key-12345678",
                                                       b'{"title":"a"}')):
        with pytest.raises(InvalidTag):
            stranger.open(sealed)
