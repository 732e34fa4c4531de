"""The ledger's list paged by keyset (``after``: the last item's registered_at and id), as
the exports page through it, on SQLite and PostgreSQL: every problem once, in list order,
also with equal registration times and with problems registered between two pages."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from services.ledger import handlers
from services.ledger.adapters import problems as problem_rows
from services.ledger.adapters.orm import problems
from services.ledger.domain.registration import register
from tests.integration.test_ledger_store import CAMPAIGN, COUNTY, ledger  # noqa: F401

START = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def write(uow, at: datetime, n: int) -> None:
    with uow:
        values = [problem_rows._values(register(
            clue_id=uuid.uuid4().hex, channel="letter", title=f"问题 {i}",
            description="群众来信反映窗口推诿", unit="org_tw_yanshan",
            category="c5_government_services", kind="inaction", self_found=False, now=at),
            "org_county_office") for i in range(n)]
        uow.session.execute(insert(problems), values)
        uow.commit()


def page(ledger, after, limit=7):  # noqa: F811
    filters = {"after": after} if after else {}
    return handlers.list_problems(ledger(), CAMPAIGN, actor=COUNTY, filters=filters,
                                  limit=limit, offset=0)


def test_keyset_pages_hold_every_problem_once_while_new_ones_arrive(ledger):  # noqa: F811
    for minute in range(6):  # five problems share each registration time
        write(ledger(), START + timedelta(minutes=minute), 5)
    expected = [p["id"] for p in page(ledger, None, limit=100)["items"]]
    assert len(expected) == 30
    seen, after = [], None
    for _ in range(10):  # 30 problems, 7 a page: 5 pages
        answer = page(ledger, after)
        assert answer["total"] >= 30
        seen += [p["id"] for p in answer["items"]]
        write(ledger(), START + timedelta(days=1, minutes=len(seen)), 1)  # the newest
        if len(answer["items"]) < 7:
            break
        last = answer["items"][-1]
        after = [last["registered_at"], last["id"]]
    assert seen == expected
