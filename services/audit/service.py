"""audit: the nameko shell. Observations, the spot-check population and rounds (抽查轮次);
the rules are in ``services/audit/rounds.py``, the use cases in ``round_handlers.py``."""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.timer import timer

from contracts.campaign import load_campaign
from contracts.events import (
    AccountChanged, ClueAccepted, ProblemClockAlert, ProblemRegistered, ProblemTransitioned,
    RecheckRecorded, ReportCycleEvent, SpotCheckConcluded,
)
from kit.errors import EXPECTED, Conflict, Forbidden, Invalid, NotFound
from kit.nameko_ext import Correlation, ServiceMetrics, Store, reliable_event_handler, rpc
from kit.schedule import ClockProvider, Scheduler, schedule_timer
from services.audit import metrics as audit_metrics
from services.audit import domain, handlers, subscriptions
from services.audit import round_handlers as rounds
from services.audit.adapters import orm
from services.audit.rounds import RoundRefused
from services.audit import ladder_handlers, ladder_shell
from services.audit.adapters.ladder import CLAIMS as LADDER_CLAIMS
from services.audit.ladder import LadderRefused

log = logging.getLogger(__name__)
# Who appends the rounds' steps to the ledger's chain (the person is inside the record).
CHAIN_ACTOR = {"username": "audit", "role": "spot_check", "org_code": None}
KINDS = {"not_found": NotFound, "invalid": Invalid, "conflict": Conflict,
         "forbidden": Forbidden}
CHAIN_TIMEOUT = 5.0  # the ladder's chain entries: a ledger that does not answer is retried


class Campaign(DependencyProvider):
    """The campaign configuration, loaded and validated once at start."""

    def setup(self):
        self.campaign = load_campaign(Path(self.container.config["CAMPAIGN_FILE"]))

    def get_dependency(self, worker_ctx):
        return self.campaign


def refusals(method):
    """A round's or the ladder's refusal becomes the caller's bilingual refusal
    (``kit.errors``); both carry kind, code, the two messages and the field."""
    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (RoundRefused, LadderRefused) as exc:
            raise KINDS[exc.kind](exc.message, exc.message_zh.rstrip("。") + "。", exc.code,
                                  exc.field) from None
    return wrapped


class AuditService:
    name = "audit"

    uow = Store(orm.outbox_table, orm.inbox_table)
    correlation = Correlation()  # each worker's correlation id in the logs (kit.logs)
    campaign = Campaign()
    metrics = ServiceMetrics([audit_metrics.gauges])
    ledger = RpcProxy("ledger")
    ladder = ladder_shell.LadderContext()  # the ladder's campaign rules and calendar
    clock = ClockProvider()

    @reliable_event_handler("intake", "clue_accepted", contract=ClueAccepted)
    def on_clue_accepted(self, bodies):
        """Observed, and each problem's channel kept for the ladder (自查自纠)."""
        return self.uow.each(bodies, lambda uow, msg: subscriptions.clue_accepted(
            uow, msg, self.ladder))

    @reliable_event_handler("ledger", "problem_registered")
    def on_problem_registered(self, bodies):
        def apply(uow, body):
            msg = ProblemRegistered.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, msg.event_type, msg.problem_id, msg.unit,
                category=msg.category))
        return self.uow.each(bodies, apply)

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_transitioned(self, bodies):
        """The spot-check population, and the ladder's overdue watch."""
        return self.uow.each(bodies, lambda uow, msg: subscriptions.problem_transitioned(
            uow, msg, self.campaign))

    @reliable_event_handler("ledger", "cycle.#", contract=ReportCycleEvent)
    def on_report_cycle(self, bodies):
        """Zero reports (零报告) and the ledger contradicting them: the population; missing
        reports and escalations: the ladder."""
        return self.uow.each(bodies, lambda uow, msg: subscriptions.report_cycle(
            uow, msg, self.ladder, self.clock.now()))

    @reliable_event_handler("gateway", "account_changed", contract=AccountChanged)
    def on_account_changed(self, bodies):
        """The re-checkers' directory (抽查组人员及其单位, for 回避)."""
        return self.uow.each(bodies, rounds.record_account)

    # --- the chain ------------------------------------------------------------------------

    def _append(self, kind: str, key: str, record: dict) -> dict:
        return self.ledger.append_record(actor=CHAIN_ACTOR, kind=kind, key=key, record=record)

    def _publish(self, round_id: str) -> None:
        try:
            rounds.publish_pending(self.uow(), round_id, self._append)
        except Exception as exc:  # noqa: BLE001 - kept pending; the timer appends it later
            log.warning("round %s: chain entry not appended yet: %s", round_id, exc)

    @timer(interval=30)
    def publish_pending(self):
        """A crash (or the ledger away) between a step's commit and its chain entry: append
        what is missing (idempotent per round and kind)."""
        rounds.publish_all_pending(self.uow(), self._append)

    # --- rounds ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def open_round(self, actor: dict, kind: str, period: str, unit: str | None = None,
                   stratum: str | None = None) -> dict:
        round_id = rounds.open_round(self.uow(), self.campaign, actor, kind=kind,
                                     period=period, unit=unit, stratum=stratum)
        self._publish(round_id)
        return rounds.get_round(self.uow(), actor, round_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def publish_round(self, actor: dict, round_id: str) -> dict:
        """Append the round's missing chain entries now (instead of waiting for the timer)."""
        rounds.get_round(self.uow(), actor, round_id)
        rounds.publish_pending(self.uow(), round_id, self._append)
        return rounds.get_round(self.uow(), actor, round_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def enter_seed(self, actor: dict, round_id: str, seed: str) -> dict:
        self._publish(round_id)  # a manifest left pending by a crash goes first
        rounds.enter_seed(self.uow(), self.campaign, actor, round_id, seed)
        self._publish(round_id)
        return rounds.get_round(self.uow(), actor, round_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def assign(self, actor: dict, round_id: str, item_ids: list | None = None,
               rechecker: str | None = None) -> dict:
        return rounds.assign(self.uow(), self.campaign, actor, round_id, item_ids=item_ids,
                             rechecker=rechecker)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def request_material(self, actor: dict, round_id: str, item_id: str) -> dict:
        rounds.request_material(self.uow(), actor, round_id, item_id)
        return rounds.queue_item(self.uow(), actor, round_id, item_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def record_recheck(self, actor: dict, round_id: str, item_id: str, verdict: str,
                       findings: str, evidence: list | None = None) -> dict:
        return rounds.record_recheck(self.uow(), self.campaign, actor, round_id, item_id,
                                     verdict=verdict, findings=findings, evidence=evidence)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def close_round(self, actor: dict, round_id: str, reason: str | None = None) -> dict:
        rounds.close_round(self.uow(), self.campaign, actor, round_id, reason)
        self._publish(round_id)
        return rounds.get_round(self.uow(), actor, round_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def get_round(self, actor: dict, round_id: str) -> dict:
        return rounds.get_round(self.uow(), actor, round_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_rounds(self, actor: dict, period: str | None = None) -> dict:
        return rounds.list_rounds(self.uow(), actor, period)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def population(self, actor: dict, period: str) -> dict:
        return rounds.population(self.uow(), actor, period)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def my_rechecks(self, actor: dict) -> dict:
        return rounds.my_queue(self.uow(), actor)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def recheck_item(self, actor: dict, round_id: str, item_id: str) -> dict:
        return rounds.queue_item(self.uow(), actor, round_id, item_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def unit_rechecks(self, actor: dict) -> dict:
        return rounds.unit_items(self.uow(), self.campaign, actor)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def spot_check_results(self, actor: dict, period: str | None = None,
                           unit: str | None = None) -> dict:
        """Per unit and stratum, closed rounds' figures (dashboard, monthly bulletin)."""
        return rounds.results(self.uow(), self.campaign, actor, period, unit)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def round_file(self, actor: dict, round_id: str, name: str) -> dict:
        return rounds.download(self.uow(), actor, round_id, name)

    # ── the accountability ladder (严格责任追究; services/audit/ladder.py) ──────────────────────
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
    @refusals
    def ladder_record_finding(self, actor: dict, unit: str, kind: str, findings: str,
                              evidence: list | None = None,
                              problem_ids: list | None = None) -> dict:
        """暗访: 走过场 or 弄虚作假 found by covert inspection proposes a step."""
        return ladder_handlers.record_finding(
            self.uow(), self.ladder, actor=actor, unit=unit, kind=kind, findings=findings,
            evidence=list(evidence or []), problem_ids=list(problem_ids or []),
            now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
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
    @refusals
    def ladder_dismiss(self, actor: dict, proposal_id: str, reason: str) -> dict:
        return ladder_handlers.dismiss(self.uow(), self.ladder, actor=actor,
                                       proposal_id=proposal_id, reason=reason,
                                       now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def ladder_proposals(self, actor: dict, status: str | None = None,
                         unit: str | None = None, proposal_id: str | None = None) -> dict:
        return ladder_handlers.list_proposals(self.uow(), self.ladder, actor=actor,
                                              status=status, unit=unit,
                                              proposal_id=proposal_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def ladder_unit(self, actor: dict, unit: str) -> dict:
        return ladder_handlers.unit_ladder(self.uow(), self.ladder, actor=actor, unit=unit,
                                           now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def ladder_overview(self, actor: dict) -> dict:
        return ladder_handlers.overview(self.uow(), self.ladder, actor=actor,
                                        now=self.clock.now())

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "observed": orm.count_by_type(uow.session)}


SERVICE = AuditService
