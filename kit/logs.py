"""Logging for every process: one record, one line; expected refusals without a traceback.

- A record's message is written with its control characters escaped (``\\n`` as the two
  characters ``\\`` ``n``): text a user sent (a query string, a title) cannot start a forged
  log line, whatever code logs it. Tracebacks keep their own line breaks.
- nameko logs a refusal its ``@rpc`` declared in ``expected_exceptions`` as a WARNING with
  the traceback; here it becomes one INFO line naming the entrypoint and the refusal.
"""
from __future__ import annotations

import logging
import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """``text`` with every control character (and Unicode's line separators) escaped."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLineRecord(logging.LogRecord):
    def getMessage(self) -> str:  # noqa: N802 - logging's name
        return escape_controls(super().getMessage())


class ExpectedRefusals(logging.Filter):
    """On nameko's container logger: ``(expected) error handling worker …`` becomes one
    INFO line without the traceback."""

    PREFIX = "(expected) error handling worker"

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(self.PREFIX):
            record.msg = "refused %s: %s"
            record.exc_info = record.exc_text = record.stack_info = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def install() -> None:
    """Escape control characters in every record's message and quiet expected refusals;
    safe to call more than once."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(OneLineRecord)
    containers = logging.getLogger("nameko.containers")
    if not any(isinstance(f, ExpectedRefusals) for f in containers.filters):
        containers.addFilter(ExpectedRefusals())


def configure(process: str, level: int = logging.INFO) -> None:
    """The processes' logging: ``<time> <process> <LEVEL> <logger>: <message>``."""
    logging.basicConfig(level=level,
                        format=f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s")
    install()
