"""intake: the nameko shell. Translates messages to handler calls, nothing more."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from contracts.events import ClueSubmitted, ProblemRegistered, ProblemTransitioned
from kit.errors import EXPECTED, Conflict, NotFound
from kit.nameko_ext import Correlation, ServiceMetrics, Store, reliable_event_handler, rpc
from services.intake import domain, handlers
from services.intake.adapters import orm
from kit.sealing import fernet_from


class ContactKey(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.fernet = fernet_from(config.get("CONTACT_KEY"),
                                  config.get("ENVIRONMENT", "development"))

    def get_dependency(self, worker_ctx):
        return self.fernet


class IntakeService:
    name = "intake"

    uow = Store(orm.outbox_table, orm.inbox_table)
    correlation = Correlation()  # each worker's correlation id in the logs (kit.logs)
    fernet = ContactKey()
    metrics = ServiceMetrics()

    @reliable_event_handler("gateway", "clue_submitted")
    def on_clue_submitted(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.accept_clue(
            uow, ClueSubmitted.model_validate(body), self.fernet))

    @reliable_event_handler("ledger", "problem_registered")
    def on_problem_registered(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.mark_registered(
            uow, ProblemRegistered.model_validate(body)))

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_transitioned(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.follow_transition(
            uow, ProblemTransitioned.model_validate(body)))

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("receipt_code",))
    def problem_for_receipt(self, receipt_code: str) -> str:
        try:
            return handlers.problem_for_receipt(self.uow(), receipt_code)
        except domain.UnknownReceipt:
            raise NotFound("no registered problem has this receipt code",
                           "未找到该回执码对应的已登记问题。", "unknown_receipt") from None
        except domain.NotDisputable:
            raise Conflict("only a closure (rectified or found unfounded) can be disputed; "
                           "this report's problem is still being handled",
                           "只能对已办结(整改销号或查否)的问题提出异议,该举报反映的问题仍在办理中",
                           "not_disputable") from None

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("receipt_code",))
    def get_receipt(self, receipt_code: str) -> dict:
        try:
            return handlers.receipt_status(self.uow(), receipt_code)
        except domain.UnknownReceipt:
            raise NotFound("no clue has this receipt code", "未找到该回执码对应的线索。",
                           "unknown_receipt") from None

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("receipt_code",))
    def receipt_and_problem(self, receipt_code: str) -> dict:
        """The receipt's view and the problem it follows, for the gateway only."""
        try:
            return handlers.receipt_and_problem(self.uow(), receipt_code)
        except domain.UnknownReceipt:
            raise NotFound("no clue has this receipt code", "未找到该回执码对应的线索。",
                           "unknown_receipt") from None

    @rpc(expected_exceptions=EXPECTED)
    def open_contact(self, clue_id: str, reason: str, opened_by: dict) -> dict:
        """For the custodian only (the gateway checks the role); every opening is recorded."""
        try:
            return handlers.open_contact(
                self.uow(), self.fernet, clue_id=clue_id, reason=reason,
                opened_by=str(opened_by["username"]), opened_by_role=str(opened_by["role"]))
        except domain.UnknownClue:
            raise NotFound("no clue has this id", "未找到该线索") from None
        except domain.NoContact:
            raise NotFound("this clue is anonymous or left no contact details",
                           "该线索为匿名举报或未留联系方式") from None

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "clues": orm.count(uow.session)}


SERVICE = IntakeService
