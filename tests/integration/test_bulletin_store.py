"""The monthly bulletin (月通报) for a demo month on a real store (SQLite and PostgreSQL):
the ledger's figures, the PDF printed from the one template (its text read back with pypdf:
Chinese unit names, figures, the chain head; its pages rendered to PNG with pdftoppm and kept
in ``PAGES_SCREENSHOT_DIR``), publishing once, a chain entry carrying the PDF's SHA-256."""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
from datetime import date, datetime, time
from pathlib import Path

import pytest
from pypdf import PdfReader

from contracts.events import ClueAccepted, ClueFields
from kit.errors import Conflict, Forbidden
from services.ledger import handlers
from services.ledger.adapters import orm
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain.access import NotPermitted
from services.ledger.domain.actions import Actor
from kit.bulletin import BulletinRefused
from services.ledger.handlers import bulletins, reports
from services.ledger.refusals import refusal
from tests.integration.test_ledger_store import CAMPAIGN, EDU, PLAN, ledger  # noqa: F401

SHOTS = Path(os.environ.get("PAGES_SCREENSHOT_DIR", tempfile.gettempdir()))
COUNTY = Actor("county", "county_office", "org_county_office")
BIG, ZERO, CONTRA, NEVER = ("org_sch_yanshan_high", "org_sch_no2_high",
                            "org_sch_experimental_primary", "org_sch_vocational")
MONTH, TODAY = "2017-10", date(2017, 11, 6)


def name(code: str) -> str:
    return CAMPAIGN.organization(code).name_zh


def handler(unit: str) -> Actor:
    return Actor(f"handler-{unit}", "unit_handler", unit)


def register(ledger, n: int, unit: str) -> str:
    return handlers.register_problem(ledger(), ClueAccepted(
        event_id=f"accepted-{n}", clue_id=f"clue-{n}", clue=ClueFields(
            channel="letter", title="学校乱收费", description="学校违规收取资料费,家长多次反映无人处理",
            subject_unit=unit, category="c7_livelihood_services"),
        submitted_at=orm.utcnow()), CAMPAIGN)


def act(ledger, pid, action, actor, **args):
    return handlers.act(ledger(), CAMPAIGN, problem_id=pid, action=action, actor=actor,
                        args=args, today=date(2017, 6, 5))


@pytest.fixture
def demo(ledger):  # noqa: F811
    """盐山中学: 6 problems, one struck off, files weekly; 第二中学 files zero reports;
    实验小学: one open problem and a zero report (contradicted); 职业技术教育中心 never files."""
    pids = [register(ledger, n, BIG) for n in range(6)]
    register(ledger, 99, CONTRA)
    pid = pids[0]
    act(ledger, pid, "dispatch", EDU, respond_days=5)
    act(ledger, pid, "verify", handler(BIG), plan={**PLAN, "responsible_unit": BIG},
        seriousness="ordinary")
    act(ledger, pid, "approve_plan", EDU)
    act(ledger, pid, "report_rectified", handler(BIG), evidence=[{"description": "公示照片"}])
    act(ledger, pid, "strike_off", EDU, note="核查属实,准予销号")
    filed_at = datetime.combine(date(2017, 10, 16), time(8), tzinfo=LOCAL_TZ)
    for unit, kind, figures in ((BIG, "weekly", {"found": 2, "rectified": 1}),
                                (ZERO, "zero", {}), (CONTRA, "zero", {})):
        reports.file_report(ledger(), CAMPAIGN, actor=handler(unit), unit=unit,
                            period="2017-W41", kind=kind, figures=figures,
                            text="本周无新发现问题" if kind == "zero" else "本周整改情况", now=filed_at)
    return ledger


def draft(ledger):
    from gateway.workbench import bulletin_doc
    answer = bulletins.figures(ledger(), CAMPAIGN, actor=COUNTY, month=MONTH, today=TODAY)
    b = bulletin_doc.compose(answer, min_problems=5, cases=["p-typical-1"])
    doc = bulletin_doc.document(b, head=answer["head"], as_of=answer["as_of"],
                                weeks=answer["weeks"])
    return answer, b, doc, bulletin_doc.pdf(doc)


def test_the_demo_month_bulletin_prints_names_figures_and_the_head(demo):
    answer, b, doc, pdf = draft(demo)
    assert "2017-W41" in answer["weeks"] and "2017-W40" not in answer["weeks"]  # 国庆 week
    weeks = len(answer["weeks"])
    rows = {r.unit: r for r in b.rows}
    assert (rows[BIG].registered, rows[BIG].rectified, rows[BIG].small) == (6, 1, False)
    assert rows[CONTRA].contradicted_zero == 1 and rows[CONTRA].small
    assert rows[NEVER].missing_reports == weeks and rows[BIG].missing_reports == weeks - 1
    assert [e["unit"] for e in b.rankings[0].ranked] == [BIG]   # the small ones apart
    assert rows[BIG].new_in_month == 0                 # registered now, not in October 2017
    this_month = datetime.now(LOCAL_TZ).strftime("%Y-%m")
    now = bulletins.figures(demo(), CAMPAIGN, actor=COUNTY, month=this_month, today=TODAY)
    assert (now["new"][BIG], now["new"][CONTRA]) == (6, 1)

    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(
        io.BytesIO(pdf)).pages))
    for unit in (BIG, ZERO, CONTRA, NEVER):
        assert name(unit) in text
    assert "2017年10月专项整治工作通报" in text
    assert f"{name(BIG)}061" in text             # new 0 this month, 6 in all, 1 rectified
    assert "样本少" in text and "p-typical-1" in text
    head = answer["head"]
    assert head["seq"] > 0 and head["hash"] in text and f"序号{head['seq']}" in text

    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm missing: run infra/ensure_pdf.sh"
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / "bulletin-2017-10.pdf"
    target.write_bytes(pdf)
    for old in SHOTS.glob("bulletin-2017-10-page-*.png"):
        old.unlink()
    subprocess.run([pdftoppm, "-r", "60", "-png", str(target),
                    str(SHOTS / "bulletin-2017-10-page")], check=True, timeout=120)
    pages = sorted(SHOTS.glob("bulletin-2017-10-page-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(pdf)).pages) >= 1
    assert all(p.stat().st_size > 2_000 for p in pages)   # not blank: text drawn


def test_publishing_is_a_chain_entry_with_the_pdf_digest_and_happens_once(demo):
    answer, b, doc, pdf = draft(demo)
    digest = hashlib.sha256(pdf).hexdigest()
    kwargs = dict(month=MONTH, pdf_sha256=digest, pdf_size=len(pdf), figures=b.to_dict(),
                  head=answer["head"])
    with pytest.raises(NotPermitted) as err:
        bulletins.publish(demo(), CAMPAIGN, actor=EDU, **kwargs)
    assert isinstance(refusal(err.value), Forbidden)
    assert bulletins.listing(demo(), CAMPAIGN, actor=COUNTY)["total"] == 0

    done = bulletins.publish(demo(), CAMPAIGN, actor=COUNTY, **kwargs)
    entry = bulletins.get(demo(), CAMPAIGN, actor=EDU, month=MONTH)   # supervisors read it
    assert (entry["seq"], entry["pdf_sha256"], entry["action"] if "action" in entry else None
            ) == (done["history_seq"], digest, None)
    assert entry["printed_head"] == answer["head"] and entry["published_by"] == "county"
    assert entry["figures"]["rows"][0]["unit"] == b.rows[0].unit
    head_after = handlers.chain_head(demo()) if hasattr(handlers, "chain_head") else None
    verdict = handlers.verify_chain(demo()) if hasattr(handlers, "verify_chain") else None
    if verdict is not None:
        assert verdict["ok"], verdict
    if head_after is not None:
        assert head_after["seq"] == done["history_seq"]

    with pytest.raises(BulletinRefused) as err:
        bulletins.publish(demo(), CAMPAIGN, actor=COUNTY, **{**kwargs, "pdf_sha256": "0" * 64})
    mapped = refusal(err.value)
    assert isinstance(mapped, Conflict) and err.value.code == "bulletin_published"
    assert "已发布" in err.value.message_zh
    listed = bulletins.listing(demo(), CAMPAIGN, actor=COUNTY)
    assert [(i["month"], i["pdf_sha256"]) for i in listed["items"]] == [(MONTH, digest)]
    with pytest.raises(NotPermitted):
        bulletins.listing(demo(), CAMPAIGN, actor=handler(BIG))
    with pytest.raises(BulletinRefused) as err:
        bulletins.publish(demo(), CAMPAIGN, actor=COUNTY, **{**kwargs, "month": "2017-11",
                                                               "pdf_sha256": "xyz"})
    assert err.value.code == "invalid_bulletin"
    with pytest.raises(BulletinRefused) as err:
        bulletins.get(demo(), CAMPAIGN, actor=COUNTY, month="2017-11")
    assert err.value.status == "not_found"


def test_the_monthly_cycle_freezes_a_month_once_its_figures_are_known(demo):
    """The snapshot job (ledger.bulletin_snapshot): not before the month has ended and its
    last week is past its report deadline; then once, as a chain entry; the draft reads it from then on, and
    the county office hears the draft is ready."""
    from contracts.vocabulary import CycleEvent
    from services.ledger.handlers import views

    assert MONTH not in bulletins.snapshot_months(CAMPAIGN, date(2017, 10, 31))  # not ended
    assert bulletins.snapshot_months(CAMPAIGN, date(2026, 12, 2)) == []   # long past: none
    day = date(2017, 11, 6)
    assert bulletins.snapshot_months(CAMPAIGN, day)[-1] == MONTH
    uow = demo()
    with uow:
        taken = bulletins.take_snapshots(uow, CAMPAIGN, day)
        events = list(uow._events)
        uow.commit()
    assert taken == 1      # the latest month only: earlier months are not stamped with today
    drafted = [e for e in events if getattr(e, "name", None) == CycleEvent.BULLETIN_DRAFTED]
    assert [e.period for e in drafted] == [MONTH]
    assert "snapshot" not in bulletins.figures(demo(), CAMPAIGN, actor=COUNTY, month="2017-09",
                                               today=TODAY)
    uow = demo()
    with uow:
        assert bulletins.take_snapshots(uow, CAMPAIGN, date(2017, 11, 7)) == 0   # once
        uow.commit()
    frozen = bulletins.figures(demo(), CAMPAIGN, actor=COUNTY, month=MONTH)
    assert frozen["as_of"] == day.isoformat() and frozen["snapshot"]["seq"] > 0
    # a later change does not move the frozen month: a spot check reopens the struck-off one
    struck = next(p for p in views.list_problems(demo(), CAMPAIGN, actor=COUNTY, filters={},
                                                 limit=50, offset=0)["items"] if p["state"] == "closed")
    act(demo, struck["id"], "reopen", Actor("checker", "spot_check", None),
        source="spot_check", reason="复查发现整改未落实")
    assert bulletins.figures(demo(), CAMPAIGN, actor=COUNTY, month=MONTH) == frozen
    this_month = datetime.now(LOCAL_TZ).strftime("%Y-%m")
    live = bulletins.figures(demo(), CAMPAIGN, actor=COUNTY, month=this_month, today=TODAY)
    assert live["overturned"] == {BIG: 1} and "snapshot" not in live
    assert handlers.verify_chain(demo())["ok"] is True


def test_rectified_on_time_counts_reports_made_by_the_plans_deadline(demo):
    """The demo's struck-off problem reported its rectification now (2026), after its plan's
    deadline (2017-07-31): rectified, not on time."""
    answer = bulletins.figures(demo(), CAMPAIGN, actor=COUNTY, month=MONTH, today=TODAY)
    from gateway.workbench import bulletin_doc
    row = {r.unit: r for r in bulletin_doc.compose(answer).rows}[BIG]
    assert (row.rectified, row.rectified_on_time, row.rectified_on_time_rate) == (1, 0, 0.0)
