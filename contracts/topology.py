"""The broker's shape, declared in one place.

Every service declares the whole topology at start, and so does the gateway, so a
message is never published before the queue that should hold it exists. Event queues
are quorum queues with a delivery limit; a message that keeps failing is dead-lettered
(at-least-once) to ``dead-letters`` instead of looping or vanishing.
Queue names follow nameko's convention ``evt-{source}-{type}--{service}.{method}``.
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Exchange, Queue

RPC_EXCHANGE = "nameko-rpc"
DLX_NAME = "dlx"
DEAD_LETTER_QUEUE = "dead-letters"
DELIVERY_LIMIT = 5


def event_exchange(source: str) -> Exchange:
    return Exchange(f"{source}.events", type="topic", durable=True)


def dead_letter_exchange() -> Exchange:
    return Exchange(DLX_NAME, type="fanout", durable=True)


def quorum_arguments(delivery_limit: int = DELIVERY_LIMIT) -> dict:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DLX_NAME,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


@dataclass(frozen=True)
class Subscription:
    source: str
    event_type: str
    service: str
    method: str

    @property
    def queue_name(self) -> str:
        topic = self.event_type.replace("#", "any").replace("*", "one")
        return f"evt-{self.source}-{topic}--{self.service}.{self.method}"

    def queue(self) -> Queue:
        return Queue(
            self.queue_name,
            exchange=event_exchange(self.source),
            routing_key=self.event_type,
            durable=True,
            queue_arguments=quorum_arguments(),
        )


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("gateway", "clue_submitted", "intake", "on_clue_submitted"),
    Subscription("intake", "clue_accepted", "ledger", "on_clue_accepted"),
    Subscription("intake", "clue_accepted", "audit", "on_clue_accepted"),
    Subscription("ledger", "problem_registered", "intake", "on_problem_registered"),
    Subscription("ledger", "problem_registered", "notify", "on_problem_registered"),
    Subscription("ledger", "problem_registered", "audit", "on_problem_registered"),
    Subscription("ledger", "problem.#", "intake", "on_problem_transitioned"),
    Subscription("ledger", "problem.#", "notify", "on_problem_transitioned"),
    Subscription("ledger", "problem.#", "audit", "on_problem_transitioned"),
    Subscription("ledger", "work_plan_filed", "notify", "on_work_plan_filed"),
    Subscription("intake", "contact_opened", "ledger", "on_contact_opened"),
    # 催办 and the reporting rhythm (contracts.events.ProblemClockAlert, ReportCycleEvent):
    # outside ``problem.#``, whose consumers take ProblemTransitioned only.
    Subscription("ledger", "clock.#", "notify", "on_clock_alert"),
    Subscription("ledger", "cycle.#", "notify", "on_report_cycle"),
    Subscription("gateway", "account_changed", "notify", "on_account_changed"),
    # spot checks (抽查, services/audit): zero reports and the re-checkers' directory feed the
    # rounds; a wrong closure found by a re-check reopens the problem in the ledger.
    Subscription("ledger", "cycle.#", "audit", "on_report_cycle"),
    Subscription("gateway", "account_changed", "audit", "on_account_changed"),
    Subscription("audit", "recheck.#", "ledger", "on_recheck_recorded"),
    # the accountability ladder (services/audit/ladder.py): its triggers, and its steps heard
    Subscription("audit", "recheck.#", "audit", "on_recheck_for_ladder"),
    Subscription("audit", "spot_check_concluded", "audit", "on_spot_check_for_ladder"),
    Subscription("ledger", "clock.#", "audit", "on_clock_for_ladder"),
    Subscription("audit", "ladder.#", "notify", "on_ladder"),
)


# Subscriptions no longer declared: their queues are deleted at a service's start when empty
# (``retire_all``). A retired queue still holding messages is unbound and kept, with a
# warning, for the operator to drain: its messages were meant for a handler that is gone.
RETIRED: tuple[Subscription, ...] = (
    # 2026-12: merged into audit's on_clue_accepted / on_problem_transitioned /
    # on_report_cycle (one delivery, one inbox mark per message; services/audit/subscriptions)
    Subscription("intake", "clue_accepted", "audit", "on_clue_for_ladder"),
    Subscription("ledger", "problem.#", "audit", "on_problem_for_ladder"),
    Subscription("ledger", "cycle.#", "audit", "on_cycle_for_ladder"),
)


def subscription(source: str, event_type: str, service: str, method: str) -> Subscription:
    wanted = Subscription(source, event_type, service, method)
    if wanted not in SUBSCRIPTIONS:
        raise LookupError(f"{wanted.queue_name} is not declared in contracts.topology")
    return wanted


def dead_letter_queue() -> Queue:
    return Queue(
        DEAD_LETTER_QUEUE,
        exchange=dead_letter_exchange(),
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def declare_all(channel) -> None:
    """Declare exchanges, queues and bindings; safe to repeat."""
    dead_letter_exchange().declare(channel=channel)
    dead_letter_queue()(channel).declare()
    Exchange(RPC_EXCHANGE, type="topic", durable=True).declare(channel=channel)
    for source in {s.source for s in SUBSCRIPTIONS}:
        event_exchange(source).declare(channel=channel)
    for sub in SUBSCRIPTIONS:
        sub.queue()(channel).declare()


def retire_all(connection) -> dict[str, int]:
    """Unbind the retired subscriptions' queues (nothing more arrives), then delete those
    that are empty and consumed by nobody. Returns the queues left behind with their message
    counts. (Quorum queues refuse ``if-empty`` deletes, hence the passive count first.)"""
    from amqp.exceptions import NotFound

    left: dict[str, int] = {}
    for sub in RETIRED:
        channel = connection.channel()
        try:
            channel.queue_declare(sub.queue_name, passive=True)
        except NotFound:  # the broker closed that channel
            continue
        channel.queue_unbind(sub.queue_name, event_exchange(sub.source).name, sub.event_type)
        found = channel.queue_declare(sub.queue_name, passive=True)
        if found.message_count == 0 and found.consumer_count == 0:
            channel.queue_delete(sub.queue_name)
        else:
            left[sub.queue_name] = found.message_count
        channel.close()
    return left
