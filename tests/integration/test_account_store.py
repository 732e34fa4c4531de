"""The account store's additions on SQLite and PostgreSQL alike (issue 9 item 6): an existing
accounts table gets the new columns with their defaults, events are append-only and newest
first, principal heads keep their history, the list filters."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, text

from gateway.auth.accounts import AccountStore, PasswordChangeRequired
from gateway.auth.passwords import hash_password
from gateway.auth.roles import Role
from kit.db import make_engine

pytestmark = pytest.mark.integration

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
PASSWORD = "long enough password"
SCHOOL = "org_sch_yanshan_high"


def test_an_older_accounts_table_is_brought_up_to_date_and_everything_works(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:  # the table as the first release made it, with one account
        conn.execute(text(
            "CREATE TABLE accounts (id VARCHAR(32) PRIMARY KEY, username VARCHAR(64) NOT NULL "
            "UNIQUE, password_hash VARCHAR(255) NOT NULL, role VARCHAR(32) NOT NULL, org_code "
            "VARCHAR(64), display_name VARCHAR(200) NOT NULL, active BOOLEAN NOT NULL, "
            "created_at TIMESTAMP WITH TIME ZONE NOT NULL)"))
        conn.execute(text("INSERT INTO accounts VALUES ('a1', 'old-handler', :h, 'unit_handler', "
                          ":org, '老账号', TRUE, CURRENT_TIMESTAMP)"),
                     {"h": hash_password(PASSWORD, FAST), "org": SCHOOL})
    store = AccountStore(engine, hasher=FAST)
    store.create_schema()
    store.create_schema()
    columns = {c["name"] for c in inspect(engine).get_columns("accounts")}
    assert {"token_version", "must_change_password", "created_by"} <= columns
    old = store.get_by_username("old-handler")
    assert old.must_change_password is False and old.token_version == 0
    assert store.authenticate("old-handler", PASSWORD).org_code == SCHOOL

    store.create("sup-a", PASSWORD, Role.SUPERVISOR, "org_education_bureau",
                 created_by="county", must_change_password=True)
    with pytest.raises(PasswordChangeRequired):
        store.authenticate("sup-a", PASSWORD)
    store.reset_password("old-handler", "temp-pass-word", actor="county")
    store.deactivate("sup-a", actor="county")
    items, total = store.events()
    assert total == 3 and [e["kind"] for e in items] == ["deactivated", "password_reset",
                                                        "created"]
    assert items[2]["detail"] == {"role": "supervisor"}
    assert store.events(org_code=SCHOOL)[1] == 1
    assert [a.username for a in store.list_accounts(active=False)[0]] == ["sup-a"]
    assert [a.username for a in store.list_accounts(query="老")[0]] == ["old-handler"]

    store.set_principal_head(SCHOOL, "王校长", "校长", "old-handler", "county")
    store.set_principal_head(SCHOOL, "李校长", "校长", None, "county")
    assert store.principal_head(SCHOOL).name == "李校长"
    assert [h.name for h in store.principal_head_history(SCHOOL)] == ["李校长", "王校长"]
    assert store.principal_heads()[SCHOOL].account_username is None
