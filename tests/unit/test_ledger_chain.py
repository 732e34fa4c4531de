"""The tamper-evident history (防止弄虚作假): a SHA-256 chain over every change; pure, no I/O."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from services.ledger.domain.chain import GENESIS, Entry, canonical, entry_hash, verify


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
