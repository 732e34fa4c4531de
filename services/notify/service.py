"""notify: the nameko shell. Events in → people (inbox, claimed deliveries); a timer sends what
is due; RPCs for the inbox, preferences and the dead list (死信, ops replays it)."""
from __future__ import annotations

import functools
import socket
from dataclasses import replace

import eventlet
from cryptography.fernet import Fernet, InvalidToken
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from contracts.campaign import load_campaign
from contracts.events import (
    AccountabilityEvent, AccountChanged, ProblemClockAlert, ProblemRegistered,
    ProblemTransitioned, ReportCycleEvent, WorkPlanFiled,
)
from kit.errors import EXPECTED, Invalid, NotFound
from kit.metrics import deliveries_known
from kit.nameko_ext import Correlation, ServiceMetrics, Store, reliable_event_handler, rpc
from kit.sealing import partner_webhook_fernet
from kit.settings import Settings
from kit.webhooks import WebhookPolicy
from services.notify import domain, handlers
from services.notify.adapters import channels, orm

SWEEP_SECONDS = 0.5
MAX_PAGE = 200


class Notifier(DependencyProvider):
    """The rules' context and the transports, built once from the settings."""

    def setup(self):
        settings = Settings()
        config = self.container.config
        self.settings = settings
        self.development = settings.environment == "development"
        campaign = load_campaign(config.get("CAMPAIGN_FILE") or settings.campaign_file)
        self.context = handlers.Context(
            campaign=campaign, workdays=domain.WorkDays.of(campaign),
            grace_days=settings.notify_escalation_grace_days,
            backoff=domain.Backoff.parse(settings.notify_retry_schedule),
            lease_seconds=settings.notify_lease_seconds)
        self.senders = handlers.Senders(
            email=channels.Smtp(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                                timeout=settings.smtp_timeout_seconds,
                                starttls=settings.smtp_starttls, user=settings.smtp_user,
                                password=settings.smtp_password),
            webhook=channels.Webhooks(settings.notify_webhook_timeout_seconds))
        # every webhook target is checked by one rule (kit.webhooks), a partner's too; a
        # partner's secret comes sealed under PARTNER_WEBHOOK_KEY (gateway.auth.partners)
        self.webhook_policy = WebhookPolicy.of(settings, resolve=_resolve)
        fernet = partner_webhook_fernet(settings)
        self.open_partner_webhook = functools.partial(
            domain.partner_webhook, unseal=functools.partial(_unseal, fernet),
            check=self.webhook_policy.check)

    def get_dependency(self, worker_ctx):
        return self


RESOLVE_SECONDS = 3.0


def _unseal(fernet: Fernet, token: str) -> str | None:
    try:
        return fernet.decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def _resolve(host: str) -> list[str]:
    """The host's addresses; a look-up that does not answer soon counts as unresolvable."""
    with eventlet.Timeout(RESOLVE_SECONDS, OSError(f"resolving {host} timed out")):
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})


class NotifyService:
    name = "notify"

    uow = Store(orm.outbox_table, orm.inbox_table)
    correlation = Correlation()  # each worker's correlation id in the logs (kit.logs)
    notifier = Notifier()
    metrics = ServiceMetrics(known=[deliveries_known])

    def _route(self, bodies):
        ctx = self.notifier.context
        return self.uow.each(bodies, lambda uow, msg: handlers.route(
            uow, handlers.occurrence_of(msg), ctx))

    @reliable_event_handler("ledger", "problem_registered")
    def on_problem_registered(self, bodies):
        return self._route(bodies)

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_transitioned(self, bodies):
        return self._route(bodies)

    @reliable_event_handler("ledger", "work_plan_filed")
    def on_work_plan_filed(self, bodies):
        return self._route(bodies)

    # A new kind of event is routed by its rule in domain.RULES, its Subscription in
    # contracts.topology and a handler here with its contract (handlers.occurrence_of reads
    # name, problem_id, unit, supervisor, due/due_on, title).

    @reliable_event_handler("ledger", "clock.#", contract=ProblemClockAlert)
    def on_clock_alert(self, bodies):
        """催办: the ledger's daily sweep found a problem due soon, overdue or stalled."""
        return self._route(bodies)

    @reliable_event_handler("ledger", "cycle.#", contract=ReportCycleEvent)
    def on_report_cycle(self, bodies):
        """The reporting rhythm: reports filed, due, missing; escalation proposals."""
        return self._route(bodies)

    @reliable_event_handler("audit", "ladder.#", contract=AccountabilityEvent)
    def on_ladder(self, bodies):
        """The accountability ladder: proposals, confirmed steps, deadlines passed."""
        return self._route(bodies)

    @reliable_event_handler("gateway", "account_changed", contract=AccountChanged)
    def on_account_changed(self, bodies):
        return self.uow.each(bodies, lambda uow, msg: handlers.account_changed(
            uow, msg, self.notifier.open_partner_webhook))

    @timer(interval=SWEEP_SECONDS)
    def sweep_deliveries(self):
        """The delivery sweeper: daily digests due, then every due delivery."""
        handlers.digests(self.uow, self.notifier.context)
        while handlers.sweep(self.uow, self.notifier.context, self.notifier.senders):
            pass

    # --- the inbox (站内通知) -------------------------------------------------------------------

    @rpc
    def inbox(self, account_id: str, limit: int = 50, unread_only: bool = False,
              before: int | None = None) -> dict:
        with self.uow() as uow:
            return {"items": orm.inbox(uow.session, account_id, limit=max(1, min(limit, MAX_PAGE)),
                                       unread_only=unread_only, before=before),
                    "unread": orm.unread_count(uow.session, account_id)}

    @rpc
    def unread_count(self, account_id: str) -> int:
        with self.uow() as uow:
            return orm.unread_count(uow.session, account_id)

    @rpc
    def mark_read(self, account_id: str, ids: list[int] | None = None) -> dict:
        with self.uow() as uow:
            changed = orm.mark_read(uow.session, account_id, ids)
            uow.commit()
            return {"marked": changed, "unread": orm.unread_count(uow.session, account_id)}

    # --- preferences (通知偏好) ----------------------------------------------------------------

    @rpc
    def get_preferences(self, account_id: str) -> dict:
        with self.uow() as uow:
            prefs, secret = orm.preferences_of(uow.session, [account_id])[account_id]
            person = orm.SqlDirectory(uow.session).people([account_id]).get(account_id)
            return {**handlers.preferences_view(prefs, secret),
                    "directory_email": person.email if person else None}

    @rpc(expected_exceptions=EXPECTED)
    def set_preferences(self, account_id: str, changes: dict) -> dict:
        """Change some of one's preferences; a new webhook URL gets a new secret, shown once."""
        allowed = {"email", "email_address", "webhook_url", "quiet_hours", "digest"}
        unknown = set(changes) - allowed
        if unknown:
            raise Invalid(f"unknown preference {sorted(unknown)[0]}", "未知的通知偏好项",
                          "invalid_input", sorted(unknown)[0])
        with self.uow() as uow:
            prefs, secret = orm.preferences_of(uow.session, [account_id])[account_id]
            show_secret = False
            updates = dict(changes)
            if "email_address" in updates:
                updates["email_failing"] = False  # a new address gets a new chance
            if updates.get("webhook_url"):
                updates["webhook_url"] = self._checked_webhook(updates["webhook_url"])
                if updates["webhook_url"] != prefs.webhook_url or not secret:
                    secret, show_secret = channels.new_secret(), True
                updates["webhook_disabled"] = False
            elif "webhook_url" in updates:
                updates["webhook_url"], secret = None, None
            prefs = replace(prefs, **updates)
            orm.save_preferences(uow.session, account_id, prefs, secret)
            uow.commit()
            return handlers.preferences_view(prefs, secret, show_secret=show_secret)

    def _checked_webhook(self, url: str) -> str:
        try:
            return self.notifier.webhook_policy.check(url)
        except domain.BadWebhookTarget as exc:
            raise Invalid(exc.message, exc.message_zh, exc.reason, "webhook_url") from None

    # --- deliveries and the dead list (ops) -----------------------------------------------------

    @rpc
    def deliveries(self, states: list[str] | None = None, limit: int = 100) -> dict:
        with self.uow() as uow:
            return {"items": orm.listing(uow.session, states=tuple(states or ("dead",)),
                                         limit=max(1, min(limit, MAX_PAGE))),
                    "counts": orm.counts(uow.session)}

    @rpc
    def deliveries_of_event(self, event_id: str) -> list[dict]:
        with self.uow() as uow:
            found = orm.deliveries_of(uow.session, event_id)
            for item in found:
                item["attempt_log"] = orm.attempts_of(uow.session, item["id"])
            return found

    @rpc(expected_exceptions=EXPECTED)
    def replay(self, delivery_id: int) -> dict:
        with self.uow() as uow:
            if not orm.replay(uow.session, int(delivery_id), self.notifier.context.clock()):
                raise NotFound("no dead delivery with this id", "未找到该条失败投递",
                               "not_found", "delivery_id")
            uow.commit()
            return {"replayed": int(delivery_id)}

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "notices": orm.notice_count(uow.session),
                    "people": orm.directory_size(uow.session)}


SERVICE = NotifyService
