"""ledger: the nameko shell. Translates messages to handler calls and domain errors to
remote errors the gateway maps to HTTP statuses."""
from __future__ import annotations

import os

import eventlet

from contracts.events import ClueAccepted, ContactOpened, RecheckRecorded
from kit.errors import EXPECTED
from kit.nameko_ext import Correlation, ServiceMetrics, reliable_event_handler, rpc
from kit.schedule import ClockProvider, Scheduler, schedule_timer
from services.ledger import bootstrap, custody, handlers
from services.ledger.handlers import bulletins, rechecks, records, reports, schedule, views
from services.ledger.domain.actions import Actor
from services.ledger import metrics as ledger_metrics
from services.ledger.refusals import refusals


def actor_from(data: dict) -> Actor:
    return Actor(username=str(data["username"]), role=str(data["role"]),
                 org_code=data.get("org_code"))


class LedgerService:
    name = "ledger"

    uow = bootstrap.store()
    correlation = Correlation()  # each worker's correlation id in the logs (kit.logs)
    campaign = bootstrap.campaign()
    signer = bootstrap.signer()
    clock = ClockProvider()
    metrics = ServiceMetrics([ledger_metrics.gauges])

    @schedule_timer()
    def tick(self):
        """催办: the sweeps and the reporting cycle, each (job, working day) once across
        restarts and processes (``kit.schedule``)."""
        Scheduler(schedule.jobs(self.campaign), self.uow, schedule.CLAIMS, self.clock,
                  owner=f"ledger-{os.getpid()}").tick()

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.register_problem(
            uow, ClueAccepted.model_validate(body), self.campaign))

    @reliable_event_handler("intake", "contact_opened")
    def on_contact_opened(self, bodies):
        return self.uow.each(bodies, lambda uow, body: custody.record_contact_opened(
            uow, ContactOpened.model_validate(body)))

    @reliable_event_handler("audit", "recheck.#", contract=RecheckRecorded)
    def on_recheck_recorded(self, bodies):
        """A re-check found a closure wrong (抽查/回头看): reopen the problem."""
        return self.uow.each(bodies, lambda uow, msg: rechecks.reopen_after_recheck(
            uow, self.campaign, msg))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def act(self, problem_id: str, action: str, actor: dict, args: dict | None = None) -> dict:
        return handlers.act(self.uow(), self.campaign, problem_id=problem_id, action=action,
                            actor=actor_from(actor), args=args or {})

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def public_progress(self, problem_id: str, reporter: str) -> dict:
        """For the gateway's follow-up page only: it found the problem by receipt code."""
        return handlers.public_progress(self.uow(), problem_id=problem_id, reporter=reporter)

    @rpc
    def published_cases(self, limit: int = 100) -> list[dict]:
        """公开曝光: the published typical cases, for the public page (anyone may see them)."""
        return handlers.published_cases(self.uow(), self.campaign, limit=limit)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def get_problem(self, problem_id: str, actor: dict) -> dict:
        return handlers.get_problem(self.uow(), self.campaign, problem_id=problem_id,
                                    actor=actor_from(actor))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_problems(self, actor: dict, filters: dict | None = None, limit: int = 50,
                      offset: int = 0) -> dict:
        return handlers.list_problems(self.uow(), self.campaign, actor=actor_from(actor),
                                      filters=filters or {}, limit=limit, offset=offset)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def problem_states(self, clue_ids: list[str], with_text: bool = False) -> dict:
        """Many clues' problems' narrow state in one read (the gateway's Open311 door)."""
        return views.problem_states(self.uow(), clue_ids=clue_ids, with_text=with_text)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def rollup(self, actor: dict) -> dict:
        return handlers.rollup(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc
    def verify_chain(self, published: dict | None = None) -> dict:
        return handlers.verify_chain(self.uow(), between_batches=lambda: eventlet.sleep(0),
                                     published=published)

    @rpc
    def chain_head(self) -> dict:
        return handlers.chain_head(self.uow(), signer=self.signer)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def file_work_plan(self, actor: dict, title: str, summary: str,
                       document_sha256: str | None = None) -> dict:
        return handlers.file_work_plan(self.uow(), self.campaign, actor=actor_from(actor),
                                       title=title, summary=summary,
                                       document_sha256=document_sha256)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def acknowledge_work_plan(self, actor: dict, plan_id: str) -> dict:
        return handlers.acknowledge_work_plan(self.uow(), self.campaign,
                                              actor=actor_from(actor), plan_id=plan_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_work_plans(self, actor: dict) -> dict:
        return handlers.list_work_plans(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def missing_work_plans(self, actor: dict, phase: str | None = None) -> dict:
        return handlers.missing_work_plans(self.uow(), self.campaign, actor=actor_from(actor),
                                           phase=phase)

    # reports (周报告, 零报告, 总结报告) and the 建章立制 register -----------------------------------
    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def file_report(self, actor: dict, unit: str, period: str, kind: str,
                    figures: dict | None = None, text: str | None = None,
                    document_sha256: str | None = None, reason: str | None = None) -> dict:
        return reports.file_report(self.uow(), self.campaign, actor=actor_from(actor), unit=unit,
                                   period=period, kind=kind, figures=figures, text=text,
                                   document_sha256=document_sha256, reason=reason,
                                   now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_reports(self, actor: dict, period: str | None = None, unit: str | None = None,
                     contradicted: bool = False) -> dict:
        return reports.list_reports(self.uow(), self.campaign, actor=actor_from(actor),
                                    period=period, unit=unit, contradicted=contradicted)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def get_report(self, actor: dict, unit: str, period: str) -> dict:
        return reports.get_report(self.uow(), self.campaign, actor=actor_from(actor), unit=unit,
                                  period=period)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def missing_reports(self, actor: dict, period: str) -> dict:
        return reports.missing_reports(self.uow(), self.campaign, actor=actor_from(actor),
                                       period=period, today=_local_day(self.clock.now()))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def report_summary(self, actor: dict, period: str) -> dict:
        return reports.system_summary(self.uow(), self.campaign, actor=actor_from(actor),
                                      period=period)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def forward_report_summary(self, actor: dict, period: str) -> dict:
        return reports.forward_summary(self.uow(), self.campaign, actor=actor_from(actor),
                                       period=period, now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def register_institution(self, actor: dict, title: str, status: str,
                             on: str | None = None) -> dict:
        return reports.register_measure(self.uow(), self.campaign, actor=actor_from(actor),
                                        title=title, status=status, on=on, now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_institutions(self, actor: dict) -> dict:
        return reports.list_measures(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def bulletin_figures(self, actor: dict, month: str) -> dict:
        return bulletins.figures(self.uow(), self.campaign, actor=actor_from(actor), month=month,
                                 today=_local_day(self.clock.now()))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def publish_bulletin(self, actor: dict, month: str, pdf_sha256: str, pdf_size: int,
                         figures: dict, head: dict) -> dict:
        return bulletins.publish(self.uow(), self.campaign, actor=actor_from(actor), month=month,
                                 pdf_sha256=pdf_sha256, pdf_size=pdf_size, figures=figures,
                                 head=head, now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_bulletins(self, actor: dict) -> dict:
        return bulletins.listing(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def get_bulletin(self, actor: dict, month: str) -> dict:
        return bulletins.get(self.uow(), self.campaign, actor=actor_from(actor), month=month)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def append_record(self, actor: dict, kind: str, key: str, record: dict) -> dict:
        """Another service's record in the hash chain (ChainRecord), once per (kind, key)."""
        return records.append(self.uow(), actor=actor_from(actor), kind=kind, key=key,
                              record=record, now=self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_records(self, actor: dict, kind: str, key: str | None = None) -> dict:
        return records.listing(self.uow(), actor=actor_from(actor), kind=kind, key=key)

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "problems": uow.problems.count()}


def _local_day(now):
    from services.ledger.domain import LOCAL_TZ
    return now.astimezone(LOCAL_TZ).date()


SERVICE = LedgerService
