"""``python -m gateway.main``: serve the gateway on 127.0.0.1:$GATEWAY_PORT (default 8000)."""
from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from contracts.campaign import CampaignConfigError
from gateway.app import create_app
from kit import amqp_reads
from kit.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(levelname)s %(message)s")
    amqp_reads.install()
    try:
        settings = Settings()
        app = create_app(settings)
    except (CampaignConfigError, ValidationError, RuntimeError) as exc:
        print(f"gateway: refusing to start: {exc}", file=sys.stderr)
        sys.exit(2)
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
