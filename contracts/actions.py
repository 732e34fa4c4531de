"""One specification per lifecycle action (办理操作规格): the single place an action is defined.

For each ``Action``: the states it may start from and the state it leads to, the event it
publishes (past tense), who may call it, its input as a frozen pydantic model with typed,
bounded fields, and its summary in Chinese and English. Everything else derives from
``SPECS``: the ledger's transition table and access rules, the gateway's routes, their roles,
validation and API documentation. Adding an action takes a ``Action`` member, a spec here and
its handler in the ledger.

The input models check shape (types, sizes, codes); the ledger checks what needs its state
or the campaign (a date not in the past, a unit that exists, a milestone's index).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints,
    field_validator, model_validator,
)
from pydantic_core import PydanticCustomError

from contracts.vocabulary import (
    Action, EventName, HandlingClass, Outcome, Party, ProgressFlag, ReopenSource, Role,
    Satisfaction, Seriousness, SeverityLevel, State,
)


def _text(max_length: int, description: str) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=max_length),
                     Field(description=description)]


def _day_only(value: Any) -> Any:
    """A date or an ISO date string: never a number (pydantic would read it as seconds)."""
    if isinstance(value, (date, str)):
        return value
    raise PydanticCustomError("date_type", "Input should be a date as YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_day_only)]
Reason = _text(5000, "reason (理由)")
Note = _text(5000, "note (说明)")
UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                     Field(description="organization code (单位代码)")]
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F]{64}$"),
                   AfterValidator(str.lower),
                   Field(description="SHA-256 of the file, 64 hexadecimal digits (文件摘要)")]
RespondDays = Annotated[StrictInt, Field(ge=1, le=120, description=(
    "working days the unit has to answer (办理时限, 工作日); default: the campaign's"))]
OnBehalfOf = Annotated[UnitCode | None, Field(description=(
    "acting for a unit (代为办理): the problem's unit, required of anyone but the unit's own "
    "handler"))]
ActingReason = Annotated[Reason | None, Field(description=(
    "why you act for the unit (代为办理的理由), required with on_behalf_of"))]
# Shown to the reporter on the follow-up page: no names, no internal detail. Left empty, the
# reporter reads a standard sentence, never the internal findings or notes.
PublicFindings = Annotated[_text(2000, "") | None, Field(description=(
    "the findings in words meant for the reporter, no names (向举报人公开的办理情况)"))]
SUPPLEMENT_PHOTOS_MAX = 5
"""Photos a reporter may add to an open case in one supplement (补充材料)."""


class ActionInput(BaseModel):
    """Base of every action's input: frozen, no unknown fields, text trimmed."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Evidence(ActionInput):
    """One item of evidence (佐证材料)."""

    description: _text(2000, "what it shows (说明)")
    sha256: Sha256 | None = None


class Milestone(ActionInput):
    """A milestone of a long-term plan (阶段目标). Anything but an object is read as an
    empty milestone, so its title and date are named as missing."""

    title: _text(200, "milestone (阶段目标)")
    due_on: Day = Field(description="due date (完成日期)")

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        return value if isinstance(value, (dict, BaseModel)) else {}


class Plan(ActionInput):
    """The rectification plan (整改计划): 整改措施、整改目标、整改时限、牵头领导、责任单位、
    具体责任人, and a handling class."""

    measures: _text(5000, "整改措施")
    target: _text(5000, "整改目标")
    deadline: Day = Field(description="整改时限")
    lead_official: _text(200, "牵头领导")
    responsible_unit: UnitCode
    responsible_person: _text(200, "具体责任人")
    handling: HandlingClass = Field(description="立行立改 / 限时整改 / 持续整改")
    milestones: tuple[Milestone, ...] = Field(default=(), max_length=50, description=(
        "阶段目标, required for a long-term plan"))


class Flag(ActionInput):
    flag: ProgressFlag = Field(description="整改进度慢 / 整改不到位 / 整改效果不佳")
    reason: Reason


# ── Inputs, one per action (or shared where two actions take the same) ─────────────────────

class DispatchInput(ActionInput):
    unit: UnitCode | None = Field(None, description="the unit (承办单位); required if the "
                                                    "problem has none")
    respond_by: Day | None = Field(None, description="answer due (办理期限), instead of days")
    respond_days: RespondDays | None = None
    note: Note | None = None


class ReassignInput(ActionInput):
    unit: UnitCode
    reason: Reason


class VerifyInput(ActionInput):
    plan: Plan
    seriousness: Seriousness = Seriousness.ORDINARY
    note: Note | None = None
    evidence: tuple[Evidence, ...] = Field(default=(), max_length=50, description=(
        "evidence attached to the step (佐证材料), e.g. photos of the scene"))
    on_behalf_of: OnBehalfOf = None
    reason: ActingReason = None


class ReportUnfoundedInput(ActionInput):
    findings: _text(5000, "查否情况")
    evidence: tuple[Evidence, ...] = Field(min_length=1, max_length=50)
    public_findings: PublicFindings = None
    on_behalf_of: OnBehalfOf = None
    reason: ActingReason = None


class NoteInput(ActionInput):
    note: Note | None = None


class DecisionInput(NoteInput):
    """A closing decision (认可查否, 销号): the deciding body may rewrite the words the
    reporter sees."""

    public_findings: PublicFindings = None


class SendBackInput(ActionInput):
    """退回: the unit answers again, with a fresh response deadline."""

    reason: Reason
    respond_by: Day | None = None
    respond_days: RespondDays | None = None


class RecordProgressInput(ActionInput):
    note: Note
    milestone_done: StrictInt | None = Field(None, ge=0, le=49, description=(
        "index of the plan's milestone now done"))
    evidence: tuple[Evidence, ...] = Field(default=(), max_length=50, description=(
        "evidence attached to the step (佐证材料)"))
    on_behalf_of: OnBehalfOf = None
    reason: ActingReason = None


class CheckProgressInput(ActionInput):
    flags: tuple[Flag, ...] = Field(default=(), max_length=10)
    note: Note | None = None
    new_deadline: Day | None = Field(None, description="required with flags (新的整改时限)")


class ReportRectifiedInput(ActionInput):
    evidence: tuple[Evidence, ...] = Field(min_length=1, max_length=50)
    note: Note | None = None
    public_findings: PublicFindings = None
    on_behalf_of: OnBehalfOf = None
    reason: ActingReason = None


class RejectRectificationInput(ActionInput):
    reason: Reason
    new_deadline: Day | None = None


class ReopenInput(ActionInput):
    source: ReopenSource
    reason: Reason


class MergeInput(ActionInput):
    into: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                    Field(description="the open problem it duplicates")]
    note: Note | None = None


class ReasonInput(ActionInput):
    reason: Reason


PartnerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$"),
                        Field(description="协作平台: the partner platform's account (username)")]


class TransferOutInput(ActionInput):
    """移交: to another authority (``to``, free text), or to a partner platform (``partner``,
    its account's username; ``to`` then defaults to the partner's name, which the reporter's
    follow-up shows as the destination). The gateway checks the partner exists and fills
    ``to``; the ledger records both; notify delivers the case to the partner's webhook."""

    partner: PartnerName | None = None
    to: Annotated[_text(200, "移交至") | None, Field(validate_default=True, description=(
        "移交至: the destination's name (required unless a partner platform is chosen)"))] = None
    reason: Reason

    @field_validator("to")
    @classmethod
    def _destination(cls, value, info):
        if not value and not info.data.get("partner"):
            raise PydanticCustomError("destination_required", "destination required")
        return value


class DecideSeverityInput(ActionInput):
    decision: SeverityLevel
    note: Note


class ReporterSupplementInput(ActionInput):
    """补充材料: what the reporter adds to an open case, with photos already stored by the
    gateway's file pipeline (sniffed, limited, a redacted copy for staff)."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                           max_length=2000),
                    Field(description="补充的情况, 5-2000 characters")]
    photos: tuple[Sha256, ...] = Field(default=(), max_length=SUPPLEMENT_PHOTOS_MAX,
                                       description="SHA-256 of each photo's sealed original")


class RateSatisfactionInput(ActionInput):
    """回访满意度: satisfied, basically satisfied, or not satisfied (then with a reason)."""

    satisfaction: Satisfaction = Field(description="满意 / 基本满意 / 不满意")
    reason: Annotated[_text(2000, "") | None, Field(description=(
        "理由, required when not satisfied"))] = None


class PublishInput(ActionInput):
    """公开曝光: a typical case on the public page, in the county office's words: what was
    found and what was done, with photos or videos (their redacted copies are shown)."""

    found: _text(2000, "查明的问题 what was found")
    done: _text(2000, "处理和整改情况 what was done")
    evidence: tuple[Evidence, ...] = Field(default=(), max_length=20, description=(
        "photos or videos to show, each an uploaded file (only its redacted copy is shown)"))


# ── The specifications ──────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class ActionSpec:
    """One action, whole. ``target`` None: the problem stays in the state it is in.
    ``decides``: the reported step this action approves or sends back (separation of duties:
    the account that reported it may not). ``requires_outcome``: a closed problem's outcomes
    it may start from (None in the tuple: an open problem)."""

    action: Action
    from_states: tuple[State, ...]
    target: State | None
    event: EventName
    callers: tuple[Role | Party, ...]
    input: type[ActionInput]
    summary_zh: str
    summary_en: str
    closes_as: Outcome | None = None
    requires_outcome: tuple[Outcome | None, ...] | None = None
    while_suspended: bool = False
    decides: Action | None = None

    @property
    def unit_step(self) -> bool:
        """The unit's own answer: anyone else doing it acts on the unit's behalf."""
        return Role.UNIT_HANDLER in self.callers

    @property
    def roles(self) -> tuple[Role, ...]:
        """The account roles that may call it (the gateway's guard)."""
        return tuple(c for c in self.callers if isinstance(c, Role))

    @property
    def summary(self) -> str:
        return f"{self.summary_zh} {self.summary_en}"


A, S, O, R = Action, State, Outcome, Role
OPEN_AFTER_DISPATCH = (S.DISPATCHED, S.VERIFIED, S.UNFOUNDED, S.RECTIFYING, S.RECTIFIED)
OPEN = (S.REGISTERED, *OPEN_AFTER_DISPATCH)
SUPERVISING = (R.COUNTY_OFFICE, R.SUPERVISOR)
UNIT = (R.COUNTY_OFFICE, R.UNIT_HANDLER)
REOPENERS = (R.COUNTY_OFFICE, R.SUPERVISOR, R.SPOT_CHECK, Party.REPORTER)

_SPECS = (
    ActionSpec(A.DISPATCH, (S.REGISTERED,), S.DISPATCHED, EventName.DISPATCHED, SUPERVISING,
               DispatchInput, "交办", "dispatch to a unit with a response deadline"),
    ActionSpec(A.REASSIGN, (S.DISPATCHED, S.RECTIFYING), None, EventName.REASSIGNED,
               SUPERVISING, ReassignInput, "转办",
               "reassign to another unit (the deadline follows)"),
    ActionSpec(A.VERIFY, (S.DISPATCHED,), S.VERIFIED, EventName.VERIFIED, UNIT, VerifyInput,
               "查实", "verified, with a rectification plan (six fields + handling class)"),
    ActionSpec(A.REPORT_UNFOUNDED, (S.DISPATCHED,), S.UNFOUNDED, EventName.CLOSURE_UNFOUNDED,
               UNIT, ReportUnfoundedInput, "查否", "unfounded, with findings and evidence"),
    ActionSpec(A.APPROVE_PLAN, (S.VERIFIED,), S.RECTIFYING, EventName.PLAN_APPROVED,
               SUPERVISING, NoteInput, "审核通过整改计划", "approve the plan",
               decides=A.VERIFY),
    ActionSpec(A.REJECT_PLAN, (S.VERIFIED,), S.DISPATCHED, EventName.PLAN_REJECTED,
               SUPERVISING, SendBackInput, "退回整改计划", "send the plan back",
               decides=A.VERIFY),
    ActionSpec(A.ACCEPT_UNFOUNDED, (S.UNFOUNDED,), S.CLOSED, EventName.UNFOUNDED_ACCEPTED,
               SUPERVISING, DecisionInput, "认可查否", "accept unfounded",
               closes_as=O.UNFOUNDED, decides=A.REPORT_UNFOUNDED),
    ActionSpec(A.REJECT_UNFOUNDED, (S.UNFOUNDED,), S.DISPATCHED, EventName.UNFOUNDED_REJECTED,
               SUPERVISING, SendBackInput, "退回查否", "send the unfounded finding back",
               decides=A.REPORT_UNFOUNDED),
    ActionSpec(A.RECORD_PROGRESS, (S.RECTIFYING,), None, EventName.PROGRESS_RECORDED, UNIT,
               RecordProgressInput, "报告整改进展", "record progress"),
    ActionSpec(A.CHECK_PROGRESS, (S.RECTIFYING,), None, EventName.PROGRESS_CHECKED,
               SUPERVISING, CheckProgressInput, "整改落实情况检查",
               "progress check, flags with reason and new deadline"),
    ActionSpec(A.REPORT_RECTIFIED, (S.RECTIFYING,), S.RECTIFIED,
               EventName.RECTIFICATION_REPORTED, UNIT, ReportRectifiedInput, "报告整改完成",
               "rectified, with evidence"),
    ActionSpec(A.REJECT_RECTIFICATION, (S.RECTIFIED,), S.RECTIFYING,
               EventName.RECTIFICATION_REJECTED, SUPERVISING, RejectRectificationInput,
               "退回整改", "send rectification back", decides=A.REPORT_RECTIFIED),
    ActionSpec(A.STRIKE_OFF, (S.RECTIFIED,), S.CLOSED, EventName.STRUCK_OFF, SUPERVISING,
               DecisionInput, "销号", "strike off", closes_as=O.RECTIFIED,
               decides=A.REPORT_RECTIFIED),
    ActionSpec(A.REOPEN, (S.CLOSED,), S.REGISTERED, EventName.REOPENED, REOPENERS,
               ReopenInput, "重新启动", "reopen (spot-check, look-back, dispute)",
               requires_outcome=(O.RECTIFIED, O.UNFOUNDED)),
    ActionSpec(A.MERGE, (S.REGISTERED,), S.CLOSED, EventName.MERGED, SUPERVISING, MergeInput,
               "合并重复线索", "merge as duplicate", closes_as=O.MERGED),
    ActionSpec(A.UNMERGE, (S.CLOSED,), S.REGISTERED, EventName.UNMERGED, SUPERVISING,
               ReasonInput, "撤销合并", "undo a merge", requires_outcome=(O.MERGED,)),
    ActionSpec(A.TRANSFER_OUT, (S.REGISTERED, S.DISPATCHED), S.CLOSED, EventName.TRANSFERRED,
               SUPERVISING, TransferOutInput, "移交", "transfer out",
               closes_as=O.TRANSFERRED, while_suspended=True),
    ActionSpec(A.SUSPEND, OPEN_AFTER_DISPATCH, None, EventName.SUSPENDED, SUPERVISING,
               ReasonInput, "中止计时", "suspend (timers pause)"),
    ActionSpec(A.RESUME, OPEN_AFTER_DISPATCH, None, EventName.RESUMED, SUPERVISING, NoteInput,
               "恢复计时", "resume", while_suspended=True),
    ActionSpec(A.DECIDE_SEVERITY, (S.VERIFIED, S.RECTIFYING, S.RECTIFIED, S.CLOSED), None,
               EventName.SEVERITY_DECIDED, SUPERVISING, DecideSeverityInput, "宽严相济",
               "record the severity decision", requires_outcome=(None, O.RECTIFIED),
               while_suspended=True),
    # The reporter's own steps, reached by receipt code through the follow-up page only.
    ActionSpec(A.REPORTER_SUPPLEMENT, OPEN, None, EventName.REPORTER_SUPPLEMENTED,
               (Party.REPORTER,), ReporterSupplementInput, "举报人补充材料",
               "the reporter adds information and photos to an open case",
               while_suspended=True),
    ActionSpec(A.RATE_SATISFACTION, (S.RECTIFIED, S.CLOSED), None,
               EventName.SATISFACTION_RATED, (Party.REPORTER,), RateSatisfactionInput,
               "回访满意度评价", "the reporter says whether the outcome satisfies them",
               requires_outcome=(None, O.RECTIFIED, O.UNFOUNDED), while_suspended=True),
    # 公开曝光: the county office puts a case on the public page, or takes it off (the chain
    # keeps both entries); in any state.
    ActionSpec(A.PUBLISH, tuple(S), None, EventName.PUBLISHED, (R.COUNTY_OFFICE,),
               PublishInput, "公开曝光", "publish as a typical case on the public page"),
    ActionSpec(A.UNPUBLISH, tuple(S), None, EventName.UNPUBLISHED, (R.COUNTY_OFFICE,),
               ReasonInput, "撤销公开曝光", "take a published case off the public page"),
)
SPECS: dict[Action, ActionSpec] = {spec.action: spec for spec in _SPECS}
if len(SPECS) != len(_SPECS) or set(SPECS) != set(Action):
    raise RuntimeError("every action needs exactly one specification")

CALLERS_DOC: dict[Role | Party, tuple[str, str]] = {
    R.UNIT_HANDLER: ("the handler of the problem's own unit", "本单位承办人"),
    R.SUPERVISOR: ("a supervising body of the unit's system", "本系统分管部门"),
    R.COUNTY_OFFICE: ("the county office", "县委办公室"),
    R.SPOT_CHECK: ("the spot-check team", "抽查组"),
    Party.REPORTER: ("the reporter, by receipt code on the follow-up page",
                     "举报人(凭回执码在进度查询页办理)"),
}


def describe(spec: ActionSpec) -> str:
    """Who may call an action and what rules bind it, for the API documentation."""
    who = "; ".join(f"{CALLERS_DOC[c][0]} ({CALLERS_DOC[c][1]})" for c in spec.callers)
    states = ", ".join(s.value for s in spec.from_states)
    lines = [f"Who may call it: {who}.",
             f"From: {states}; leads to: {(spec.target or 'the same state')}; "
             f"publishes problem.{spec.event.value}."]
    if spec.unit_step:
        lines.append("Anyone but the unit's own handler acts for the unit (代为办理) and must "
                     "give `on_behalf_of` (the problem's unit) and `reason`.")
    if spec.decides is not None:
        lines.append(f"Separation of duties (职责分离): the account that did "
                     f"`{spec.decides.value}` may not do this.")
    return "\n\n".join(lines)


# ── Errors of an input, in the domain's plain words and in Chinese ─────────────────────────

def field_path(loc: tuple) -> str:
    """``("evidence", 0, "sha256")`` → ``evidence[0].sha256``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _choices(ctx: dict) -> str:
    return str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")


def reason_of(error: dict) -> tuple[str, str]:
    """(English, Chinese) for one pydantic error of an action's input."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "required", "为必填项"
    if kind == "string_too_long":
        return (f"at most {ctx['max_length']} characters",
                f"最多 {ctx['max_length']} 个字符")
    if kind.startswith("date"):
        return "required, as a date YYYY-MM-DD", "为必填项,日期格式应为 YYYY-MM-DD"
    if kind in ("enum", "literal_error"):
        return f"one of {_choices(ctx)}", f"取值应为以下之一:{_choices(ctx)}"
    if kind == "too_short":
        return "at least one item is required", "至少需要一项"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items", f"最多 {ctx.get('max_length')} 项"
    if kind in ("list_type", "tuple_type"):
        return "a list", "应为列表"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "an object", "应为 JSON 对象"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "a whole number", "应为整数"
    if kind == "greater_than_equal":
        return f"at least {ctx['ge']}", f"不能小于 {ctx['ge']}"
    if kind == "less_than_equal":
        return f"at most {ctx['le']}", f"不能大于 {ctx['le']}"
    if kind == "string_pattern_mismatch":
        return "not in the expected format", "格式不正确"
    if kind == "string_type":
        return "text is required", "应为文本"
    if kind == "destination_required":
        return ("name the destination, or choose a partner platform",
                "请填写移交去向，或选择协作平台")
    if kind == "extra_forbidden":
        return "not a field of this action", "不是此操作的输入项"
    return "not valid", "内容不符合要求"
