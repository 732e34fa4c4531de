"""The gateway: FastAPI in front of the services. Accounts and roles; no business state."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from contracts.campaign import load_campaign
from gateway.auth.accounts import AccountStore
from gateway.auth import directory
from gateway.auth.demo import seed_demo_accounts, seed_demo_partners
from gateway.auth.environment import warn_if_development
from gateway.auth.guards import enforce_declared_roles
from gateway.auth.partners import PartnerStore, secret_sealer
from gateway.auth.passwords import HashingSlots
from gateway.auth.router import router as auth_router
from gateway.broker import Broker
from gateway.errors import CatchAll, install_error_handlers
from gateway.excel import routes as excel
from gateway.files.routes import router as files_router
from gateway.uploads import cases as exposure_cases, published, routes as uploads
from gateway.idempotency import Idempotency
from gateway.limits import MaxBodySize, Throttle, ThrottleByPath, ThrottlePolicy
from gateway.metrics import Metrics, MetricsMiddleware
from gateway.openapi import install_openapi
from gateway.request_log import RequestLog
from gateway.timing import ServerTiming
from gateway.routes import accounts as accounts_api, reports as reports_api
from gateway.routes import (
    clues, custody, docs, followup, notifications, ops, pages, problems, public,
)
from gateway.open311 import routes as open311
from gateway.open311.store import PartnerRequests
from gateway.routes.not_found import install_not_found
from gateway.workbench import accounts as workbench_accounts, notices
from gateway.workbench import reports as workbench_reports
from gateway.workbench import attachments as workbench_files, plan_filing, routes as workbench
from gateway.workbench import dashboard as workbench_dashboard
from gateway.workbench import bulletins as workbench_bulletins
from gateway.routes import bulletins as bulletins_api
from gateway.routes import spot_checks as spot_checks_api
from gateway.workbench import spot_checks as workbench_spot_checks
from gateway.workbench import ledger as workbench_ledger
from gateway.workbench import partners as workbench_partners
from gateway.workbench import work_plans as workbench_plans
from gateway.workbench import accountability as workbench_ladder
from gateway.routes import accountability as ladder_api
from gateway.workbench.session import WorkbenchMiddleware
from kit.settings import Settings
from kit import heap, logs
from kit.db import make_engine
from kit.sealing import fernet_from, partner_webhook_fernet
from kit.webhooks import WebhookPolicy


NO_OPENTELEMETRY = {"tracing": False, "metrics": False, "logs": False,
                    "operation_spans": False}
"""FastAPI 0.16x's own OpenTelemetry hooks, off: this platform's metrics are Prometheus's
(gateway/metrics.py) and its traces the correlation id in the JSON logs (kit/logs.py). On,
FastAPI asked OpenTelemetry's API for its three providers on every request, unconfigured
as they are: 4% of the gateway's CPU for a clue (py-spy, bench.clues' closed loop)."""


def create_app(settings: Settings | None = None, *, broker: Broker | None = None,
               freeze_heap: bool = False) -> FastAPI:
    """Build the app; the campaign file is validated here, before anything is served.
    ``freeze_heap``: the serving process (gateway/main.py) freezes its start-up objects out
    of full GC passes once started (kit/heap.py); an app built in a test process must not,
    or every object the test process holds then would never be collected."""
    settings = settings or Settings()
    logs.install()
    campaign = load_campaign(settings.campaign_file)
    warn_if_development(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        accounts = AccountStore(make_engine(settings.database_url()))
        accounts.create_schema()
        if settings.demo_accounts:
            seed_demo_accounts(accounts, settings)
        app.state.accounts = accounts
        app.state.partners = PartnerStore(accounts, secret_sealer(settings.secret_key),
                                          app.state.partner_webhook_fernet)
        app.state.partners.create_schema()  # partner platforms (协作平台): keys, channels
        if settings.demo_accounts:
            seed_demo_partners(app.state.partners)
        app.state.open311_requests = PartnerRequests(accounts.engine)
        app.state.open311_requests.create_schema()
        app.state.idempotency = Idempotency(accounts.engine, settings.secret_key)
        app.state.idempotency.create_schema()
        app.state.broker = broker or Broker(settings.amqp_uri,
                                            rpc_timeout=settings.rpc_timeout_seconds)
        app.state.broker.start()
        directory.announce_all(  # the account directory (notify) catches up
            accounts, app.state.partners.links())
        relay = directory.DirectoryRelay(accounts.engine, app.state.broker).start()
        if freeze_heap:
            heap.freeze_startup_heap()  # full GC passes skip what start made (kit/heap.py)
        try:
            yield
        finally:
            await relay.stop()
            app.state.broker.stop()
            app.state.idempotency.close()

    app = FastAPI(title="不作为、乱作为、慢作为问题专项清理 · Accountability campaign",
                  version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  telemetry=NO_OPENTELEMETRY)
    app.state.settings = settings
    app.state.campaign = campaign
    app.state.campaign_view = campaign.public_view()
    app.state.contact_fernet = fernet_from(settings.contact_key, settings.environment)
    app.state.partner_webhook_fernet = partner_webhook_fernet(settings)  # 协作平台 → notify
    app.state.webhook_policy = WebhookPolicy.of(settings)  # partners' webhook URLs
    app.state.metrics = Metrics()
    app.state.hashing = HashingSlots(settings.hashing_slots or None)
    app.state.throttle = Throttle(ThrottlePolicy(
        settings.login_rate_per_client, settings.login_rate_per_account,
        settings.login_lockout_after, settings.receipt_rate_per_client))
    # The clue route first: every request is matched against the routes in this order,
    # and submitting clues is the busiest path.
    routers = (clues.router, followup.router, auth_router, public.router, problems.router,
               custody.router, ops.router, pages.router, docs.router)
    for module in routers:
        app.include_router(module)
    # Open311 GeoReport v2 for partner platforms, before the workbench's many pages: its
    # requests are matched against a quarter of the routes (6 ms a request under load)
    app.include_router(open311.router)
    app.include_router(workbench.router)
    app.include_router(workbench_ledger.router)  # the ledger, overdue/stalled, work plans
    app.include_router(workbench_plans.router)
    app.include_router(workbench_files.router)  # evidence files on the workbench's forms
    app.include_router(plan_filing.router)  # a unit files its work plan (清理工作方案)
    app.include_router(workbench_accounts.router)  # accounts and people (账号与人员)
    app.include_router(accounts_api.router)
    app.include_router(workbench_reports.router)  # 周报告 pages
    app.include_router(reports_api.router)        # 周报告 API
    app.include_router(notices.router)  # the workbench's notices pages
    app.include_router(notifications.router)  # inbox, preferences, dead list (notify)
    app.include_router(workbench_dashboard.router)  # the roll-up as charts (统计看板)
    app.include_router(workbench_bulletins.router)  # 月通报 pages
    app.include_router(bulletins_api.router)        # 月通报 API
    app.include_router(workbench_spot_checks.router)  # 抽查 pages (rounds, re-checks, results)
    app.include_router(spot_checks_api.router)        # 抽查 API
    app.include_router(workbench_ladder.router)  # 问责阶梯 pages
    app.include_router(ladder_api.router)        # 问责阶梯 API
    app.include_router(files_router)  # evidence files; its lifespan opens the blob store
    app.include_router(workbench_partners.router)  # partner platforms (协作平台)
    app.include_router(uploads.router)  # resumable uploads (tus 1.0), after the blob store
    app.include_router(exposure_cases.router)  # the media team's exposure cases (曝光案例)
    app.include_router(published.router)  # 公开曝光: published typical cases, public page
    install_error_handlers(app)
    install_not_found(app)  # 404 and 405: a Chinese page for a browser, JSON for the API
    app.include_router(excel.router)
    enforce_declared_roles(app)
    install_openapi(app)
    app.add_middleware(notices.InboxBadge)  # the unread count in the workbench's navigation
    app.add_middleware(WorkbenchMiddleware, settings=settings)  # /workbench: session, CSRF
    app.add_middleware(MaxBodySize, max_bytes=settings.max_body_bytes,
                       exempt_prefixes=(uploads.PREFIX + "/",))  # tus: its own limits
    app.add_middleware(uploads.TusHeaders)  # Tus-Resumable on every /api/v1/uploads answer
    app.add_middleware(ThrottleByPath, throttle=app.state.throttle,
                       budgets={"/api/v1/receipt": "receipts_per_client"})
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(ServerTiming)  # /workbench: Server-Timing (gateway/timing.py)
    app.add_middleware(CatchAll)  # a crash anywhere inside is answered
    app.add_middleware(RequestLog)  # outermost of ours: the correlation id, one line a request
    return app
