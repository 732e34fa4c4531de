"""The ledger list's orders on the real stores (SQLite and PostgreSQL, whose NULLs sort at
opposite ends unless told): the unit tests' cases, and the exports' keyset pages, which are
newest first whatever order is asked for."""
from __future__ import annotations

import pytest

from tests.integration.test_ledger_store import ledger  # noqa: F401 (fixture)
from tests.unit.test_ledger_list_order import (  # noqa: F401 (the same tests, real stores)
    listing, test_an_unknown_order_is_refused_in_both_languages,
    test_newest_first_by_default_and_oldest_first_on_request,
    test_the_deadline_order_puts_the_soonest_first,
    test_the_progress_order_puts_the_longest_silent_first_and_none_last, three,
)


@pytest.fixture
def uow(ledger):  # noqa: F811
    return ledger


def test_a_keyset_page_is_always_newest_first(uow, three):
    newest = listing(uow)["items"]
    first = newest[0]
    after = listing(uow, sort="oldest", after=[first["registered_at"], first["id"]])
    assert [p["id"] for p in after["items"]] == [p["id"] for p in newest[1:]]
