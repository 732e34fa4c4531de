"""Settings from the environment, with documented defaults (see README)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CAMPAIGN_FILE = ROOT / "config" / "campaign.yaml"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    data_dir: Path = Path("./var")
    campaign_file: Path = DEFAULT_CAMPAIGN_FILE
    environment: str = "development"
    max_workers: int = 64   # also each consumer's prefetch, hence the largest batch
    # CPU priority of the services against the gateway (kit/priority.py): 19 lets the front
    # door answer first in a surge; 0 gives them equal shares.
    service_nice: int = Field(19, ge=0, le=19)


def service_database_url(service: str, settings: CommonSettings) -> str:
    """``{SERVICE}_DATABASE_URL`` if set, else a SQLite file under DATA_DIR."""
    import os

    from kit.db import default_url

    return os.environ.get(f"{service.upper()}_DATABASE_URL") or default_url(
        service, settings.data_dir)
