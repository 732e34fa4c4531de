"""Logging for every process: one JSON object a line, carrying the correlation id of the
request or message being handled; nothing secret in it; expected refusals without a traceback.

- The code logs with the standard library (``logging.getLogger(__name__)``, fields as
  ``extra={...}``); every record, ours and the libraries', becomes ``{"time", "level",
  "process", "pid", "logger", "event", "correlation_id", …fields, "exception"?}`` on one
  line (``JsonLines``, which hands it to structlog's processors). Text a user sent (a
  title, a query string) cannot start a forged line: JSON escapes every line break.
- The correlation id lives in a context variable (``correlation_id()``, ``bind()``): the
  gateway binds a request's (``gateway.request_log``), a nameko worker the caller's
  (``kit.nameko_ext.Correlation``), an event handler each message's while it applies it
  (``StoreAccess.each``). Events built meanwhile carry it (``contracts.events.Event``) and
  RPC calls send it as the ``nameko.correlation_id`` header, so one id follows a clue or a
  staff action through every process, and ``grep <id> var/logs/*.log`` finds its path.
- ``redact`` masks, whatever logs them, values under a sensitive name (passwords, tokens,
  keys, secrets, receipt codes, phones, emails, contacts) and, in any text, what looks
  like one: receipt codes (回执码), phone numbers, email addresses, bearer tokens and JWTs,
  partner API keys, webhook secrets, passwords in URLs.
- nameko logs a refusal its ``@rpc`` declared in ``expected_exceptions`` as a WARNING with
  the traceback; here it becomes one INFO line naming the entrypoint and the refusal.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from contextvars import ContextVar, Token

import structlog

# --- the correlation id -------------------------------------------------------------------------

_CORRELATION: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id() -> str | None:
    """The id of the request or message this code is handling, if any."""
    return _CORRELATION.get()


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def bind(value: str | None) -> Token:
    """Make ``value`` the current correlation id (``unbind(token)`` restores the one before)."""
    return _CORRELATION.set(value)


def unbind(token: Token) -> None:
    _CORRELATION.reset(token)


# --- redaction ----------------------------------------------------------------------------------

REDACTED = "[redacted]"

SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api_?key|authorization|cookie|credential|signing_key|"
    r"private_key|receipt|phone|mobile|e_?mail|contact|reporter", re.IGNORECASE)
"""A field under such a name is masked whole, whatever its value."""

_EDGE_L, _EDGE_R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"  # ASCII: 电话13800138000 matches
SENSITIVE_TEXT = re.compile("|".join([
    r"(?<=://)[^/\s:@]*:[^\s@/]+(?=@)",                          # user:password@ in a URL
    _EDGE_L + r"(?i:bearer\s+)[A-Za-z0-9._~+/=-]+",              # Authorization: Bearer …
    _EDGE_L + r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",  # a JWT
    _EDGE_L + r"whsec_[A-Za-z0-9+/=]{8,}",                        # a webhook secret
    _EDGE_L + r"p311_[A-Za-z0-9_-]{16,}",                         # a partner's API key
    _EDGE_L + r"[A-Z2-7]{4}(?P<sep>[- ]?)[A-Z2-7]{4}(?P=sep)[A-Z2-7]{4}(?P=sep)[A-Z2-7]{4}"
    + _EDGE_R,                                                    # a receipt code 回执码
    _EDGE_L + r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}" + _EDGE_R,  # … as typed
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",  # an email address
    _EDGE_L + r"(?:\+?86[- ]?)?1[3-9][0-9]{9}" + _EDGE_R,        # a mobile number
    _EDGE_L + r"0[0-9]{2,3}-[0-9]{7,8}" + _EDGE_R,                # a landline, 0317-1234567
    r"\+[0-9][0-9 -]{6,18}[0-9]" + _EDGE_R,                       # +44 20 7946 0958
]))
"""What is masked wherever it stands in a text (a message, an exception, a field)."""

SAFE_KEYS = frozenset({"time", "level", "logger", "process", "pid", "correlation_id",
                       "event_id", "consumer", "route", "status", "ms", "messages",
                       "event_ids", "correlation_ids"})
"""Fields written by this module and the lines of ``gateway.request_log`` and
``kit.nameko_ext`` (names, ids, numbers): never sensitive, not scanned."""


class _Texts(dict):
    """Texts as redacted, remembered: the busiest lines repeat their text exactly
    ("applied clue_submitted", "POST /api/v1/clues 202"), and a look-up costs far less than
    a scan. Short texts only, and a bounded number."""

    LONGEST, MOST = 160, 4096

    def __missing__(self, text: str) -> str:
        redacted = SENSITIVE_TEXT.sub(REDACTED, text) if SENSITIVE_TEXT.search(text) else text
        if len(self) >= self.MOST:
            self.clear()
        self[text] = redacted
        return redacted


_texts = _Texts()


def redact_text(text: str) -> str:
    if len(text) <= _Texts.LONGEST:
        return _texts[text]
    return SENSITIVE_TEXT.sub(REDACTED, text) if SENSITIVE_TEXT.search(text) else text


class _Keys(dict):
    """Whether a field name is sensitive, remembered per name (a handful of names recur)."""

    def __missing__(self, key: str) -> bool:
        verdict = self[key] = bool(SENSITIVE_KEY.search(key))
        return verdict


_sensitive_key = _Keys()


def _redact_value(value, depth: int = 0):
    if isinstance(value, str):
        return redact_text(value)
    if depth > 4:  # deeper than any line of ours: scanned as text
        return redact_text(str(value))
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and _sensitive_key[k]
                else _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(v, depth + 1) for v in value]
    return value


def redact(_logger, _method: str, event_dict: dict) -> dict:
    """structlog processor: masks sensitive fields and sensitive-looking text (structlog
    ships none; what is sensitive here, a 回执码's shape, a partner key's, is ours)."""
    for key, value in event_dict.items():
        if key in SAFE_KEYS:
            continue
        if key != "event" and _sensitive_key[key]:
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
        elif isinstance(value, (dict, list, tuple, set, frozenset)):
            event_dict[key] = _redact_value(value)
    return event_dict


# --- rendering ----------------------------------------------------------------------------------

_LINE_BREAKS = re.compile("[\x7f-\x9f\u2028\u2029]")  # JSON leaves them raw; splitlines() cuts


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)  # built once: half the cost


def _dumps(event_dict: dict, **_) -> str:
    """One line of JSON, Chinese left readable: what JSON itself does not escape but a
    reader would take as a line break (NEL, U+2028…) is escaped too."""
    line = _ENCODER.encode(event_dict)
    if line.isascii() or not _LINE_BREAKS.search(line):
        return line
    return _LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime",
                                                                     "taskName"}


class JsonLines(logging.Formatter):
    """A record as one JSON line: ``time`` (UTC), ``level``, ``process``, ``pid``,
    ``logger``, ``event`` (the message), ``correlation_id`` when one is bound, the
    record's ``extra`` fields, then structlog's processors: the traceback as
    ``exception``, ``redact``, the JSON renderer.

    Not structlog's ``ProcessorFormatter``: it copies every record and builds it anew
    (two ``LogRecord``s a line) and stamps its own time; that was four times the cost of
    the plain text formatter this replaces, on lines written once per message and per
    request. This reads the record as it is, then hands the dict to structlog's chain."""

    def __init__(self, process: str):
        super().__init__()
        self.process, self.pid = process, os.getpid()
        self.chain = (structlog.processors.format_exc_info, redact,
                      structlog.processors.JSONRenderer(serializer=_dumps))
        self._second, self._stamp = -1, ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        event = {"time": self._time(record.created), "level": level,
                 "process": self.process, "pid": self.pid, "logger": record.name,
                 "event": record.getMessage()}
        cid = _CORRELATION.get()
        if cid is not None:
            event["correlation_id"] = cid
        for key, value in record.__dict__.items():
            if key not in RECORD_ATTRIBUTES:
                event[key] = value
        if record.exc_info:
            event["exc_info"] = record.exc_info
        elif record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        for processor in self.chain:
            event = processor(None, level, event)
        return event


def formatter(process: str) -> logging.Formatter:
    """Every record as one JSON line (see the module's docstring)."""
    return JsonLines(process)


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
    """Quiet expected refusals; safe to call more than once."""
    containers = logging.getLogger("nameko.containers")
    if not any(isinstance(f, ExpectedRefusals) for f in containers.filters):
        containers.addFilter(ExpectedRefusals())


def configure(process: str, level: int = logging.INFO, stream=None) -> None:
    """The process's logging: every record, and warnings and uncaught exceptions, as one
    JSON line on standard error (``make run`` and the tests keep a file per process)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(process))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # What no line shows is not gathered (the Logging HOWTO's "Optimization"): a fifth of
    # a line's cost, on lines written once per message and per request.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # the caller's file, function and line
    logging.captureWarnings(True)
    crashed = logging.getLogger("crash")
    sys.excepthook = lambda kind, exc, tb: crashed.critical(
        "uncaught exception", exc_info=(kind, exc, tb))
    threading.excepthook = lambda args: crashed.critical(
        "uncaught exception in thread %s", getattr(args.thread, "name", "?"),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
    install()


# --- reading ------------------------------------------------------------------------------------

LEVEL_MARK = {"debug": "DEBUG", "info": "", "warning": "WARN ", "error": "ERROR",
              "critical": "CRIT "}
NOT_AMONG_FIELDS = frozenset({"time", "level", "process", "pid", "logger", "event",
                              "correlation_id", "exception", "event_ids", "correlation_ids"})


def human(line: str) -> str:
    """A JSON log line as a person reads it in a terminal (``make run``): time, level,
    logger, message, the correlation id's first 8 characters, the other fields but a
    batch's lists of ids (the files keep them); a traceback on its own lines. Any other
    line as it is."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "event" not in record:
        return line
    time_of_day = str(record.get("time", ""))[11:23]
    cid = record.get("correlation_id")
    fields = " ".join(f"{k}={v}" for k, v in record.items() if k not in NOT_AMONG_FIELDS)
    text = " ".join(part for part in (
        time_of_day, LEVEL_MARK.get(record.get("level", ""), ""), f"{record.get('logger')}:",
        str(record["event"]), f"[{cid[:8]}]" if cid else "", fields) if part)
    if record.get("exception"):
        text += "\n" + str(record["exception"])
    return text
