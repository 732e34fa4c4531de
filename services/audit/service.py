"""audit: the nameko shell. Observations, the spot-check population and rounds (抽查轮次);
the rules are in ``services/audit/rounds.py``, the use cases in ``round_handlers.py``."""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from contracts.campaign import load_campaign
from contracts.events import (
    AccountChanged, ClueAccepted, ProblemRegistered, ProblemTransitioned, ReportCycleEvent,
)
from kit.errors import EXPECTED, Conflict, Forbidden, Invalid, NotFound
from kit.nameko_ext import Store, reliable_event_handler
from services.audit import domain, handlers
from services.audit import round_handlers as rounds
from services.audit.adapters import orm
from services.audit.rounds import RoundRefused

log = logging.getLogger(__name__)
# Who appends the rounds' steps to the ledger's chain (the person is inside the record).
CHAIN_ACTOR = {"username": "audit", "role": "spot_check", "org_code": None}
KINDS = {"not_found": NotFound, "invalid": Invalid, "conflict": Conflict,
         "forbidden": Forbidden}


class Campaign(DependencyProvider):
    """The campaign configuration, loaded and validated once at start."""

    def setup(self):
        self.campaign = load_campaign(Path(self.container.config["CAMPAIGN_FILE"]))

    def get_dependency(self, worker_ctx):
        return self.campaign


def refusals(method):
    """A round's refusal becomes the caller's bilingual refusal (``kit.errors``)."""
    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except RoundRefused as exc:
            raise KINDS[exc.kind](exc.message, exc.message_zh, exc.code, exc.field) from None
    return wrapped


class AuditService:
    name = "audit"

    uow = Store(orm.outbox_table, orm.inbox_table)
    campaign = Campaign()
    ledger = RpcProxy("ledger")

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, bodies):
        def apply(uow, body):
            msg = ClueAccepted.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, msg.event_type, msg.clue_id, msg.clue.subject_unit,
                category=msg.clue.category))
        return self.uow.each(bodies, apply)

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
        return self.uow.each(bodies, lambda uow, msg: rounds.observe_transition(
            uow, msg, self.campaign))

    @reliable_event_handler("ledger", "cycle.#", contract=ReportCycleEvent)
    def on_report_cycle(self, bodies):
        """Zero reports (零报告) and the ledger contradicting them: the population."""
        return self.uow.each(bodies, rounds.record_report)

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

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "observed": orm.count_by_type(uow.session)}


SERVICE = AuditService
