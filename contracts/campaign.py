"""The campaign as data: kinds, problem categories, phases, clue channels and the organization tree.

One campaign (专项清理工作) is one YAML file (``config/campaign.yaml`` ships the seed plan's). It
names the three kinds (不作为 inaction, 乱作为 misconduct, 慢作为 slowness), the problem categories
(主要清理的问题), the phases (阶段), every clue channel (线索渠道), the organizations with their
supervising bodies (分管部门) and the reporting lines (分管渠道) that tie unit types to them,
the working days of each open state's clock (``clocks``, 时限) and the official calendar's
holidays and make-up working days (``calendar``, 法定节假日与调休) for years the calendar library
does not know yet. Sections added later have defaults, so older files still load.

``load_campaign`` validates the file's shape with pydantic and then its cross references; any fault
becomes a ``CampaignConfigError`` that names the file, the field and the problem.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError,
)

from contracts.vocabulary import Role
from kit.settings import DEFAULT_CAMPAIGN_FILE, ROOT

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Severity = Literal["normal", "high"]
ChannelGroup = Literal[
    "self_inspection", "solicitation", "public_report", "partner_platform", "inspection", "media"]
UnitType = Literal["township", "party_department", "government_department", "school", "enterprise"]
OrgType = Literal["county_office", "supervisor", "publicity", UnitType]


def _staff_role(value: object) -> object:
    if value == Role.PUBLIC:
        raise ValueError("the public uses public channels; name staff roles only")
    return value


# The roles that may be named as a channel's users: any role of the vocabulary but the public.
StaffRole = Annotated[Role, AfterValidator(_staff_role)]
# Roles whose accounts belong to one organization: only they can report about their own unit.
ORG_BOUND_ROLES: tuple[str, ...] = ("unit_handler", "supervisor")


def _as_date(value: object) -> object:
    """Accept a YAML date or an ISO string; refuse date-times, numbers and other text."""
    if isinstance(value, datetime) or not isinstance(value, (date, str)):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}") from None
    return value


Day = Annotated[date, BeforeValidator(_as_date)]


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name_zh: Text
    name_en: Text


class CampaignInfo(_Item):
    county_zh: Text
    county_en: Text
    start: Day
    end: Day
    summary_report_due: Day  # 总结报告 deadline


class Kind(_Item):
    """不作为 / 乱作为 / 慢作为."""


class Category(_Item):
    """A problem category (主要清理的问题), with the plan's full wording."""

    description_zh: Text
    severity: Severity = "normal"


class Phase(_Item):
    """A campaign phase (阶段), both dates inclusive."""

    start: Day
    end: Day


class Channel(_Item):
    """A way a clue (问题线索) arrives. ``public`` ones may be chosen by anyone on the public web
    form; a staff-only one names the roles that may enter clues on it (``entered_by``), and
    ``own_unit_only`` keeps it to clues about the caller's own unit (自查: a unit about itself)."""

    group: ChannelGroup
    public: bool = False
    entered_by: tuple[StaffRole, ...] = ()
    own_unit_only: bool = False

    def open_to(self, role: str) -> bool:
        """Whether a caller of ``role`` ("public" for anyone) may enter clues on this channel."""
        return self.public or role in self.entered_by


class Organization(_Item):
    """A unit (乡镇/部门/学校/企业) or a supervising body (分管部门) in the reporting tree."""

    type: OrgType
    reports_to: Code | None = None
    demo: bool = False


class SeverityAdviceRules(BaseModel):
    """宽严相济 (四(三)): how the ledger's severity advice is derived. Advice only; a person decides.

    Steps run lighter ← standard → stricter. ``self_found_channel_groups``: clues from these channel
    groups count as 自查自纠 (self-found); self-found and actively rectified → one step lighter
    (减轻或从轻处理). ``serious_is``: a serious typical case (比较严重的典型问题, 严肃查处) is
    ``stricter`` (at least stricter, whatever else applies) or ``one_step_stricter`` (one step, so
    self-correction can still offset it). ``phase_shift``: steps stricter in each phase (越往后执纪越严);
    a phase not listed shifts 0; the effective shift may not fall from one phase to a later one.
    ``high_severity_category_shift``: extra steps stricter for a category of severity ``high``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    self_found_channel_groups: tuple[ChannelGroup, ...] = ("self_inspection",)
    phase_shift: dict[Code, Annotated[int, Field(ge=0, le=2)]] = {}
    serious_is: Literal["stricter", "one_step_stricter"] = "stricter"
    high_severity_category_shift: Literal[0, 1] = 0


class DuplicateRules(BaseModel):
    """Cross-channel duplicate suggestions (重复线索): a registered problem is compared with others
    at the same unit (and category) registered within ``window_days``; text similarity (0..1) at
    or above ``threshold`` is suggested to a person, who may merge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_days: Annotated[int, Field(ge=0, le=366)] = 30
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5


WorkingDays = Annotated[int, Field(strict=True, ge=1, le=120)]


class WorkingDaysPerState(BaseModel):
    """Working days (工作日) each open state's clock gives before its light turns red.

    ``registered``: the county office (or the supervising body) dispatches it (交办);
    ``dispatched``: the unit answers, 查实 with a plan or 查否 with findings; ``verified``,
    ``unfounded``, ``rectified``: the supervising body decides (approves or rejects the plan,
    accepts or rejects 查否, strikes off 销号 or sends the rectification back). ``rectifying``
    has no entry: its clock is the plan's own deadline (整改时限) and milestones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    registered: WorkingDays = 5
    dispatched: WorkingDays = 5
    verified: WorkingDays = 5
    unfounded: WorkingDays = 5
    rectified: WorkingDays = 5


class ClockRules(BaseModel):
    """Every open state's clock (时限) and the lights (绿/黄/红灯): yellow when due within
    ``due_soon_days`` working days, red when overdue or when the unit shows no progress for
    ``stall_days`` working days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    working_days: WorkingDaysPerState = WorkingDaysPerState()
    due_soon_days: Annotated[int, Field(strict=True, ge=0, le=30)] = 2
    stall_days: WorkingDays = 10


class ReportingRules(BaseModel):
    """Weekly reports (周报告) and the campaign's deadlines (``services.ledger.domain.reports``):
    a week's report is due ``due_workdays`` working days after its Sunday and reminded that
    day; the summary report and the work plan are reminded ``remind_workdays`` working days
    before they are due; a unit still missing ``escalate_workdays`` working days after the
    due day becomes an escalation proposal (提请问责). The day after the due day it is listed
    as missing, so escalation comes at least a working day later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    due_workdays: Annotated[int, Field(strict=True, ge=1, le=10)] = 1
    remind_workdays: Annotated[int, Field(strict=True, ge=0, le=20)] = 3
    escalate_workdays: Annotated[int, Field(strict=True, ge=2, le=30)] = 2


Rate = Annotated[float, Field(gt=0, lt=1)]


class StratumRule(BaseModel):
    """One stratum's sampling parameters (AUDIT-SAMPLING.md): the tolerable wrong-closure rate
    p_T and the risk limit α, the largest chance of clearing a unit whose true rate is at or
    above p_T."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tolerable_rate: Rate = 0.10
    risk_limit: Rate = 0.05


def _default_strata() -> dict[str, StratumRule]:
    return {"ordinary": StratumRule(), "high_severity": StratumRule(tolerable_rate=0.05),
            "zero_report": StratumRule(risk_limit=0.01),
            "zero_contradicted": StratumRule(risk_limit=0.01), "look_back": StratumRule()}


class SpotCheckRules(BaseModel):
    """查否复查, 抽查零报告, 回头看 (services.audit). ``strata``: the parameters per stratum
    (``contracts.vocabulary.Stratum``); ``method``: ``hypergeometric`` (clear on zero errors in
    n₀, any error → full review) or ``alpha`` (Stark's ALPHA, sequential: a unit with a few
    errors may still be cleared after a larger sample; ``alpha_eta``: where its alternative
    lies, as the share of the way from the null's share of correct closures 1 − p_T to 1:
    0.75 with p_T 10% bets on 97.5% correct, services/audit/sampling.py);
    ``seed_min_digits``: the public seed's least length (骰子);
    ``recheckers_exclude_supervisor``: a re-checker may not belong to the closing unit (always)
    nor to its supervising body (when true)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strata: dict[Literal["ordinary", "high_severity", "zero_report", "zero_contradicted",
                         "look_back"], StratumRule] = Field(default_factory=_default_strata)
    method: Literal["hypergeometric", "alpha"] = "hypergeometric"
    alpha_eta: Annotated[float, Field(gt=0.5, lt=1)] = 0.75
    seed_min_digits: Annotated[int, Field(strict=True, ge=20, le=200)] = 20
    recheckers_exclude_supervisor: bool = True


LadderStepName = Literal["notice", "interview", "accountability"]


class AccountabilityRules(BaseModel):
    """严格责任追究 (四(三)): 通报, 限期整改 → 约谈主要负责人 → 责任追究和问责. Rules *propose*
    steps; a person of the county office confirms or dismisses each (never automatic).

    ``deadline_workdays``: the working days each confirmed step gives the unit (its 限期);
    an interview whose deadline passes without improvement proposes the next step.
    ``overdue_workdays``: a problem overdue this many working days proposes a step;
    ``missing_reports``: this many missing weekly reports in a month propose a step;
    ``self_found_lighter``: where the unit found and fixed the problem itself (自查自纠),
    the rule proposes one step lighter, never below a notice (宽严相济);
    ``phase_floor``: the least step proposed in each phase (越往后执纪越严; a phase not listed:
    notice); ``skip_reasons``: the reasons (code → words) a person may record to take a step
    without the earlier ones (e.g. 弄虚作假)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deadline_workdays: dict[LadderStepName, Annotated[int, Field(strict=True, ge=1, le=120)]] = {
        "notice": 10, "interview": 20, "accountability": 20}
    overdue_workdays: Annotated[int, Field(strict=True, ge=1, le=120)] = 10
    missing_reports: Annotated[int, Field(strict=True, ge=1, le=10)] = 2
    self_found_lighter: bool = True
    phase_floor: dict[Code, LadderStepName] = {}
    skip_reasons: dict[Code, Text] = {
        "falsified": "弄虚作假、欺上瞒下 (falsification)",
        "serious_consequence": "造成严重后果或恶劣影响 (serious consequences)"}


class CalendarYear(BaseModel):
    """One year of the official calendar as the State Council published it: the holidays
    (法定节假日 and the days off around them) and the make-up working days (调休上班, weekend days
    worked). Listing a year makes it known: its other days are Monday to Friday."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    holidays: tuple[Day, ...] = ()
    workdays: tuple[Day, ...] = ()


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    campaign: CampaignInfo
    kinds: tuple[Kind, ...]
    categories: tuple[Category, ...]
    phases: tuple[Phase, ...]
    channels: tuple[Channel, ...]
    organizations: tuple[Organization, ...]
    reporting_lines: dict[UnitType, Code]
    severity_advice: SeverityAdviceRules = SeverityAdviceRules()
    duplicates: DuplicateRules = DuplicateRules()
    clocks: ClockRules = ClockRules()
    reporting: ReportingRules = ReportingRules()
    spot_checks: SpotCheckRules = SpotCheckRules()
    accountability: AccountabilityRules = AccountabilityRules()
    calendar: dict[Annotated[int, Field(ge=1900, le=2200)], CalendarYear] = {}

    def severity_rules(self) -> SeverityAdviceRules:
        return self.severity_advice

    @cached_property
    def _by_code(self) -> dict[str, dict]:
        """Look-up tables, built once: the ledger asks for organizations on every message."""
        return {name: {item.code: item for item in getattr(self, name)}
                for name in ("kinds", "categories", "channels", "organizations")}

    @cached_property
    def _reports(self) -> dict[str, list]:
        found: dict[str, list] = {}
        for org in self.organizations:
            found.setdefault(org.reports_to, []).append(org)
        return found

    def kind(self, code: str) -> Kind | None:
        return self._by_code["kinds"].get(code)

    def category(self, code: str) -> Category | None:
        return self._by_code["categories"].get(code)

    def channel(self, code: str) -> Channel | None:
        return self._by_code["channels"].get(code)

    def organization(self, code: str) -> Organization | None:
        return self._by_code["organizations"].get(code)

    def supervisor_of(self, org_code: str) -> Organization | None:
        """The body this organization reports to (None for the county office or an unknown code)."""
        org = self.organization(org_code)
        return self.organization(org.reports_to) if org and org.reports_to else None

    def units_supervised_by(self, org_code: str) -> list[Organization]:
        """Direct reports; for the county office, every other organization in the tree."""
        org = self.organization(org_code)
        if org is None:
            return []
        if org.type == "county_office":
            return [o for o in self.organizations if o.code != org.code]
        return list(self._reports.get(org.code, ()))

    def phase_on(self, day: date) -> Phase | None:
        return next((p for p in self.phases if p.start <= day <= p.end), None)

    def public_view(self) -> dict:
        """JSON-ready body of ``GET /api/v1/campaign``."""
        return self.model_dump(mode="json", exclude={"reporting_lines"})


class CampaignConfigError(Exception):
    """A campaign file that cannot be used; ``problems`` lists (field path, problem) pairs."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {field}: {problem}" for field, problem in problems))


def load_campaign(path: str | Path) -> Campaign:
    """Read, validate and cross-check a campaign file."""
    path = Path(path)
    name = _display_name(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignConfigError(name, [("(file)", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignConfigError(name, [("(file)", f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise CampaignConfigError(name, [_yaml_problem(exc)]) from None
    if not isinstance(raw, dict):
        raise CampaignConfigError(name, [("(top level)", "expected a mapping of sections")])
    try:
        campaign = Campaign.model_validate(raw)
    except ValidationError as exc:
        raise CampaignConfigError(name, [_pydantic_problem(e) for e in exc.errors()]) from None
    problems = cross_check(campaign)
    if problems:
        raise CampaignConfigError(name, problems)
    return campaign


def load_default_campaign() -> Campaign:
    return load_campaign(DEFAULT_CAMPAIGN_FILE)


def cross_check(c: Campaign) -> list[tuple[str, str]]:
    """Everything pydantic cannot see alone: uniqueness, references, dates, the reporting tree."""
    problems: list[tuple[str, str]] = []
    for section in ("kinds", "categories", "phases", "channels", "organizations"):
        problems += _duplicate_codes(section, getattr(c, section))
    problems += _check_dates(c)
    problems += _check_tree(c)
    problems += _check_severity_advice(c)
    problems += _check_channel_users(c)
    problems += _check_calendar(c)
    problems += _check_accountability(c)
    return problems


def _check_channel_users(c: Campaign) -> list[tuple[str, str]]:
    """Deny by default: a staff-only channel names who may use it; a public one names no one."""
    problems = []
    for i, ch in enumerate(c.channels):
        field = f"channels[{i}].entered_by"
        if ch.public and ch.entered_by:
            problems.append((field, "a public channel is open to everyone; name no roles"))
        elif not ch.public and not ch.entered_by:
            problems.append((field, "a staff-only channel must name the roles that may use it"))
        if ch.own_unit_only and (ch.public or set(ch.entered_by) - set(ORG_BOUND_ROLES)):
            problems.append((f"channels[{i}].own_unit_only", "only for staff-only channels whose "
                             f"roles belong to one organization ({', '.join(ORG_BOUND_ROLES)})"))
    return problems


def _duplicate_codes(section: str, items: tuple[_Item, ...]) -> list[tuple[str, str]]:
    first: dict[str, int] = {}
    problems = []
    for i, item in enumerate(items):
        if item.code in first:
            problem = f"duplicate code {item.code!r} (first at {section}[{first[item.code]}])"
            problems.append((f"{section}[{i}].code", problem))
        first.setdefault(item.code, i)
    return problems


def _check_dates(c: Campaign) -> list[tuple[str, str]]:
    info, problems = c.campaign, []
    if info.end < info.start:
        problems.append(("campaign.end", f"{info.end} is before the campaign start {info.start}"))
    if not info.start <= info.summary_report_due <= info.end:
        problems.append(("campaign.summary_report_due", f"{info.summary_report_due} is outside "
                         f"the campaign {info.start}..{info.end}"))
    previous: Phase | None = None
    for i, p in enumerate(c.phases):
        start, end = f"phases[{i}].start", f"phases[{i}].end"
        if p.end < p.start:
            problems.append((end, f"{p.end} is before the phase start {p.start}"))
        if p.start < info.start:
            problems.append((start, f"{p.start} is before the campaign start {info.start}"))
        if p.end > info.end:
            problems.append((end, f"{p.end} is after the campaign end {info.end}"))
        if previous and p.start <= previous.end:
            problems.append((start, f"{p.start} is not after the previous phase's end "
                                    f"{previous.end}"))
        previous = p
    return problems


def _check_severity_advice(c: Campaign) -> list[tuple[str, str]]:
    shifts = c.severity_advice.phase_shift
    codes = [p.code for p in c.phases]
    problems = [(f"severity_advice.phase_shift.{code}", f"unknown phase {code!r}")
                for code in shifts if code not in codes]
    previous: str | None = None
    for code in codes:  # 越往后执纪越严: never more lenient in a later phase
        if previous is not None and shifts.get(code, 0) < shifts.get(previous, 0):
            problems.append((f"severity_advice.phase_shift.{code}",
                             f"{shifts.get(code, 0)} is less strict than the earlier phase "
                             f"{previous!r} ({shifts.get(previous, 0)})"))
        previous = code
    return problems


def _check_calendar(c: Campaign) -> list[tuple[str, str]]:
    """Each listed day lies in its year, is listed once, and a make-up working day (调休) is a
    Saturday or Sunday (a weekday is a working day already)."""
    problems = []
    for year, entry in c.calendar.items():
        seen: dict = {}
        for name in ("holidays", "workdays"):
            for i, day in enumerate(getattr(entry, name)):
                field = f"calendar[{year}].{name}[{i}]"
                if day.year != year:
                    problems.append((field, f"{day} is not in {year}"))
                elif day in seen:
                    problems.append((field, f"{day} is listed twice (first at {seen[day]})"))
                elif name == "workdays" and day.weekday() < 5:
                    problems.append((field, f"{day} is a weekday; a make-up working day (调休) "
                                            "is a Saturday or Sunday"))
                seen.setdefault(day, field)
    return problems


def _check_accountability(c: Campaign) -> list[tuple[str, str]]:
    """The ladder's phase floors name known phases and never fall in a later phase
    (越往后执纪越严)."""
    order = ("notice", "interview", "accountability")
    phases = [p.code for p in c.phases]
    floors = c.accountability.phase_floor
    problems = [(f"accountability.phase_floor.{code}", f"unknown phase {code!r}")
                for code in floors if code not in phases]
    last, last_code = 0, None
    for code in phases:
        rank = order.index(floors.get(code, "notice"))
        if rank < last:
            problems.append((f"accountability.phase_floor.{code}",
                             f"later phases may not be more lenient than {last_code!r}"))
        if rank >= last:
            last, last_code = rank, code
    return problems


def _check_tree(c: Campaign) -> list[tuple[str, str]]:
    orgs = {o.code: o for o in c.organizations}
    offices = [o.code for o in c.organizations if o.type == "county_office"]
    problems = []
    if len(offices) != 1:
        problems.append(("organizations",
                         f"expected exactly one county_office, found {len(offices)}"))
    for unit_type, code in c.reporting_lines.items():
        body = orgs.get(code)
        if body is None:
            problems.append((f"reporting_lines.{unit_type}", f"unknown organization {code!r}"))
        elif body.type not in ("county_office", "supervisor"):
            problems.append((f"reporting_lines.{unit_type}",
                             f"{code!r} is a {body.type}, not a supervising body"))
    for i, o in enumerate(c.organizations):
        problems += _check_reports_to(c, orgs, offices, i, o)
    return problems


def _check_reports_to(c: Campaign, orgs: dict[str, Organization], offices: list[str], i: int,
                      o: Organization) -> list[tuple[str, str]]:
    field = f"organizations[{i}].reports_to"
    if o.type == "county_office":
        return [(field, "the county office reports to no one")] if o.reports_to else []
    if o.reports_to is None:
        return [(field, f"required for a {o.type}")]
    if o.reports_to not in orgs:
        return [(field, f"unknown organization {o.reports_to!r}")]
    cycle = _cycle_from(orgs, o.code)
    if cycle:
        return [(field, "reporting cycle " + " -> ".join(cycle))]
    if o.type in ("supervisor", "publicity"):
        expected = offices[0] if len(offices) == 1 else None
        line = f"a {o.type} body reports to the county office {expected!r}"
    elif o.type in c.reporting_lines:
        expected = c.reporting_lines[o.type]
        line = f"a {o.type} reports to {expected!r}"
    else:
        return [(f"organizations[{i}].type", f"no entry for {o.type!r} in reporting_lines")]
    if expected and o.reports_to != expected:
        return [(field, f"{o.reports_to!r} does not match the reporting line: {line}")]
    return []


def _cycle_from(orgs: dict[str, Organization], start: str) -> list[str]:
    """The reporting chain from ``start`` back to itself, or [] if ``start`` is on no cycle."""
    chain, code = [start], orgs[start].reports_to
    while code in orgs and code not in chain:
        chain.append(code)
        code = orgs[code].reports_to
    return chain + [start] if code == start else []



def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _yaml_problem(exc: yaml.YAMLError) -> tuple[str, str]:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
    return where, f"YAML syntax error: {getattr(exc, 'problem', None) or exc}"


def _pydantic_problem(error: dict) -> tuple[str, str]:
    path = ""
    for part in error["loc"]:
        if part == "[key]":
            path += " (key)"
        else:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = error["msg"].removeprefix("Value error, ")
    return path or "(top level)", message
