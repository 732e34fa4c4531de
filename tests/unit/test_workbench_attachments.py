"""Files on the workbench's forms: which forms take files, and where a stored file's digest
goes among the posted fields (``gateway.workbench.attachments``); pure, no I/O."""
from __future__ import annotations

from contracts.actions import SPECS
from contracts.vocabulary import Action
from gateway.auth.roles import STAFF_ROLES
from gateway.files.index import FileRecord
from gateway.routes.problems import WorkPlanIn
from gateway.workbench import forms
from gateway.workbench.attachments import file_lists, takes_files, with_files


def record(name: str, digest: str) -> FileRecord:
    return FileRecord(sha256=digest, media_type="application/pdf", kind="document", size=1,
                      redacted_sha256=digest, redacted_size=1, filename=name)


def inputs(action: Action) -> list[forms.Input]:
    return forms.form_of(SPECS[action].input)


def test_the_forms_whose_input_names_files_take_files_and_no_others():
    staff = [a for a, s in SPECS.items() if set(s.roles) & set(STAFF_ROLES)]  # the forms
    taking = {a for a in staff if takes_files(inputs(a))}
    assert {Action.VERIFY, Action.REPORT_UNFOUNDED, Action.RECORD_PROGRESS,
            Action.REPORT_RECTIFIED} <= taking
    assert Action.DISPATCH not in taking and Action.APPROVE_PLAN not in taking
    assert file_lists(inputs(Action.REPORT_RECTIFIED)) == {"evidence": ("sha256", "description")}
    assert takes_files(forms.form_of(WorkPlanIn)) and not file_lists(forms.form_of(WorkPlanIn))
    evidence = next(i for i in inputs(Action.VERIFY) if i.name == "evidence")
    assert [c.kind for c in evidence.children] == ["textarea", "file"]


def test_each_file_of_the_chooser_is_a_new_item_described_by_its_name():
    pairs = with_files([("evidence[0].description", "整改前照片"), ("note", "x")],
                       [("file:evidence", record("a.jpg", "a" * 64)),
                        ("file:evidence", record("b.pdf", "b" * 64))],
                       inputs(Action.REPORT_RECTIFIED))
    data = forms.parse(pairs, inputs(Action.REPORT_RECTIFIED))
    assert data["evidence"] == [{"description": "整改前照片"},
                                {"description": "a.jpg", "sha256": "a" * 64},
                                {"description": "b.pdf", "sha256": "b" * 64}]


def test_a_file_beside_an_item_fills_its_digest_and_an_empty_description():
    given = with_files([("evidence[0].description", "整改后照片"),
                        ("evidence[1].description", "  ")],
                       [("file:evidence[0].sha256", record("after.jpg", "c" * 64)),
                        ("file:evidence[1].sha256", record("report.pdf", "d" * 64))],
                       inputs(Action.REPORT_RECTIFIED))
    assert forms.parse(given, inputs(Action.REPORT_RECTIFIED))["evidence"] == [
        {"description": "整改后照片", "sha256": "c" * 64},
        {"description": "report.pdf", "sha256": "d" * 64}]


def test_a_file_under_a_name_that_is_no_file_input_is_ignored():
    pairs = with_files([("note", "x")], [("file:note", record("x.pdf", "e" * 64)),
                                         ("other", record("y.pdf", "f" * 64))],
                       inputs(Action.REPORT_RECTIFIED))
    assert pairs == [("note", "x")]
    plan = with_files([("title", "方案")], [("file:document_sha256", record("p.pdf", "1" * 64))],
                      forms.form_of(WorkPlanIn))
    assert plan == [("title", "方案"), ("document_sha256", "1" * 64)]
