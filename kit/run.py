"""Start one service: ``python -m kit.run intake``.

Order: green the standard library, migrate the store, declare the broker topology,
then run the nameko container until SIGINT or SIGTERM.
"""
import warnings

# eventlet is in bugfix-only mode and says so on import; the domain, outbox and inbox are
# kept free of nameko and eventlet so the framework could be swapped (see README).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402 - must precede every other import

import importlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from contracts.topology import declare_all, retire_all  # noqa: E402
from kit import amqp_reads, heap, logs, priority  # noqa: E402
from kit.db import green_postgres  # noqa: E402
from kit.migrate import upgrade  # noqa: E402
from kit.settings import SERVICES, Settings  # noqa: E402

log = logging.getLogger("kit.run")


def declare_topology(amqp_uri: str) -> None:
    with Connection(amqp_uri, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=3)
        declare_all(conn.default_channel)
        for queue, count in retire_all(conn.connection).items():
            log.warning("queue %s is retired but holds %d messages: unbound and kept; drain "
                        "or delete it (contracts.topology.RETIRED)", queue, count)


def nameko_config(service: str, settings: Settings) -> dict:
    return {
        "AMQP_URI": settings.amqp_uri,
        "DATABASE_URL": settings.database_url(service),
        "CONTACT_KEY": settings.contact_key,
        "LEDGER_SIGNING_KEY": settings.ledger_signing_key,
        "CAMPAIGN_FILE": str(settings.campaign_file),
        "ENVIRONMENT": settings.environment,
        "max_workers": settings.max_workers,
        "serializer": "json",
        "HEARTBEAT": 30,
        "SCHEDULE_TICK_SECONDS": settings.schedule_tick_seconds,
        "SCHEDULE_CLOCK_FILE": settings.schedule_clock_file,
        "METRICS_PORT": settings.metrics_port,
        "METRICS_HOST": settings.metrics_host,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m kit.run {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    logs.configure(name)
    try:
        settings = Settings()
    except ValidationError as exc:
        log.critical("refusing to start, a setting is wrong: %s", exc)
        return 2
    for problem in priority.yield_cpu(settings.service_nice):
        log.warning("could not lower the CPU priority (%s); running at the usual one", problem)
    config = nameko_config(name, settings)
    amqp_reads.install()
    if not config["DATABASE_URL"].startswith("sqlite"):
        green_postgres()
    module = importlib.import_module(f"services.{name}.service")
    upgrade(Path(module.__file__).parent, config["DATABASE_URL"])
    declare_topology(settings.amqp_uri)
    runner = ServiceRunner(config)
    runner.add_service(module.SERVICE)
    stopping = eventlet.event.Event()

    def _stop(signum, _frame):
        log.info("signal %s: stopping", signum)
        if not stopping.ready():
            stopping.send(True)

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    runner.start()
    heap.freeze_startup_heap()  # full GC passes skip what start made (kit/heap.py)
    log.info("%s started", name)
    runner_thread = eventlet.spawn(runner.wait)
    # a container that died (nameko kills it on an error it deems fatal) consumes nothing
    # ever again: exit then, non-zero, for the supervisor to restart the process
    runner_thread.link(lambda _thread: stopping.ready() or stopping.send(False))
    if stopping.wait() is False:
        log.error("%s: the service container died; exiting", name)
        return 1
    stopped = False
    with eventlet.Timeout(20, False):
        runner.stop()  # finishes running workers; unacked messages return to the queue
        stopped = True
    if not stopped:
        log.warning("%s did not stop within 20 s; killing it", name)
        runner.kill()
    runner_thread.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
