"""Unit of work: one transaction holding the state change, its outbox events and the inbox mark."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from contracts.events import Event
from kit.store import Inbox, Outbox


class AlreadyProcessed(Exception):
    """The message was applied before; the caller acknowledges it and does nothing."""


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, outbox: Outbox, inbox: Inbox,
                 on_commit=None):
        self._factory = session_factory
        self._outbox = outbox
        self._inbox = inbox
        self._on_commit = on_commit
        self.session: Session | None = None
        self._events: list[Event] = []

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        self._events = []
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def consume_once(self, consumer: str, message_id: str) -> None:
        """Mark a message as applied, or raise AlreadyProcessed if it was."""
        if self._inbox.seen(self.session, consumer, message_id):
            raise AlreadyProcessed(message_id)
        self._inbox.record(self.session, consumer, message_id)

    def emit(self, event: Event) -> None:
        self._outbox.add(self.session, event)
        self._events.append(event)

    def commit(self) -> None:
        self.session.commit()
        if self._events and self._on_commit:
            self._on_commit()
        self._events = []

    def rollback(self) -> None:
        self.session.rollback()
        self._events = []
