"""``python -m gateway.main``: serve the gateway on 127.0.0.1:$GATEWAY_PORT (default 8000)."""
from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from contracts.campaign import CampaignConfigError
from gateway.app import create_app
from kit import amqp_reads, logs
from kit.settings import Settings


def main() -> None:
    logs.configure("gateway")
    amqp_reads.install()
    try:
        settings = Settings()
        app = create_app(settings, freeze_heap=True)  # this process serves it
    except (CampaignConfigError, ValidationError, RuntimeError) as exc:
        logging.getLogger("gateway").critical("refusing to start: %s", exc)
        sys.exit(2)
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port, log_level="warning",
                access_log=False, log_config=None)  # uvicorn's records: our JSON lines


if __name__ == "__main__":
    main()
