"""Every setting of the platform, from the environment, with documented defaults (README,
"Configuration"). One home: the gateway, the services, ``make run``, the verify command and
the benchmarks all read ``Settings``; nothing else reads ``os.environ`` for configuration.

Outside development the development secrets are refused at start, naming the variable."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CAMPAIGN_FILE = ROOT / "config" / "campaign.yaml"
SERVICES = ("intake", "ledger", "notify", "audit")
"""The platform's nameko services (each ``services/<name>``, with a store of its own)."""
DEV_SECRET = "development-only-secret-do-not-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    environment: str = "development"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    data_dir: Path = Path("./var")
    campaign_file: Path = DEFAULT_CAMPAIGN_FILE
    # A store per service (and the gateway's): SQLite under DATA_DIR unless given.
    intake_database_url: str | None = None
    ledger_database_url: str | None = None
    notify_database_url: str | None = None
    audit_database_url: str | None = None
    gateway_database_url: str | None = None
    # Secrets: development values are public, and refused outside development.
    secret_key: str = DEV_SECRET
    contact_key: str | None = None  # Fernet key sealing reporters' contacts (gateway, intake)
    # Fernet key sealing partner platforms' webhook secrets on their way (gateway, notify)
    partner_webhook_key: str | None = None
    ledger_signing_key: str | None = None  # Ed25519 key signing the chain's head (ledger)
    # The services
    max_workers: int = 64   # also each consumer's prefetch, hence the largest batch
    # Processes per service (``make run``; compose: replicas). They compete on the service's
    # queues: the inbox makes each message's effect once, the claims each scheduled period.
    intake_workers: int = Field(1, ge=1, le=16)
    ledger_workers: int = Field(1, ge=1, le=16)
    notify_workers: int = Field(1, ge=1, le=16)
    audit_workers: int = Field(1, ge=1, le=16)
    # CPU priority of the services against the gateway (kit/priority.py): 19 lets the front
    # door answer first in a surge; 0 gives them equal shares.
    service_nice: int = Field(19, ge=0, le=19)
    # Scheduled work (kit/schedule.py): how often each service process ticks, and, in
    # development only, a file holding the time its clock reads (tests move it).
    schedule_tick_seconds: float = Field(30.0, gt=0, le=3600)
    schedule_clock_file: str | None = None
    # Prometheus (kit/metrics.py): each service process serves /metrics on this port; 0: off.
    # Several processes on one host need a port each (make run and the tests give them one).
    metrics_port: int = Field(0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, for Prometheus to reach it
    # The gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(8000, ge=1, le=65535)
    token_ttl_minutes: int = 8 * 60
    rpc_timeout_seconds: float = 10.0
    max_body_bytes: int = 1_000_000
    demo_accounts: bool = False
    # Sign-in protection (limits notation); see gateway.limits.ThrottlePolicy.
    login_rate_per_client: str = "20/minute"
    login_rate_per_account: str = "10/minute"
    login_lockout_after: str = "10/15 minutes"
    receipt_rate_per_client: str = "60/minute"
    hashing_slots: int = 0  # concurrent password hashes (64 MiB each); 0: one per core
    # The workbench: a session ends after TOKEN_TTL_MINUTES, or this long unused.
    workbench_idle_minutes: int = Field(30, ge=1)
    # Evidence files (gateway.files): a folder under DATA_DIR, or S3-compatible storage.
    blob_store: str = "folder"  # folder | s3
    s3_endpoint_url: str | None = None
    s3_bucket: str = "evidence"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    upload_max_bytes: int = 1 << 30         # any one file
    upload_max_image_bytes: int = 30_000_000  # an image (decoded in memory to strip metadata)
    upload_max_files: int = 10              # files in one upload
    # Resumable uploads (gateway.uploads, tus 1.0) and the media team's exposure cases.
    tus_max_bytes: int = Field(4 << 30, ge=1)        # any one file (Tus-Max-Size)
    tus_expiry_seconds: int = Field(86_400, ge=60)   # an unfinished upload, after its last byte
    tus_max_open_uploads: int = Field(100, ge=1)     # unfinished uploads per account
    exposure_max_files: int = Field(50, ge=1)        # files in one exposure case
    # Notify (services/notify): email through SMTP (off without SMTP_HOST), webhooks, retries.
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "notify@localhost"
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = 10.0
    notify_retry_schedule: str = "5,300,1800,7200,18000,36000"  # seconds before each retry
    notify_lease_seconds: float = Field(60.0, gt=0)  # a send in progress; then retried
    notify_escalation_grace_days: int = Field(2, ge=0)  # working days past due
    notify_webhook_allow_private: bool = False  # webhook targets in private address ranges
    notify_webhook_timeout_seconds: float = 10.0

    @model_validator(mode="after")
    def _no_development_secret_outside_development(self):
        if self.environment == "development":
            return self
        if self.secret_key == DEV_SECRET:
            raise ValueError("SECRET_KEY must be set outside development "
                             f"(ENVIRONMENT={self.environment})")
        if len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        if not self.contact_key:
            raise ValueError("CONTACT_KEY must be set outside development (generate one "
                             "with: python -c 'from cryptography.fernet import Fernet; "
                             "print(Fernet.generate_key().decode())')")
        return self

    def workers(self, service: str) -> int:
        """How many processes of ``service`` to run (``{SERVICE}_WORKERS``)."""
        return getattr(self, f"{service}_workers")

    def database_url(self, service: str = "gateway") -> str:
        """``{SERVICE}_DATABASE_URL`` if set, else a SQLite file under DATA_DIR."""
        from kit.db import default_url

        return getattr(self, f"{service}_database_url") or default_url(service, self.data_dir)
