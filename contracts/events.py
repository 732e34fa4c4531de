"""Events: facts that happened, named in the past tense.

Wire format is nameko's: JSON body published to the topic exchange ``{source}.events``
with the event type as routing key. ``event_id`` is the idempotency key every consumer
records in its inbox. ``correlation_id`` (every event, optional, added without a version
change: older consumers ignore it) is the id of the request or message whose handling
published the event, taken from the logs' context (``kit.logs``) when not given: a
consumer binds it while applying the event, so one id follows a clue or a staff action
through every service's logs.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.logs import correlation_id


PARTNER_ROLE = "partner"  # the role of partner platforms' accounts (协作平台)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    source: ClassVar[str]
    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = Field(default_factory=utcnow)
    correlation_id: str | None = Field(default_factory=correlation_id)

    @property
    def routing_key(self) -> str:
        return self.event_type

    def to_message(self) -> dict:
        body = self.model_dump(mode="json")
        body["_v"] = self.version
        return body


class ReporterContact(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class ClueFields(BaseModel):
    """What a clue says, as every channel delivers it (问题线索)."""

    model_config = ConfigDict(frozen=True)

    channel: str
    title: str
    description: str
    subject_unit: str | None = None
    category: str | None = None
    kind: str | None = None
    place: str | None = None
    occurred_on: date | None = None
    # SHA-256 of the files the clue came with (an exposure case's photos and videos, the
    # sealed originals in the gateway's blob store): provenance the ledger records.
    files: tuple[str, ...] = ()


class ClueSubmitted(Event):
    """The gateway took a clue from a person or a partner; intake has not stored it yet.

    ``event_id`` equals ``clue_id`` so that a client's retry is the same message.

    Version 2 (举报人保护): the message carries no secret a broker's disk could keep. The
    receipt code never goes on the wire, only ``receipt_digest`` (``receipt_digest()``
    below); the reporter's contact goes sealed (``reporter_sealed``, Fernet under
    ``CONTACT_KEY``, the key intake stores it under). ``receipt_code`` and ``reporter``
    are version 1's fields, kept so that intake still takes a version-1 message left in
    a queue across an upgrade; a version-2 producer never sets them.
    """

    source: ClassVar[str] = "gateway"
    event_type: ClassVar[str] = "clue_submitted"
    version: ClassVar[int] = 2

    clue_id: str
    receipt_digest: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    reporter_sealed: str | None = None
    clue: ClueFields
    anonymous: bool = True
    submitted_by: str | None = None
    # Who entered it: role ("public" without an account) and organization, so that only a
    # unit reporting itself counts as self-found (自查自纠).
    submitter_role: str | None = None
    submitter_org: str | None = None

    receipt_code: str | None = Field(None, deprecated="version 1 only: send receipt_digest")
    reporter: ReporterContact | None = Field(
        None, deprecated="version 1 only: send reporter_sealed")

    @model_validator(mode="after")
    def _names_its_receipt(self):
        if self.receipt_digest is None and self.receipt_code is None:
            raise ValueError("a clue_submitted message needs its receipt_digest")
        return self

    def to_message(self) -> dict:
        body = super().to_message()
        for legacy in ("receipt_code", "reporter"):
            if body[legacy] is None:
                del body[legacy]
        return body

    def digest_of_receipt(self) -> str:
        """The receipt's digest, from either version."""
        return self.receipt_digest or receipt_digest(self.receipt_code)

    def requested_by(self) -> str | None:
        """The partner platform whose own request this clue is (its username), if a partner
        account submitted it (Open311 or the API): ``ClueAccepted.requested_by``."""
        return self.submitted_by if self.submitter_role == PARTNER_ROLE else None


class ClueAccepted(Event):
    """Intake stored a clue (线索已受理). Carries no reporter contact."""

    source: ClassVar[str] = "intake"
    event_type: ClassVar[str] = "clue_accepted"

    clue_id: str
    clue: ClueFields
    submitted_at: datetime
    submitter_role: str | None = None  # as in ClueSubmitted (自查自纠 needs them)
    submitter_org: str | None = None
    # The partner platform (协作平台, its account's username) whose own request the clue is
    # (``ClueSubmitted.requested_by()``): the ledger keeps it on the problem, and notify
    # pushes the problem's steps to that partner only. None for any other submitter.
    requested_by: str | None = None


class ProblemRegistered(Event):
    """The ledger registered a problem for a clue (登记入台账)."""

    source: ClassVar[str] = "ledger"
    event_type: ClassVar[str] = "problem_registered"

    problem_id: str
    clue_id: str
    unit: str | None = None
    category: str | None = None
    kind: str | None = None
    title: str
    registered_at: datetime


class ProblemTransitioned(Event):
    """A problem moved in its lifecycle: published as ``problem.<name>`` (e.g.
    ``problem.dispatched``, ``problem.closure_unfounded``, ``problem.struck_off``)."""

    source: ClassVar[str] = "ledger"
    event_type: ClassVar[str] = "problem_transitioned"

    name: str
    problem_id: str
    action: str
    from_state: str
    to_state: str
    outcome: str | None = None
    unit: str | None = None
    supervisor: str | None = None
    category: str | None = None
    actor: str
    actor_role: str
    history_seq: int
    data: dict = Field(default_factory=dict)
    # The clue's channel (来源渠道) and the clue registered as the problem: a partner's own
    # requests are pushed to it (notify). A transfer to a partner platform carries, in
    # ``data["shared"]``, what the partner needs to act on (``SHARED_FIELDS``); never the
    # reporter's contact or receipt.
    channel: str | None = None
    clue_id: str | None = None
    # The partner platform whose own request the problem is (``ClueAccepted.requested_by``):
    # notify pushes each step to it, and to no other partner.
    requested_by: str | None = None

    @property
    def routing_key(self) -> str:
        return f"problem.{self.name}"


SHARED_FIELDS = ("problem_id", "clue_id", "title", "description", "category", "kind", "unit",
                 "reason", "to")
"""What a transfer to a partner platform shares with it (``ProblemTransitioned.data["shared"]``)."""


class WorkPlanFiled(Event):
    """A unit filed its campaign work plan (清理工作方案备案) with its supervising body."""

    source: ClassVar[str] = "ledger"
    event_type: ClassVar[str] = "work_plan_filed"

    plan_id: str
    unit: str
    supervisor: str | None = None
    acknowledged: bool = False


class ContactOpened(Event):
    """A custodian opened a real-name reporter's contact details (联系方式启封), with a reason.

    Carries who, when, which clue and why; never the contact itself. The ledger appends it to
    the hash-chained history, so every opening is on the record.
    """

    source: ClassVar[str] = "intake"
    event_type: ClassVar[str] = "contact_opened"

    clue_id: str
    problem_id: str | None = None
    opened_by: str
    opened_by_role: str
    reason: str
    opened_at: datetime


class ProblemClockAlert(Event):
    """A problem's clock crossed a threshold (催办): published as ``clock.<name>``, once per
    problem per crossing, by the ledger's daily sweep on working days (never on a holiday).

    ``name`` (``contracts.vocabulary.ClockAlert``): ``due_soon`` (黄灯: due within the campaign's
    ``due_soon_days`` working days; ``days`` = working days left), ``overdue`` (红灯: the clock
    ran out; ``days`` = working days past ``due_on``), ``stalled`` (红灯: no progress from the
    unit since ``last_progress_on``; ``days`` = working days since). ``waiting_on`` is the role
    that must act next (the unit's handler, the supervising body or the county office). A new
    deadline (a check, a resume) is a new crossing: ``event_id`` is
    ``clock-<name>-<problem_id>-<basis date>``."""

    source: ClassVar[str] = "ledger"
    event_type: ClassVar[str] = "problem_clock_alert"

    name: str
    problem_id: str
    title: str
    state: str
    unit: str | None = None
    supervisor: str | None = None
    waiting_on: str | None = None
    due_on: date | None = None
    last_progress_on: date | None = None
    days: int = 0
    swept_on: date

    @property
    def routing_key(self) -> str:
        return f"clock.{self.name}"


class ReportCycleEvent(Event):
    """The reporting rhythm (四(四)一) and the campaign's calendar: published as ``cycle.<name>``.

    ``name`` (``contracts.vocabulary.CycleEvent``):
    * ``report_filed`` / ``report_amended``: a unit filed (or amended, with ``reason``) its
      report for ``period`` (``kind``: weekly, zero or summary); reaches its ``supervisor``;
    * ``report_due`` (催报), ``report_missing`` (未按时报送), ``escalation_proposed``
      (提请问责, to the unit's principal head and its supervisor): per ``unit`` that has not
      filed ``what`` (weekly, summary or work_plan) for ``period`` due ``due_on``; on
      working days only;
    * ``zero_contradicted``: a zero report contradicted by the ledger (``details``: clues in
      the week, open problems) — for the spot-check team;
    * ``phase_started``: the campaign's phase ``period`` begins (``unit`` empty: everyone);
    * ``summary_forwarded``: a supervising body forwarded its system's summary of ``period``
      to the county office."""

    source: ClassVar[str] = "ledger"
    event_type: ClassVar[str] = "report_cycle"

    name: str
    what: str
    period: str
    unit: str | None = None
    unit_zh: str | None = None
    supervisor: str | None = None
    due_on: date | None = None
    kind: str | None = None
    report_id: str | None = None
    reason: str | None = None
    details: dict = Field(default_factory=dict)

    @property
    def routing_key(self) -> str:
        return f"cycle.{self.name}"
class AccountChanged(Event):
    """The account directory (账号目录): a staff account was created, changed or deactivated.

    Published by the gateway, which owns accounts, whenever one changes (and for every
    account at the gateway's start, so a new consumer catches up). Consumers keep their own
    projection, keyed by ``account_id``: a message older (``occurred_at``) than what they
    hold changes nothing, so redelivery and reordering are harmless. ``principal_head`` is
    the account id of the account's organization's principal head (主要负责同志), when the
    gateway knows one.
    """

    source: ClassVar[str] = "gateway"
    event_type: ClassVar[str] = "account_changed"
    version: ClassVar[int] = 2  # the partner's webhook secret sealed (``PartnerLink``)

    account_id: str
    username: str
    display_name: str
    role: str
    org_code: str | None = None
    email: str | None = None
    active: bool = True
    principal_head: str | None = None
    partner: "PartnerLink | None" = None  # partner accounts only; None: unchanged

    def to_message(self) -> dict:
        body = super().to_message()
        if body.get("partner") and body["partner"].get("webhook_secret") is None:
            del body["partner"]["webhook_secret"]  # version 1's field, never sent
        return body


class PartnerLink(BaseModel):
    """A partner platform's (协作平台) settings, as notify needs them to deliver to it: the
    channels it was given and its webhook, URL and signing secret (Standard Webhooks
    ``whsec_…`` form). Sent by the gateway, which owns them, with the partner's
    ``AccountChanged`` whenever they change and at the gateway's start; a consumer keeps the
    newest (``occurred_at``).

    Version 2 (``AccountChanged.version``): the secret travels sealed
    (``webhook_secret_sealed``: Fernet under ``PARTNER_WEBHOOK_KEY``, which only the gateway
    and notify hold), never in clear on the broker. ``webhook_secret`` is version 1's, read
    from a message left in a queue across an upgrade; a version-2 producer never sets it."""

    model_config = ConfigDict(frozen=True)

    channels: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_secret_sealed: str | None = None
    webhook_secret: str | None = Field(None, deprecated="version 1 only: send "
                                                         "webhook_secret_sealed")


AccountChanged.model_rebuild()


class RecheckRecorded(Event):
    """A re-checker recorded the outcome of one sampled item (复查结果), published by audit as
    ``recheck.<verdict>`` (``contracts.vocabulary.RecheckVerdict``). Where the verdict is
    wrong or not produced and the item is a problem (``problem_id``), ``reopen_source`` is
    ``spot_check`` (查否复查) or ``look_back`` (回头看): the ledger consumes the event and
    reopens the problem with that source, as the re-checker (``recheck_by``, role
    ``spot_check``), the findings as its reason."""

    source: ClassVar[str] = "audit"
    event_type: ClassVar[str] = "recheck_recorded"

    round_id: str
    item_id: str
    stratum: str
    unit: str
    verdict: str
    findings: str
    recheck_by: str
    recheck_role: str = "spot_check"
    problem_id: str | None = None
    reopen_source: str | None = None

    @property
    def routing_key(self) -> str:
        return f"recheck.{self.verdict}"


class AccountabilityEvent(Event):
    """A step of the accountability ladder (严格责任追究), published by audit as
    ``ladder.<name>``: ``proposed`` (a rule proposes ``step`` for ``unit``: the county office
    decides), ``confirmed`` (a person of the county office confirmed it: the unit's handlers
    and its principal head hear of it, with its deadline ``due_on``), ``dismissed``,
    ``deadline_passed`` (the step's deadline passed; for an interview, the next step is
    proposed). Never names the persons concerned."""

    source: ClassVar[str] = "audit"
    event_type: ClassVar[str] = "accountability"

    name: str
    case_id: str
    step: str
    unit: str
    trigger: str
    reason: str = ""
    supervisor: str | None = None
    due_on: date | None = None
    problem_ids: tuple[str, ...] = ()
    decided_by: str | None = None

    @property
    def routing_key(self) -> str:
        return f"ladder.{self.name}"


class SpotCheckConcluded(Event):
    """A spot-check round closed (抽查结果): one event per unit and stratum with the figures
    AUDIT-SAMPLING.md publishes: population N, sample size n, items checked, errors k (an item
    not produced counts), the exact upper bound on the wrong-closure rate (a decimal string),
    the decision (``contracts.vocabulary.UnitDecision``). ``full_review``: the round was a full
    review of the unit (全面复查), so errors in it fail the review."""

    source: ClassVar[str] = "audit"
    event_type: ClassVar[str] = "spot_check_concluded"

    round_id: str
    period: str
    unit: str
    stratum: str
    population: int
    sampled: int
    checked: int
    errors: int
    upper_bound: str
    decision: str
    full_review: bool = False
    closed_by: str | None = None


ALL_EVENTS: tuple[type[Event], ...] = (ClueSubmitted, ClueAccepted, ProblemRegistered,
                                       ProblemTransitioned, WorkPlanFiled, ContactOpened,
                                       ProblemClockAlert, ReportCycleEvent, AccountChanged,
                                       RecheckRecorded, AccountabilityEvent, SpotCheckConcluded)



def problem_id_for(clue_id: str) -> str:
    """The ledger's problem for a clue has this id (deterministic, so intake can follow a
    problem's steps even when they arrive before the registration event)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"clue:{clue_id}").hex


def normalize_receipt(code: str) -> str:
    """A receipt code as typed: case, spaces and dashes do not matter (回执码)."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def receipt_digest(code: str) -> str:
    """What is stored and sent of a receipt code: its SHA-256. The code itself is random
    (80 bits), known only to the reporter, and never stored or put on the wire."""
    return hashlib.sha256(normalize_receipt(code).encode()).hexdigest()
