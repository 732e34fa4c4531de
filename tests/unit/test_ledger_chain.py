"""The tamper-evident history (防止弄虚作假): a SHA-256 chain over every change; pure, no I/O."""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.ledger.adapters import signing
from services.ledger.domain import LOCAL_TZ, checkpoint
from services.ledger.domain.chain import (
    GENESIS, NAMED_AT_MOST, Entry, Published, binding_tail, canonical, entry_content, entry_hash,
    hash_bytes, row_text, state_digest, verify, verify_rows,
)
from services.ledger.domain.lifecycle import Outcome, State


def contents(n: int) -> list[dict]:
    actions = ["dispatch", "verify", "approve_plan", "record_progress", "report_rectified",
               "strike_off"]
    return [{"problem_id": "p1", "action": actions[i % len(actions)], "actor": "office",
             "at": f"2017-06-{5 + i:02d}T09:00:00", "data": {"note": f"第{i + 1}步", "i": i}}
            for i in range(n)]


def build(items: list[dict], first_seq: int = 1) -> list[Entry]:
    entries, prev = [], GENESIS
    for seq, content in enumerate(items, start=first_seq):
        digest = entry_hash(prev, content)
        entries.append(Entry(seq, prev, digest, content))
        prev = digest
    return entries


CHAIN = build(contents(6))


def test_a_chain_built_with_entry_hash_verifies_and_reports_its_head():
    verdict = verify(CHAIN)
    assert verdict.ok and verdict.checked == 6
    assert verdict.head_hash == CHAIN[-1].hash
    assert verdict.first_broken_seq is None and verdict.problem is None


def test_an_empty_chain_is_whole_and_its_head_is_genesis():
    verdict = verify([])
    assert verdict.ok and verdict.checked == 0 and verdict.head_hash == GENESIS


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_json():
    content = {"b": "销号", "a": 1}
    body = json.dumps({"a": 1, "b": "销号"}, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(content) == body == '{"a":1,"b":"销号"}'.encode()
    assert entry_hash(GENESIS, content) == hashlib.sha256(
        GENESIS.encode() + b"\n" + body).hexdigest()
    assert entry_hash(GENESIS, content) != entry_hash("1" * 64, content)
    assert entry_hash(GENESIS, {"a": 1, "b": "销号"}) == entry_hash(GENESIS, content)


def test_entries_read_back_as_stored_bytes_verify_without_re_encoding():
    stored = [Entry(e.seq, e.prev_hash, e.hash, raw=canonical(e.content)) for e in CHAIN]
    assert verify(stored).ok and verify(stored).head_hash == CHAIN[-1].hash
    tampered = list(stored)
    tampered[2] = replace(tampered[2], raw=tampered[2].raw.replace("第3步".encode(), "第9步".encode()))
    verdict = verify(tampered)
    assert not verdict.ok and verdict.first_broken_seq == 3 and "edited" in verdict.problem


def test_each_entry_links_to_the_one_before():
    assert CHAIN[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(CHAIN, CHAIN[1:]))


@pytest.mark.parametrize("index", range(6))
def test_editing_any_entrys_content_is_caught_at_that_entry(index):
    entries = list(CHAIN)
    edited = {**entries[index].content, "data": {"note": "已整改", "i": index}}
    entries[index] = replace(entries[index], content=edited)
    verdict = verify(entries)
    assert not verdict.ok
    assert verdict.first_broken_seq == index + 1
    assert verdict.checked == index
    assert "edited" in verdict.problem
    assert verdict.head_hash == (CHAIN[index - 1].hash if index else GENESIS)


@pytest.mark.parametrize("index", range(6))
def test_editing_content_and_recomputing_its_own_hash_is_still_caught_at_the_next(index):
    entries = list(CHAIN)
    edited = {**entries[index].content, "actor": "someone_else"}
    entries[index] = replace(entries[index], content=edited,
                             hash=entry_hash(entries[index].prev_hash, edited))
    verdict = verify(entries)
    if index == len(entries) - 1:
        # the last entry rewritten whole is only caught against a published head hash
        assert verdict.ok and verdict.head_hash != CHAIN[-1].hash
    else:
        assert not verdict.ok and verdict.first_broken_seq == index + 2


@pytest.mark.parametrize("index", range(6))
def test_changing_a_previous_hash_is_caught_at_that_entry(index):
    entries = list(CHAIN)
    entries[index] = replace(entries[index], prev_hash="f" * 64)
    verdict = verify(entries)
    assert not verdict.ok and verdict.first_broken_seq == index + 1
    assert "previous-hash" in verdict.problem


@pytest.mark.parametrize("index", range(5))
def test_deleting_an_entry_is_caught_where_the_gap_is(index):
    entries = CHAIN[:index] + CHAIN[index + 1:]
    verdict = verify(entries)
    assert not verdict.ok
    assert verdict.checked == index
    # the verdict points at the entry found where the deleted one should be
    assert verdict.first_broken_seq == index + 2
    if index:
        assert f"entry {index + 1} is missing" in verdict.problem


def test_deleting_an_entry_and_renumbering_the_rest_is_still_caught():
    kept = CHAIN[:2] + CHAIN[3:]
    renumbered = [replace(e, seq=i) for i, e in enumerate(kept, start=1)]
    verdict = verify(renumbered)
    assert not verdict.ok and verdict.first_broken_seq == 3
    assert "previous-hash" in verdict.problem


def test_deleting_the_last_entry_needs_the_published_head_to_be_noticed():
    verdict = verify(CHAIN[:-1])
    assert verdict.ok
    assert verdict.head_hash != CHAIN[-1].hash     # differs from the head a bulletin published


@pytest.mark.parametrize(("i", "j"), [(0, 1), (2, 3), (1, 4), (4, 5)])
def test_swapping_two_entries_is_caught_at_the_first_one_out_of_place(i, j):
    entries = list(CHAIN)
    entries[i], entries[j] = entries[j], entries[i]
    verdict = verify(entries)
    assert not verdict.ok and verdict.checked == i
    assert verdict.first_broken_seq == entries[i].seq


@pytest.mark.parametrize(("i", "j"), [(0, 1), (2, 3), (1, 4), (4, 5)])
def test_swapping_two_entries_and_their_numbers_is_caught_at_the_first_swapped_seq(i, j):
    entries = list(CHAIN)
    entries[i], entries[j] = replace(entries[j], seq=i + 1), replace(entries[i], seq=j + 1)
    verdict = verify(entries)
    assert not verdict.ok and verdict.first_broken_seq == i + 1


@pytest.mark.parametrize(("i", "j"), [(0, 1), (2, 3), (1, 4)])
def test_swapping_only_the_contents_of_two_entries_is_caught(i, j):
    entries = list(CHAIN)
    entries[i], entries[j] = (replace(entries[i], content=CHAIN[j].content),
                              replace(entries[j], content=CHAIN[i].content))
    verdict = verify(entries)
    assert not verdict.ok and verdict.first_broken_seq == i + 1
    assert "edited" in verdict.problem


def test_a_chain_may_start_from_any_sequence_number():
    assert verify(build(contents(3), first_seq=41)).ok


def test_a_repeated_sequence_number_is_caught():
    entries = CHAIN[:3] + [CHAIN[2]] + CHAIN[3:]
    verdict = verify(entries)
    assert not verdict.ok and verdict.first_broken_seq == 3 and verdict.checked == 3


# a problem's row bound by its history ---------------------------------------------------------
COLUMNS = ("id", "state", "outcome", "respond_by", "registered_at", "plan", "version", "unit")
ROW = {"id": "p1", "state": State.CLOSED, "outcome": Outcome.RECTIFIED,
       "respond_by": date(2017, 6, 12), "registered_at": datetime(2017, 6, 5, 1, 0,
                                                                  tzinfo=timezone.utc),
       "plan": {"measures": "公开收费目录", "milestones": [{"due_on": "2017-07-01"}]},
       "version": 3, "unit": None}


def test_a_rows_digest_is_the_same_from_the_domain_and_as_a_store_reads_it_back():
    sqlite_like = {**ROW, "state": "closed", "outcome": "rectified",
                   "registered_at": datetime(2017, 6, 5, 1, 0),              # naive, UTC
                   "plan": json.dumps(ROW["plan"])}                           # JSON as text
    postgres_like = {**ROW, "registered_at": datetime(2017, 6, 5, 9, 0, tzinfo=LOCAL_TZ)}
    assert state_digest(ROW, COLUMNS) == state_digest(sqlite_like, COLUMNS) \
        == state_digest(postgres_like, COLUMNS)
    plan = json.dumps(ROW["plan"])
    assert row_text([ROW[c] for c in COLUMNS], COLUMNS) == (
        "id=2:p1\noutcome=9:rectified\n" + f"plan={len(plan)}:{plan}\n"
        "registered_at=32:2017-06-05T01:00:00.000000+00:00\nrespond_by=10:2017-06-12\n"
        "state=6:closed\nversion=1:3\n")
    assert state_digest(ROW, COLUMNS) == hashlib.sha256(
        row_text([ROW[c] for c in COLUMNS], COLUMNS).encode()).hexdigest()


def test_the_row_text_cannot_be_shifted_from_one_column_to_the_next():
    one = {"a": "x\nb=1:y", "b": None}
    other = {"a": "x", "b": "y"}
    assert state_digest(one, ("a", "b")) != state_digest(other, ("a", "b"))
    assert state_digest({"a": "1"}, ("a",)) != state_digest({"a": "1", "b": ""}, ("a", "b"))


@pytest.mark.parametrize(("column", "value"), [
    ("state", "rectifying"), ("outcome", None), ("respond_by", date(2017, 6, 13)),
    ("plan", {"measures": "公开收费目录"}), ("version", 4), ("unit", "org_x"),
    ("registered_at", datetime(2017, 6, 5, 1, 0, 1, tzinfo=timezone.utc))])
def test_any_bound_column_changed_changes_the_digest(column, value):
    assert state_digest({**ROW, column: value}, COLUMNS) != state_digest(ROW, COLUMNS)


def test_a_null_column_counts_as_absent_so_a_nullable_column_added_later_binds_nothing_new():
    assert state_digest(ROW, COLUMNS) == state_digest(ROW, (*COLUMNS, "added_later"))
    assert state_digest(ROW, COLUMNS) == state_digest({**ROW, "added_later": None},
                                                      (*COLUMNS, "added_later"))
    assert state_digest(ROW, COLUMNS) != state_digest({**ROW, "added_later": False},
                                                      (*COLUMNS, "added_later"))


def test_an_entry_about_a_problem_must_bind_its_state():
    at = datetime(2017, 6, 5, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="state"):
        entry_content(seq=1, problem_id="p1", action="dispatch", actor="x", at=at, data={},
                      state=None)
    plan = entry_content(seq=1, problem_id=None, action="file_work_plan", actor="x", at=at,
                         data={}, state=None)
    assert "state" not in plan


def bound_chain(filed: list[tuple[str | None, str | None]]) -> list[Entry]:
    """Entries as a store returns them: canonical bytes, and the columns they are filed
    under (problem_id, state digest); data names other problems, as duplicate suggestions do."""
    entries, prev = [], GENESIS
    at = datetime(2017, 6, 5, tzinfo=timezone.utc)
    for seq, (problem_id, state) in enumerate(filed, start=1):
        raw = canonical(entry_content(
            seq=seq, problem_id=problem_id, action="register", actor="system", at=at, state=state,
            data={"duplicate_suggestions": [{"problem_id": "p2", "score": 0.9}],
                  "note": '"problem_id":"p2","seq":1}'}))
        digest = hash_bytes(prev, raw)
        entries.append(Entry(seq, prev, digest, raw=raw, filed=(problem_id, state)))
        prev = digest
    return entries


FILED = [("p1", "a" * 64), ("p2", "b" * 64), (None, None), ("p1", "c" * 64), ("p2", "d" * 64)]
BOUND = bound_chain(FILED)


def test_entries_filed_under_the_problem_they_were_hashed_for_verify():
    verdict = verify(BOUND)
    assert verdict.ok and verdict.checked == 5 and verdict.misfiled == []


@pytest.mark.parametrize("index", [0, 1, 3, 4])
def test_an_entry_moved_to_another_problem_is_named_with_both_problems(index):
    entries = list(BOUND)
    hashed_for, state = FILED[index]
    other = "p2" if hashed_for == "p1" else "p1"
    entries[index] = replace(entries[index], filed=(other, state))
    verdict = verify(entries)
    assert not verdict.ok and verdict.first_broken_seq is None and verdict.checked == 5
    assert verdict.misfiled == [{
        "seq": index + 1, "filed_under": other, "hashed_for": hashed_for,
        "filed_state": state, "hashed_state": state,
        "problem": f"filed under problem {other} but hashed for {hashed_for} (moved)"}]


def test_every_moved_entry_is_named_not_only_the_first():
    entries = [replace(e, filed=("p9", e.filed[1])) for e in BOUND]
    verdict = verify(entries)
    assert verdict.misfiled_count == 5 and [m["seq"] for m in verdict.misfiled] == [1, 2, 3, 4, 5]


def test_an_entry_about_no_problem_moved_onto_one_is_named():
    entries = list(BOUND)
    entries[2] = replace(entries[2], filed=("p1", None))
    assert [m["seq"] for m in verify(entries).misfiled] == [3]


def test_a_state_digest_column_changed_is_named():
    entries = list(BOUND)
    entries[3] = replace(entries[3], filed=("p1", "e" * 64))
    verdict = verify(entries)
    assert [m["seq"] for m in verdict.misfiled] == [4]
    assert "state digest column" in verdict.misfiled[0]["problem"]
    entries[3] = replace(entries[3], filed=("p1", None))
    assert [m["seq"] for m in verify(entries).misfiled] == [4]


def test_the_binding_tail_is_how_the_canonical_content_ends():
    assert BOUND[0].raw.decode().endswith(binding_tail("p1", 1, "a" * 64))
    assert BOUND[2].raw.decode().endswith(binding_tail(None, 3, None))
    assert binding_tail(None, 3, None) == ',"problem_id":null,"seq":3}'


# a head published earlier ---------------------------------------------------------------------
def test_todays_chain_extends_a_head_published_earlier():
    verdict = verify(CHAIN, Published(4, CHAIN[3].hash))
    assert verdict.ok and verdict.extends_published is True and verdict.checked == 6
    assert verify(CHAIN, Published(6, CHAIN[5].hash)).extends_published is True
    assert verify(CHAIN, Published(0, GENESIS)).extends_published is True
    assert verify(CHAIN).extends_published is None


def test_a_rewrite_of_history_up_to_a_published_head_is_named_at_that_head():
    rewritten = build([{**c, "actor": "county"} if i == 1 else c
                       for i, c in enumerate(contents(6))])
    assert verify(rewritten).ok                        # consistent in itself
    verdict = verify(rewritten, Published(4, CHAIN[3].hash))
    assert not verdict.ok and verdict.first_broken_seq == 4
    assert verdict.extends_published is False and "rewritten after publication" in verdict.problem


def test_a_truncation_below_a_published_head_is_named():
    verdict = verify(CHAIN[:3], Published(5, CHAIN[4].hash))
    assert not verdict.ok and verdict.first_broken_seq == 5 and verdict.checked == 3
    assert "ends at entry 3" in verdict.problem and "truncated" in verdict.problem
    assert not verify([], Published(1, CHAIN[0].hash)).ok
    assert not verify(CHAIN, Published(0, CHAIN[0].hash)).ok


# problems' rows against their latest entries --------------------------------------------------
def test_every_problem_whose_row_disagrees_is_named():
    good = state_digest(ROW, COLUMNS)
    rows = [("p1", good, good), ("p2", state_digest({**ROW, "id": "p2"}, COLUMNS), good),
            ("p3", good, None), ("p4", good, "")]
    verdict = verify_rows(rows, deleted=["p6"])
    assert verdict.checked == 4 and verdict.disagreeing_count == 4
    named = {d["problem_id"]: d["problem"] for d in verdict.disagreeing}
    assert set(named) == {"p2", "p3", "p4", "p6"}
    assert "edited" in named["p2"] and "no history" in named["p3"]
    assert "binds no state" in named["p4"] and "deleted" in named["p6"]


def test_a_great_many_disagreeing_problems_are_counted_and_the_first_thousand_named():
    rows = ((f"p{i}", "1" * 64, "0" * 64) for i in range(NAMED_AT_MOST + 5))
    verdict = verify_rows(rows)
    assert verdict.disagreeing_count == NAMED_AT_MOST + 5
    assert len(verdict.disagreeing) == NAMED_AT_MOST


# signed checkpoints ---------------------------------------------------------------------------
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNED = checkpoint.sign(KEY, 6, CHAIN[5].hash, "2017-07-01T00:00:00+00:00")


def test_a_signed_checkpoint_checks_with_the_public_key_alone():
    public = checkpoint.public_key_from(SIGNED["public_key"])
    assert checkpoint.check(SIGNED, public) == {"seq": 6, "hash": CHAIN[5].hash,
                                                "at": "2017-07-01T00:00:00+00:00"}
    assert SIGNED["key_id"] == hashlib.sha256(checkpoint.public_bytes(public)).hexdigest()[:16]
    assert len(base64.b64decode(SIGNED["signature"])) == 64


@pytest.mark.parametrize(("field", "value"), [("seq", 5), ("hash", CHAIN[4].hash),
                                              ("at", "2017-08-01T00:00:00+00:00")])
def test_a_checkpoint_altered_after_signing_does_not_check(field, value):
    public = KEY.public_key()
    with pytest.raises(checkpoint.BadCheckpoint, match="signature does not hold"):
        checkpoint.check({**SIGNED, field: value}, public)


def test_a_checkpoint_signed_by_another_key_or_malformed_does_not_check():
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with pytest.raises(checkpoint.BadCheckpoint, match="signed by key"):
        checkpoint.check(SIGNED, other)
    with pytest.raises(checkpoint.BadCheckpoint, match="signature does not hold"):
        checkpoint.check({**SIGNED, "key_id": None}, other)
    with pytest.raises(checkpoint.BadCheckpoint, match="malformed"):
        checkpoint.check({"seq": "x"}, KEY.public_key())
    with pytest.raises(checkpoint.BadCheckpoint, match="public key"):
        checkpoint.public_key_from("not base64!")


def test_the_signing_key_defaults_to_a_development_key_only_in_development():
    assert signing.signing_key_from(None, "development").private_bytes_raw() == \
        hashlib.sha256(signing.DEV_KEY_MATERIAL).digest()
    with pytest.raises(RuntimeError, match="LEDGER_SIGNING_KEY must be set"):
        signing.signing_key_from(None, "production")
    dev = base64.b64encode(signing.dev_key().private_bytes_raw()).decode()
    with pytest.raises(RuntimeError, match="development key"):
        signing.signing_key_from(dev, "production")
    mine = base64.b64encode(bytes(range(32))).decode()
    assert signing.signing_key_from(mine, "production").private_bytes_raw() == bytes(range(32))
    with pytest.raises(ValueError, match="Ed25519 private key"):
        signing.signing_key_from("c2hvcnQ=", "production")
