from __future__ import annotations

from kit.uow import AlreadyProcessed, UnitOfWork
from services.audit import domain
from services.audit.adapters import orm


def record(uow: UnitOfWork, observation: domain.Observation) -> bool:
    """Keep the observation once; False when the message was applied before."""
    with uow:
        try:
            uow.consume_once(observation.event_id)
        except AlreadyProcessed:
            return False
        keep(uow, observation)
        uow.commit()
    return True


def keep(uow: UnitOfWork, observation: domain.Observation) -> None:
    """Keep the observation (the caller applies each message once)."""
    orm.add(uow.session, observation)
