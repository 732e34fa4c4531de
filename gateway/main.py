"""``python -m gateway.main``: serve the gateway on 127.0.0.1:$GATEWAY_PORT (default 8000)."""
from __future__ import annotations

import logging
import os

import uvicorn

from gateway.app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(levelname)s %(message)s")
    uvicorn.run(create_app(), host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
                port=int(os.environ.get("GATEWAY_PORT", "8000")), log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
