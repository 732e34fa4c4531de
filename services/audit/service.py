"""audit: the nameko shell."""
from __future__ import annotations

import os

import eventlet
from nameko.rpc import RpcProxy, rpc

from contracts.events import ClueAccepted, ProblemRegistered, ProblemTransitioned
from contracts.events import (
    ProblemClockAlert, RecheckRecorded, ReportCycleEvent, SpotCheckConcluded,
)
from kit.errors import EXPECTED
from kit.nameko_ext import Store, reliable_event_handler
from kit.schedule import ClockProvider, Scheduler, schedule_timer
from services.audit import domain, handlers
from services.audit import ladder_handlers, ladder_shell
from services.audit.adapters import orm
from services.audit.adapters.ladder import CLAIMS as LADDER_CLAIMS
from services.audit.ladder_shell import refusals as ladder_refusals

CHAIN_TIMEOUT = 5.0


class AuditService:
    name = "audit"

    uow = Store(orm.outbox_table, orm.inbox_table)

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, bodies):
        def apply(uow, body):
            msg = ClueAccepted.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, msg.event_type, msg.clue_id, msg.clue.subject_unit))
        return self.uow.each(bodies, apply)

    @reliable_event_handler("ledger", "problem_registered")
    def on_problem_registered(self, bodies):
        def apply(uow, body):
            msg = ProblemRegistered.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, msg.event_type, msg.problem_id, msg.unit))
        return self.uow.each(bodies, apply)

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_transitioned(self, bodies):
        def apply(uow, body):
            msg = ProblemTransitioned.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, f"problem.{msg.name}", msg.problem_id, msg.unit))
        return self.uow.each(bodies, apply)

    # ── the accountability ladder (严格责任追究; services/audit/ladder.py) ──────────────────────
    ladder = ladder_shell.LadderContext()
    clock = ClockProvider()
    ledger = RpcProxy("ledger")

    @reliable_event_handler("audit", "recheck.#", contract=RecheckRecorded)
    def on_recheck_for_ladder(self, bodies):
        """查否复查: a wrong closure proposes a step against the unit."""
        return self.uow.each(bodies, lambda uow, msg: ladder_handlers.on_recheck(
            uow, msg, self.ladder, self.clock.now()))

    @reliable_event_handler("audit", "spot_check_concluded", contract=SpotCheckConcluded)
    def on_spot_check_for_ladder(self, bodies):
        return self.uow.each(bodies, lambda uow, msg: ladder_handlers.on_spot_check_concluded(
            uow, msg, self.ladder, self.clock.now()))

    @reliable_event_handler("ledger", "clock.#", contract=ProblemClockAlert)
    def on_clock_for_ladder(self, bodies):
        return self.uow.each(bodies, lambda uow, msg: ladder_handlers.on_clock_alert(
            uow, msg, self.ladder, self.clock.now()))

    @reliable_event_handler("ledger", "cycle.#", contract=ReportCycleEvent)
    def on_cycle_for_ladder(self, bodies):
        return self.uow.each(bodies, lambda uow, msg: ladder_handlers.on_report_cycle(
            uow, msg, self.ladder, self.clock.now()))

    @reliable_event_handler("intake", "clue_accepted", contract=ClueAccepted)
    def on_clue_for_ladder(self, bodies):
        """Each problem's channel, for 自查自纠 (self-found: one step lighter)."""
        return self.uow.each(bodies, lambda uow, msg: ladder_handlers.on_clue_accepted(
            uow, msg, self.ladder))

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_for_ladder(self, bodies):
        return self.uow.each(bodies, lambda uow, msg: ladder_handlers.on_problem_transitioned(
            uow, msg))

    @schedule_timer()
    def ladder_tick(self):
        """The daily sweep (deadlines passed, problems overdue past the threshold), once per
        working day across processes; then the chain entries not yet written."""
        Scheduler(ladder_shell.jobs(self.ladder), self.uow, LADDER_CLAIMS, self.clock,
                  owner=f"audit-{os.getpid()}").tick()
        self._write_chain()

    def _write_chain(self) -> int:
        def append(**kwargs):
            with eventlet.Timeout(CHAIN_TIMEOUT, TimeoutError("the ledger did not answer")):
                return self.ledger.append_record.call_async(**kwargs).result()
        return ladder_shell.write_chain(self.uow, append)

    @rpc(expected_exceptions=EXPECTED)
    @ladder_refusals
    def ladder_record_finding(self, actor: dict, unit: str, kind: str, findings: str,
                              evidence: list | None = None,
                              problem_ids: list | None = None) -> dict:
        """暗访: 走过场 or 弄虚作假 found by covert inspection proposes a step."""
        return ladder_handlers.record_finding(
            self.uow(), self.ladder, actor=actor, unit=unit, kind=kind, findings=findings,
            evidence=list(evidence or []), problem_ids=list(problem_ids or []),
            now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @ladder_refusals
    def ladder_confirm(self, actor: dict, proposal_id: str, skip_reason: str | None = None,
                       note: str | None = None, persons: list | None = None,
                       head: dict | None = None) -> dict:
        answer = ladder_handlers.confirm(
            self.uow(), self.ladder, actor=actor, proposal_id=proposal_id,
            skip_reason=skip_reason, note=note, persons=persons, head=head,
            now=self.clock.now())
        self._write_chain()
        return answer

    @rpc(expected_exceptions=EXPECTED)
    @ladder_refusals
    def ladder_dismiss(self, actor: dict, proposal_id: str, reason: str) -> dict:
        return ladder_handlers.dismiss(self.uow(), self.ladder, actor=actor,
                                       proposal_id=proposal_id, reason=reason,
                                       now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @ladder_refusals
    def ladder_proposals(self, actor: dict, status: str | None = None,
                         unit: str | None = None, proposal_id: str | None = None) -> dict:
        return ladder_handlers.list_proposals(self.uow(), self.ladder, actor=actor,
                                              status=status, unit=unit,
                                              proposal_id=proposal_id)

    @rpc(expected_exceptions=EXPECTED)
    @ladder_refusals
    def ladder_unit(self, actor: dict, unit: str) -> dict:
        return ladder_handlers.unit_ladder(self.uow(), self.ladder, actor=actor, unit=unit,
                                           now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @ladder_refusals
    def ladder_overview(self, actor: dict) -> dict:
        return ladder_handlers.overview(self.uow(), self.ladder, actor=actor,
                                        now=self.clock.now())

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "observed": orm.count_by_type(uow.session)}


SERVICE = AuditService
