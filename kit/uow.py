"""Unit of work: one transaction holding the state change, its outbox events and the inbox mark."""
from __future__ import annotations

import logging
import time

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from contracts.events import Event
from kit import metrics
from kit.store import Inbox, Outbox


log = logging.getLogger(__name__)


class AlreadyProcessed(Exception):
    """The message was applied before; the caller acknowledges it and does nothing."""


def consumer_name(service: str, method: str) -> str:
    """The inbox name of an event handler, ``<service>.<method>``: made here only. The
    nameko shell binds it to the handler's units of work (``UnitOfWork.consumer``), so a
    renamed method claims and checks under its new name alike; handlers never spell it."""
    return f"{service}.{method}"


class UnitOfWork:
    """Entered once, it is one transaction. Entered again inside itself (a batch of
    messages), the inner ``commit`` defers to the outermost one: the whole batch commits,
    or none of it does.

    Inbox and outbox rows (and whatever else the code defers, see ``kit.deferred``) are
    written at the commit, a batch's rows in one statement per table.
    """

    def __init__(self, session_factory: sessionmaker, outbox: Outbox, inbox: Inbox,
                 on_commit=None, consumer: str | None = None):
        self.consumer = consumer  # the inbox name of the handler this unit of work serves
        self._factory = session_factory
        self._outbox = outbox
        self._inbox = inbox
        self._on_commit = on_commit
        self.session: Session | None = None
        self._events: list[Event] = []
        self._depth = 0
        self._consumed: set[tuple[str, str]] = set()
        self._known: dict[str, tuple[set[str], set[str]]] = {}

    def __enter__(self) -> "UnitOfWork":
        self._depth += 1
        if self._depth == 1:
            self.session = self._factory()
            self._events = []
            self._consumed, self._known = set(), {}
        return self

    def __exit__(self, exc_type, exc, tb):
        self._depth -= 1
        if self._depth:
            return
        try:
            if exc_type is not None:
                self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def _inbox_name(self) -> str:
        if self.consumer is None:
            raise RuntimeError("this unit of work serves no event handler: bind it to the "
                               "handler's consumer_name() first")
        return self.consumer

    def claim(self, message_ids: list[str]) -> None:
        """Claim a batch's message ids in the inbox with one statement: the ids it records
        are new, the others were applied before. ``consume_once`` then asks the database
        nothing more for them. A concurrent transaction claiming the same id waits for
        this one, then finds it taken."""
        consumer = self._inbox_name()
        self._known[consumer] = (set(message_ids),
                                 self._inbox.claim(self.session, consumer, message_ids))

    def consume_once(self, message_id: str) -> None:
        """Mark a message as applied for this unit of work's consumer, or raise
        AlreadyProcessed if it was (before, or earlier in this transaction)."""
        consumer = self._inbox_name()
        key = (consumer, message_id)
        if key in self._consumed:
            self._duplicate(consumer, message_id)
        known = self._known.get(consumer)
        if known is not None and message_id in known[0]:
            if message_id not in known[1]:
                self._duplicate(consumer, message_id)
        elif self._inbox.seen(self.session, consumer, message_id):
            self._duplicate(consumer, message_id)
        else:
            self._inbox.record(self.session, consumer, message_id)
        self._consumed.add(key)

    @staticmethod
    def _duplicate(consumer: str, message_id: str):
        """Counted when skipped (a batch that fails and is retried item by item may count
        one twice: the figure is a rate to watch, not a ledger)."""
        metrics.duplicate_skipped(consumer)
        raise AlreadyProcessed(message_id)

    def emit(self, event: Event) -> None:
        self._outbox.add(self.session, event)
        self._events.append(event)

    def commit(self) -> None:
        if self._depth > 1:
            return
        self.session.commit()  # flushes the deferred writes first (kit.deferred)
        self._consumed, self._known = set(), {}
        if self._events and self._on_commit:
            self._on_commit()
        self._events = []

    def rollback(self) -> None:
        self.session.rollback()
        self._events = []
        self._consumed, self._known = set(), {}


# A store that does not answer (connection refused or cut, a server restarting, SQLite
# locked) is waited for with the batch's messages held, not requeued at once: every requeue
# counts towards the quorum queue's delivery limit, and five quick ones within a 5-second
# database outage dead-lettered accepted clues (the fault suite's "ledger DB cut 5 s" on a
# quiet machine: 60 of 151). About 75 s in all, then the messages are requeued.
STORE_WAITS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 15, 15, 15, 15)


class StoreUnavailable(Exception):
    """The store did not answer while a batch was applied (the batch is tried again)."""


def store_unavailable(error: BaseException) -> bool:
    """True for an error that says the database is out of reach, not that the work is wrong."""
    if isinstance(error, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    return isinstance(error, sa_exc.DBAPIError) and (
        error.connection_invalidated
        or isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)))


def apply_each(new_uow, items: list, apply, consumer: str | None = None,
               claim: list[str] | None = None) -> list[bool]:
    """Apply every item in one transaction (one commit, one fsync, for the lot).

    ``apply(uow, item)`` does its own ``with uow: ... uow.commit()``, which nests. If the
    batch fails, each item is retried alone so one bad message cannot sink the others;
    returns, per item, whether it is done (False: the caller requeues it). Each unit of
    work serves ``consumer`` (its inbox name); ``claim``, the batch's message ids, claims
    them in the inbox with one statement. While the store does not answer, the batch waits
    (``STORE_WAITS``) and is tried again, whole: what a first attempt committed is skipped
    by the inbox.
    """
    for wait in (*STORE_WAITS, None):
        try:
            return _apply_each(new_uow, items, apply, consumer, claim)
        except StoreUnavailable as unavailable:
            if wait is None:
                log.error("the store did not answer for %.0f s; %d messages will be requeued",
                          sum(STORE_WAITS), len(items))
                return [False] * len(items)
            log.warning("the store does not answer (%s); %d messages held, tried again in "
                        "%s s", type(unavailable.__cause__).__name__, len(items), wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _apply_each(new_uow, items: list, apply, consumer: str | None,
                claim: list[str] | None) -> list[bool]:
    try:
        with bound(new_uow, consumer) as uow:
            if claim is not None:
                uow.claim(claim)
            for item in items:
                apply(uow, item)
            uow.commit()
        return [True] * len(items)
    except Exception as error:  # noqa: BLE001 - fall back to one transaction per item
        if store_unavailable(error):
            raise StoreUnavailable() from error
        if len(items) == 1:
            log.exception("applying a message failed; it will be requeued")
            return [False]
    done = []
    for item in items:
        try:
            with bound(new_uow, consumer) as uow:
                apply(uow, item)
                uow.commit()
            done.append(True)
        except Exception as error:  # noqa: BLE001 - requeued; dead-lettered after the limit
            if store_unavailable(error):
                raise StoreUnavailable() from error
            log.exception("applying a message failed; it will be requeued")
            done.append(False)
    return done


def bound(new_uow, consumer: str | None) -> UnitOfWork:
    """A new unit of work serving ``consumer`` (if given)."""
    uow = new_uow()
    if consumer is not None:
        uow.consumer = consumer
    return uow
