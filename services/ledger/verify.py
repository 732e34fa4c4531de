"""``python -m services.ledger.verify``: verify the ledger's whole history chain.

Exit 0 when every entry holds, 1 naming the first broken entry. Reads LEDGER_DATABASE_URL
(or the SQLite file under DATA_DIR) like the service does.
"""
from __future__ import annotations

import json
import sys
import time

from sqlalchemy.orm import sessionmaker

from kit.db import make_engine
from kit.settings import Settings
from kit.store import Inbox, Outbox
from services.ledger import handlers
from services.ledger.adapters import orm
from services.ledger.adapters.uow import LedgerUnitOfWork


def main() -> int:
    url = Settings().database_url("ledger")
    uow = LedgerUnitOfWork(sessionmaker(make_engine(url)), Outbox(orm.outbox_table),
                           Inbox(orm.inbox_table))
    started = time.perf_counter()
    verdict = handlers.verify_chain(uow)
    verdict["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(verdict, ensure_ascii=False, indent=2))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
