"""Gateway settings, from the environment. Refuses default secrets outside development."""
from __future__ import annotations

from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.settings import DEFAULT_CAMPAIGN_FILE

DEV_SECRET = "development-only-secret-do-not-use-in-production"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    environment: str = "development"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    data_dir: Path = Path("./var")
    gateway_database_url: str | None = None
    campaign_file: Path = DEFAULT_CAMPAIGN_FILE
    secret_key: str = DEV_SECRET
    contact_key: str | None = None  # Fernet key sealing reporters' contacts (intake's CONTACT_KEY)
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

    @model_validator(mode="after")
    def _no_default_secret_outside_development(self):
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            raise ValueError("SECRET_KEY must be set outside development "
                             "(ENVIRONMENT=%s)" % self.environment)
        if self.environment != "development" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        return self

    def database_url(self) -> str:
        from kit.db import default_url

        return self.gateway_database_url or default_url("gateway", self.data_dir)
