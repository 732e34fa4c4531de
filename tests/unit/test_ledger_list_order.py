"""The ledger list's orders (``contracts.listing``) through the handler, on the fake unit of
work: newest (the default), oldest, deadline soonest first, last progress longest ago first;
an order the ledger does not know is refused in both languages; the list says its today."""
from __future__ import annotations

import pytest

from services.ledger import handlers
from services.ledger.domain.actions import InvalidInput
from services.ledger.refusals import refusal
from tests.unit.test_ledger_handlers import (  # noqa: F401 (fixtures)
    CAMPAIGN, COUNTY, EDU, act, registered, store, uow,
)


def listing(uow, actor=COUNTY, **filters) -> dict:
    return handlers.list_problems(uow(), CAMPAIGN, actor=actor, filters=filters, limit=50,
                                  offset=0)


def ids(answer: dict) -> list[str]:
    return [p["id"] for p in answer["items"]]


@pytest.fixture
def three(uow) -> list[str]:
    """Registered in this order; dispatched with 15, 3 and (the last) not at all."""
    made = [registered(uow, n, title=f"问题{n}", description=f"互不相同的问题描述{n}")
            for n in range(3)]
    act(uow, made[0], "dispatch", EDU, respond_days=15)
    act(uow, made[1], "dispatch", EDU, respond_days=3)
    return made


def test_newest_first_by_default_and_oldest_first_on_request(uow, three):
    assert ids(listing(uow)) == list(reversed(three))
    assert ids(listing(uow, sort="newest")) == list(reversed(three))
    assert ids(listing(uow, sort="oldest")) == three


def test_the_deadline_order_puts_the_soonest_first(uow, three):
    answer = listing(uow, sort="due")
    days = [p["due_on"] for p in answer["items"]]
    assert days == sorted(days)
    assert ids(answer)[0] == three[1]  # 3 working days before 15


def test_the_progress_order_puts_the_longest_silent_first_and_none_last(uow, three):
    assert ids(listing(uow, sort="progress"))[-1] == three[2]  # never dispatched: no progress


def test_an_unknown_order_is_refused_in_both_languages(uow, three):
    with pytest.raises(InvalidInput) as caught:
        listing(uow, sort="sideways")
    refused = refusal(caught.value)
    assert refused.status == 422 and refused.field == "sort"
    assert refused.message_zh.startswith("排序方式应为 newest")


def test_the_list_says_the_day_it_judged_overdue_against(uow, three):
    answer = listing(uow, overdue=True)
    assert len(answer["as_of"]) == 10 and answer["as_of"][4] == "-"
