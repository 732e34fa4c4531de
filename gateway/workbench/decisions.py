"""What the action forms need beyond the specification (办理表单的辅助规则). Pure: no I/O.

* ``offered``: whether the problem page offers an action, read off its specification
  (from-states, the closed outcomes it may start from, the suspension rules) as the ledger's
  ``check_allowed`` applies them; the ledger still decides, this only hides what it would refuse.
* ``group_of``: the unit's answer (本单位办理) apart from the supervisor's decisions
  (审核与督办决定) on the problem page.
* ``IRREVERSIBLE``: actions that close a problem for good (销号, 认可查否, 移交); their forms ask
  for an explicit confirmation.
* units chosen by name (承办单位按名称选择): ``unit_options`` for the datalist, ``resolve_unit``
  to turn a posted name (or code) back into the code the ledger takes.
* ``excerpt``: a description shortened for the merge comparison.
* partner platforms by name (移交至协作平台): ``partner_choices`` for the transfer form's select.
"""
from __future__ import annotations

from dataclasses import dataclass

from contracts.actions import ActionSpec
from contracts.vocabulary import Action, Outcome, Role, State
from gateway.workbench.forms import FieldError

A = Action
UNIT_GROUP, DECISION_GROUP = "unit", "decision"
IRREVERSIBLE: frozenset[Action] = frozenset({A.STRIKE_OFF, A.ACCEPT_UNFOUNDED, A.TRANSFER_OUT})
REPORTED_BY = "reported_by"  # the ledger's details key: who reported the step awaiting a decision
CONFIRM_FIELD = "_confirm"
MERGE_OTHER_FIELD = "into_other"   # a problem id typed in when no suggestion is the one
# inputs a form has beyond its specification's fields: name -> text key of their label
FORM_EXTRAS = {CONFIRM_FIELD: "actions.confirm_label", MERGE_OTHER_FIELD: "actions.merge.other"}

# Organization types as the datalist names them (单位类型).
ORG_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "county_office": ("县委办公室", "County office"),
    "supervisor": ("系统分管部门", "Supervising body"),
    "publicity": ("宣传部门", "Publicity"),
    "township": ("乡镇", "Township"),
    "party_department": ("县委部门", "Party department"),
    "government_department": ("政府部门", "Government department"),
    "school": ("学校", "School"),
    "enterprise": ("企业", "Enterprise"),
}
ORG_TYPE_ORDER = tuple(ORG_TYPE_LABELS)


def offered(spec: ActionSpec, problem: dict) -> bool:
    """Whether ``spec`` may start from the problem as it stands (state, outcome, suspension)."""
    try:
        state = State(problem.get("state"))
    except ValueError:
        return False
    if state not in spec.from_states:
        return False
    if spec.requires_outcome is not None:
        outcome = problem.get("outcome")
        allowed = {o.value if isinstance(o, Outcome) else None for o in spec.requires_outcome}
        if outcome not in allowed:
            return False
    suspended = bool(problem.get("suspended"))
    if spec.action is A.SUSPEND and suspended:
        return False
    if spec.action is A.RESUME and not suspended:
        return False
    if spec.action is A.UNPUBLISH and "published" not in (problem.get("details") or {}):
        return False   # nothing on the public page to take off (the ledger refuses it too)
    return not suspended or spec.while_suspended


def available(specs, problem: dict, role: Role, username: str | None = None
              ) -> list[ActionSpec]:
    """The actions ``role`` may take on the problem as it stands, in the specifications' order;
    not the decisions on a step ``username`` reported (职责分离: another account decides)."""
    return [spec for spec in specs if role in spec.roles and offered(spec, problem)
            and not reported_by(spec, problem, username)]


def reported_by(spec: ActionSpec, problem: dict, username: str | None) -> bool:
    """Whether ``spec`` decides a step that ``username`` reported (the ledger refuses it)."""
    reported = (problem.get("details") or {}).get(REPORTED_BY) or {}
    return (username is not None and spec.decides is not None
            and reported.get("action") == spec.decides.value and reported.get("by") == username)


def group_of(spec: ActionSpec) -> str:
    return UNIT_GROUP if spec.unit_step else DECISION_GROUP


def grouped(specs: list[ActionSpec]) -> list[tuple[str, list[ActionSpec]]]:
    """(group, its actions) for the groups that have any, the unit's answer first."""
    out = []
    for group in (UNIT_GROUP, DECISION_GROUP):
        members = [s for s in specs if group_of(s) == group]
        if members:
            out.append((group, members))
    return out


# --- units chosen by name ------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitOption:
    code: str
    name_zh: str
    name_en: str
    type_zh: str
    type_en: str


def unit_options(campaign, *, role: Role | None = None, org_code: str | None = None,
                 scoped: bool = False) -> list[UnitOption]:
    """The organizations a unit input offers, grouped by type (乡镇, 县委部门, 政府部门, 学校, 企业
    …). ``scoped``: only where the caller may send a problem (a supervising body: the units of
    its system; the county office: every unit but itself)."""
    orgs = list(campaign.organizations)
    if scoped and role is Role.SUPERVISOR:
        orgs = list(campaign.units_supervised_by(org_code or ""))
    elif scoped:
        orgs = [o for o in orgs if o.type != "county_office"]
    rank = {t: i for i, t in enumerate(ORG_TYPE_ORDER)}
    orgs.sort(key=lambda o: (rank.get(o.type, len(rank)), o.code))
    return [UnitOption(o.code, o.name_zh, o.name_en,
                       *ORG_TYPE_LABELS.get(o.type, (o.type, o.type))) for o in orgs]


def resolve_unit(value: str, campaign) -> str | None:
    """The code of the organization ``value`` names (its code, Chinese or English name,
    trimmed, case-insensitive for English), or None when none or more than one does."""
    wanted = " ".join(str(value or "").split())
    if not wanted:
        return None
    if campaign.organization(wanted) is not None:
        return wanted
    found = {o.code for o in campaign.organizations
             if wanted == o.name_zh or wanted.casefold() == o.name_en.casefold()}
    return found.pop() if len(found) == 1 else None


UNKNOWN_UNIT = ("没有名为“{value}”的单位，请从列表中选择单位名称",
                "No unit is called “{value}”; choose a unit's name from the list")


def resolve_units(data: dict, inputs, campaign, prefix: str = "") -> list[FieldError]:
    """Replace each unit input's posted name (``kind == "unit"``, nested ones included) by its
    code, in place; an error, in Chinese and English, per name no organization has."""
    errors: list[FieldError] = []
    for item in inputs:
        name = f"{prefix}{item.name}"
        value = data.get(item.name) if isinstance(data, dict) else None
        if item.kind == "unit" and isinstance(value, str):
            code = resolve_unit(value, campaign)
            if code is None:
                shown = value if len(value) <= 40 else value[:40] + "…"
                errors.append(FieldError(name, UNKNOWN_UNIT[0].format(value=shown),
                                         UNKNOWN_UNIT[1].format(value=shown)))
            else:
                data[item.name] = code
        elif item.kind == "group" and isinstance(value, dict):
            errors += resolve_units(value, item.children, campaign, f"{name}.")
        elif item.kind == "list" and isinstance(value, list):
            for i, row in enumerate(value):
                if isinstance(row, dict):
                    errors += resolve_units(row, item.children, campaign, f"{name}[{i}].")
    return errors


def has_kind(inputs, kind: str) -> bool:
    """Whether any input, nested ones included, is of ``kind``."""
    return any(i.kind == kind or has_kind(i.children, kind) for i in inputs)


def excerpt(text: str | None, limit: int = 120) -> str:
    """The first ``limit`` characters of a description, whitespace folded, with an ellipsis."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def partner_choices(partners) -> list[tuple[str, str, str]]:
    """The active partner platforms a problem may be transferred to, as the form's choices
    (username, its name, its name), by name (``gateway.auth.partners.Partner``)."""
    found = [p.account for p in partners if p.account.active]
    return [(a.username, a.display_name, a.display_name)
            for a in sorted(found, key=lambda a: (a.display_name, a.username))]
