"""The backup's manifest and the reconciliation's arithmetic, without a store."""
from __future__ import annotations

import hashlib
import json

import pytest

from infra.backup.manifest import (
    STORE_ORDER, BadManifest, Entry, Finding, Manifest, StoreInfo, check, digest_file,
    files_under, refusal,
)
from infra.backup.reconcile import Receipt, missing_receipts, read_receipts, unapplied

A = Entry("ledger.db", "a" * 64, 10, "ledger")
B = Entry("blobs/ab/cd/" + "b" * 64, "b" * 64, 3, "blobs")


def manifest(**changes) -> Manifest:
    return Manifest(**{"created_at": "2026-12-02T10:00:00.000+00:00",
                       "finished_at": "2026-12-02T10:00:01.000+00:00",
                       "stores": [StoreInfo("ledger", "sqlite", "ledger.db")],
                       "files": [A, B], "ledger_head": {"seq": 7, "hash": "c" * 64},
                       **changes})


def test_files_that_match_their_entries_leave_nothing_to_say():
    assert check([A, B], {A.path: (A.sha256, A.size), B.path: (B.sha256, B.size)}) == []


def test_a_changed_a_cut_a_missing_and_an_added_file_are_each_named():
    found = {A.path: ("f" * 64, A.size), B.path: None, "extra.db": ("e" * 64, 1)}
    assert check([A, B], found) == [Finding(A.path, "changed"), Finding(B.path, "missing"),
                                    Finding("extra.db", "unlisted")]
    assert check([A], {A.path: (A.sha256, A.size - 1)}) == [Finding(A.path, "resized")]


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.db", "blobs/../../x", ""])
def test_a_path_leaving_the_backup_folder_is_refused_without_being_read(path):
    entry = Entry(path, "a" * 64, 1, "ledger")
    assert check([entry], {}) == [Finding(path, "unsafe")]


def test_the_refusal_is_bilingual_and_says_nothing_was_changed():
    text = refusal([Finding("ledger.db", "changed")])
    assert "nothing was changed" in text and "未做任何改动" in text
    assert "ledger.db" in text and "摘要与清单不符" in text


def test_a_manifest_reads_back_as_it_was_written():
    written = manifest(notes=["BLOB_STORE=s3: not in this backup"])
    assert Manifest.from_json(written.to_json()) == written
    assert json.loads(written.to_json())["ledger_head"] == {"seq": 7, "hash": "c" * 64}
    assert written.store("ledger").kind == "sqlite" and written.store("intake") is None


@pytest.mark.parametrize("text", ['{"format": 2}', "[]", '{"format": 1, "stores": []}'])
def test_what_is_not_a_manifest_is_refused_by_name(text):
    with pytest.raises(BadManifest):
        Manifest.from_json(text)


def test_a_file_digest_is_its_sha256_and_size(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert digest_file(path) == (hashlib.sha256(b"x" * 3_000_000).hexdigest(), 3_000_000)
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "blobs" / "ab").mkdir(parents=True)
    (tmp_path / "blobs" / "ab" / "c").write_text("c")
    assert files_under(tmp_path) == ["blobs/ab/c", "f"]


def test_downstream_stores_are_copied_before_the_stores_that_feed_them():
    order = {store: at for at, store in enumerate(STORE_ORDER)}
    for upstream, downstream in (("gateway", "intake"), ("intake", "ledger"),
                                 ("ledger", "notify"), ("ledger", "audit")):
        assert order[downstream] < order[upstream]


def test_an_event_is_unapplied_when_any_consumer_of_its_kind_lacks_it():
    inbox = [("audit.on_clue_accepted", "accepted-1"), ("audit.on_clue_accepted", "accepted-2"),
             ("audit.rounds_clue", "accepted-1"), ("audit.on_problem_registered", "registered-1")]
    produced = {"accepted-1", "accepted-2", "accepted-3"}
    assert unapplied(produced, inbox, "accepted-") == {"accepted-2", "accepted-3"}


def test_a_store_that_never_consumed_an_event_kind_expects_none():
    assert unapplied({"accepted-1"}, [("notify.x", "registered-1")], "accepted-") == set()


def test_the_clients_receipts_missing_from_the_stores_are_listed_once():
    lines = [json.dumps({"idempotency_key": f"k-{n}", "clue_id": f"c{n}", "body": {"n": n}})
             for n in (1, 2, 3)] + ["", json.dumps({"idempotency_key": "k-2", "clue_id": "c2",
                                                    "body": {"n": 2}})]
    receipts = read_receipts(lines)
    assert [r.clue_id for r in missing_receipts(receipts, {"c1"})] == ["c2", "c3"]
    assert missing_receipts(receipts, {"c1", "c2", "c3"}) == []
    assert receipts[0] == Receipt("k-1", "c1", {"n": 1})


def test_a_receipt_line_that_is_not_one_is_named_by_its_number():
    with pytest.raises(ValueError, match="line 2"):
        read_receipts(['{"idempotency_key": "k", "clue_id": "c", "body": {}}', '{"clue": 1}'])
