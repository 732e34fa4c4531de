"""ledger: the nameko shell."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.events import ClueAccepted
from kit.errors import NotFound
from kit.nameko_ext import Store, reliable_event_handler
from services.ledger import handlers
from services.ledger.adapters import orm


class LedgerService:
    name = "ledger"

    uow = Store(orm.outbox_table, orm.inbox_table)

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, body):
        handlers.register_problem(self.uow(), ClueAccepted.model_validate(body))

    @rpc
    def list_problems(self, units=None, status=None, limit=50, offset=0) -> dict:
        return handlers.list_problems(self.uow(), units=units, status=status,
                                      limit=limit, offset=offset)

    @rpc
    def get_problem(self, problem_id: str) -> dict:
        found = handlers.get_problem(self.uow(), problem_id)
        if found is None:
            raise NotFound(f"no problem {problem_id}", f"未找到问题 {problem_id}")
        return found

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "problems": orm.count(uow.session)}


SERVICE = LedgerService
