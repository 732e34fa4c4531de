"""The workbench's routes: sign-in and the shell (登录与工作台), a problem's page, and one
form per action (the unit's answers and the supervising body's and county office's
decisions), each built from its specification (the list, 台账, is ``gateway.workbench.ledger``).

Every route names its roles with ``allow(...)`` (deny by default); the ledger decides scope
(own unit, own system, all) and the rules, as it does for the API.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from contracts.actions import SPECS, ActionSpec
from contracts.vocabulary import Action
from gateway.auth.accounts import AccountStore, PasswordChangeRequired, normalize_username
from gateway.auth.passwords import HashingBusy
from gateway.auth.router import hashing_slots_of
from gateway.auth.roles import STAFF_ROLES, Role
from gateway.broker import RemoteCallError
from gateway.limits import client_key, throttle_of
from gateway.routes.problems import act_on_problem, actor
from gateway.workbench import action_context, attachments, decisions, forms, session as sessions
from gateway.workbench.guards import allow
from gateway.workbench.pages import (
    PREFIX, READERS, PageRoute, lang_of, local_path, principal_in, render,
)
from gateway.workbench.texts import TEXTS, text
from kit.errors import refusal_from_reply

logger = logging.getLogger("gateway.workbench")
router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
ACTING_MARK = "代为办理"  # how the specs describe on_behalf_of and its reason
# Every action has its form, offered to the roles its specification names; the unit's own
# answers (本单位办理) apart from the decisions (审核与督办决定) on the problem page.
# Staff actions only: the reporter's own steps (补充材料, 回访满意度) have no account role and
# are taken by receipt code on the public follow-up page (gateway.routes.followup).
ACTIONS: tuple[ActionSpec, ...] = tuple(s for s in SPECS.values() if s.roles)
UNIT_ACTIONS: tuple[ActionSpec, ...] = tuple(s for s in ACTIONS if s.unit_step)


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- sign-in and the shell -------------------------------------------------------------------

def sign_in_form(request: Request, *, status: int = 200, headers=None, notice: str | None = None,
                 errors: list | None = None, username: str = "",
                 next_path: str | None = None) -> object:
    return render(request, "sign_in.html", status=status, headers=headers, notice=notice,
                  errors=errors or [], username=username,
                  next_path=local_path(next_path or request.query_params.get("next")))


@router.get("/sign-in", dependencies=[allow(Role.PUBLIC)])
def sign_in_page(request: Request):
    """登录: the staff sign-in form."""
    notice = text("sign_in.signed_out", lang_of(request)) if request.query_params.get(
        "signed_out") else None
    return sign_in_form(request, notice=notice)


@router.post("/sign-in", dependencies=[allow(Role.PUBLIC)])
async def sign_in(request: Request):
    """Sign in with the API's accounts, budgets and lockout (``gateway.limits``)."""
    lang = lang_of(request)
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = local_path(str(form.get("next") or ""))
    again = dict(username=username, next_path=next_path)
    throttle = throttle_of(request.app)
    retry = throttle.spend("login_per_client", client_key(request.scope))
    if retry is None and (username and password):
        account = normalize_username(username)[:64]
        retry = throttle.spend("login_per_account", account) or throttle.locked_for(account)
    if retry is not None:
        return sign_in_form(request, status=429, headers={"Retry-After": str(retry)},
                            errors=[("f-username", text("error.too_many", lang, seconds=retry))],
                            **again)
    missing = [(f"f-{name}", f"{text('sign_in.' + name, lang)}：{text('sign_in.required', lang)}")
               for name, value in (("username", username), ("password", password)) if not value]
    if missing:
        return sign_in_form(request, status=422, errors=missing, **again)
    store: AccountStore = request.app.state.accounts
    try:
        async with hashing_slots_of(request.app).slot():
            principal = await run_in_threadpool(store.authenticate, username, password)
    except HashingBusy:
        return sign_in_form(request, status=503, headers={"Retry-After": "2"},
                            errors=[("f-username", text("error.busy", lang))], **again)
    except PasswordChangeRequired as exc:  # a reset password: set a new one first
        from gateway.workbench.accounts import begin_password_change

        throttle.signed_in(account)
        await run_in_threadpool(store.record_event, "signed_in", None, exc.account.username,
                                exc.account.org_code, {"password_change_required": True})
        return begin_password_change(request, exc.account, next_path)
    if principal is None:
        throttle.wrong_password(account)
        await run_in_threadpool(store.record_event, "sign_in_failed", None, account, None, {})
        return sign_in_form(request, status=401,
                            errors=[("f-username", text("sign_in.wrong", lang))], **again)
    throttle.signed_in(account)
    await run_in_threadpool(store.record_event, "signed_in", None, principal.username,
                            principal.org_code, {"via": "workbench"})
    found = await run_in_threadpool(store.get, principal.account_id)
    sessions.begin(request.scope["session"], principal,
                   found.display_name if found else principal.username)
    logger.info("workbench sign-in: %r", principal.username)
    return see_other(next_path)


@router.post("/sign-out", dependencies=[allow(*STAFF_ROLES)])
async def sign_out(request: Request):
    """退出登录: this session and every token of the account stop working (as the API's)."""
    principal = principal_in(request)
    store: AccountStore = request.app.state.accounts
    await run_in_threadpool(store.revoke_tokens, principal.account_id)
    sessions.end(request.scope["session"])
    return see_other(f"{PREFIX}/sign-in?signed_out=1")


@router.post("/language", dependencies=[allow(Role.PUBLIC)])
async def choose_language(request: Request):
    """中文 / English: remembered in the session, like the public pages remember it."""
    form = await request.form()
    chosen = "en" if form.get("lang") == "en" else "zh"
    request.scope["session"]["lang"] = chosen
    return see_other(local_path(str(form.get("next") or "")))


@router.get("", dependencies=[allow(*STAFF_ROLES)])
def home(request: Request):
    """工作台首页: the shell, and where each role's work starts."""
    principal = principal_in(request)
    return render(request, "home.html", principal=principal,
                  reads_ledger=principal.role in READERS,
                  is_unit=principal.role is Role.UNIT_HANDLER)


# --- a problem ------------------------------------------------------------------------------

def _names(request: Request) -> dict:
    """Chinese/English names of the campaign's codes, for the pages."""
    campaign = request.app.state.campaign
    lang = lang_of(request)

    def name(item):
        return item.name_en if lang == "en" else item.name_zh
    return {"unit": {o.code: name(o) for o in campaign.organizations},
            "category": {c.code: name(c) for c in campaign.categories},
            "kind": {k.code: name(k) for k in campaign.kinds},
            "channel": {c.code: name(c) for c in campaign.channels}}


@router.get("/problems/{problem_id}", dependencies=[allow(*READERS)])
async def problem_page(problem_id: str, request: Request):
    """A problem: its clue(s), timeline, what is due, and the actions the caller may take."""
    principal = principal_in(request)
    problem = await _problem(request, problem_id)
    flash = request.scope["session"].pop("flash", None)
    actions = _available(problem, principal.role, principal.username)
    return render(request, "problem.html", principal=principal, problem=problem,
                  names=_names(request), actions=actions, groups=decisions.grouped(actions),
                  irreversible=decisions.IRREVERSIBLE, flash=flash)


async def _problem(request: Request, problem_id: str) -> dict:
    return await request.app.state.broker.call(
        "ledger", "get_problem", problem_id=problem_id[:64], actor=actor(principal_in(request)))


def _available(problem: dict, role: Role, username: str | None = None) -> list[ActionSpec]:
    """The actions this role may take on the problem as it stands (state, outcome, timers),
    not a decision on the person's own report (职责分离)."""
    return decisions.available(ACTIONS, problem, role, username)


# --- the action forms, one per action, built from its specification -----------------------------

@dataclass
class ActionForm:
    """What an action's form shows: its inputs (the spec's), the acting inputs apart."""

    spec: ActionSpec
    inputs: list[forms.Input]
    acting: list[forms.Input]

    @classmethod
    def of(cls, spec: ActionSpec, role: Role) -> ActionForm:
        inputs = forms.form_of(spec.input)
        for item in inputs:
            if spec.action is Action.MERGE and item.name == "into":
                item.kind = "merge_target"  # chosen among the duplicate suggestions
        acting = [i for i in inputs if ACTING_MARK in (i.description or "")]
        rest = [i for i in inputs if i not in acting]
        if role is Role.UNIT_HANDLER:  # the unit's own handler never acts for anyone
            return cls(spec, rest, [])
        for item in acting:
            item.required = True  # the spec: required of anyone but the unit's handler
        return cls(spec, rest, acting)

    @property
    def all_inputs(self) -> list[forms.Input]:
        return [*self.inputs, *self.acting]

    @property
    def confirm(self) -> bool:
        """An irreversible step (销号 …): the form asks for an explicit confirmation."""
        return self.spec.action in decisions.IRREVERSIBLE


def _action_routes(spec: ActionSpec) -> None:
    path = f"/problems/{{problem_id}}/{spec.action.value}"

    async def show(problem_id: str, request: Request):
        principal = principal_in(request)
        problem = await _problem(request, problem_id)
        form = ActionForm.of(spec, principal.role)
        await action_context.offer_partners(request, form)
        values = {"on_behalf_of": problem.get("unit")} if form.acting else {}
        if spec.action is Action.DISPATCH and problem.get("unit"):
            values["unit"] = problem["unit"]  # the unit the clue named, to keep or change
        into = request.query_params.get("into") if spec.action is Action.MERGE else None
        if into:
            values["into"] = into[:64]
        request.state.action_extras = await action_context.extras(request, spec.action,
                                                                 problem, into=into)
        return _form_page(request, problem, form, values, [], extra_rows={})

    async def submit(problem_id: str, request: Request):
        principal = principal_in(request)
        problem = await _problem(request, problem_id)
        form = ActionForm.of(spec, principal.role)
        await action_context.offer_partners(request, form)
        posted = await attachments.read(request, principal, form.all_inputs)  # files stored
        data = forms.parse(posted.pairs, form.all_inputs)
        request.state.action_extras = await action_context.extras(
            request, spec.action, problem, into=str(data.get("into") or "") or None)
        extra = _row_changes(posted.form, data, form.all_inputs)
        attached = await attachments.names_of(request, principal, data)
        if extra is not None and not posted.errors:  # "add another"/"remove" without script
            return _form_page(request, problem, form, data, [], extra_rows=extra,
                              attached=attached)
        for item in form.all_inputs:  # so that each missing field is named, not the whole
            if item.required and item.kind in ("group", "list"):
                data.setdefault(item.name, {} if item.kind == "group" else [])
        errors = _acting_errors(form, data) + _decision_errors(request, form, posted.form, data)
        try:
            args = spec.input.model_validate(data)
        except ValidationError as exc:
            errors = forms.field_errors(exc) + errors
        if posted.errors or errors:  # a refused file: nothing reaches the ledger
            return _form_page(request, problem, form, data, posted.errors + errors,
                              status=posted.status if posted.errors else 422, attached=attached)
        try:
            await act_on_problem(request, principal, problem["id"], spec, args)
        except (RemoteCallError, HTTPException) as exc:
            refusal = refusal_from_reply(exc.error) if isinstance(exc, RemoteCallError) \
                else _door_refusal(exc)
            if refusal is None:
                raise
            names = _names_of(form.all_inputs)
            name = refusal.field if refusal.field in names else "_form"
            return _form_page(request, problem, form, data, [forms.FieldError(
                name, refusal.message_zh, refusal.message)], status=refusal.status,
                attached=attached)
        request.scope["session"]["flash"] = spec.action.value
        return see_other(f"{PREFIX}/problems/{problem['id']}")

    for endpoint, method in ((show, "GET"), (submit, "POST")):
        endpoint.__name__ = f"workbench_{spec.action.value}_{method.lower()}"
        router.add_api_route(path, endpoint, methods=[method],
                             dependencies=[allow(*spec.roles)], summary=spec.summary)


def _door_refusal(exc: HTTPException) -> Refusal | None:
    """The gateway's own bilingual refusal (e.g. evidence naming no uploaded file) as a
    refusal the form shows beside its field."""
    detail = exc.detail if isinstance(exc.detail, dict) else None
    if not detail or exc.status_code >= 500 or "message_zh" not in detail:
        return None
    return Refusal(exc.status_code, detail["message"], detail["message_zh"],
                   detail.get("field"))


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    message_zh: str
    field: str | None


def _names_of(inputs: list[forms.Input], prefix: str = "") -> set[str]:
    names = set()
    for item in inputs:
        names.add(prefix + item.name)
        if item.kind == "group":
            names |= _names_of(item.children, f"{prefix}{item.name}.")
    return names


def _decision_errors(request: Request, form: ActionForm, posted, data: dict
                     ) -> list[forms.FieldError]:
    """Before the ledger is asked: units named by name become codes (an unknown name is named
    in Chinese), a merge target typed in instead of chosen, an irreversible step confirmed."""
    errors = decisions.resolve_units(data, form.all_inputs, request.app.state.campaign)
    other = posted.get(decisions.MERGE_OTHER_FIELD)
    if form.spec.action is Action.MERGE and not data.get("into") and isinstance(other, str) \
            and other.strip():
        data["into"] = other.strip()
    if form.confirm and posted.get(decisions.CONFIRM_FIELD) != "yes":
        zh, en = TEXTS["actions.confirm_required"]
        errors.append(forms.FieldError(decisions.CONFIRM_FIELD, zh, en))
    return errors


def _acting_errors(form: ActionForm, data: dict) -> list[forms.FieldError]:
    """Acting for the unit (代为办理): both inputs, before the ledger is asked."""
    return [forms.FieldError(item.name, "代为办理时为必填项", "required when acting for the unit")
            for item in form.acting if not data.get(item.name)]


def _lists_of(inputs: list[forms.Input], prefix: str = "") -> set[str]:
    """Form names of the list inputs, nested ones included (``plan.milestones``)."""
    found = set()
    for item in inputs:
        if item.kind == "list":
            found.add(prefix + item.name)
        elif item.kind == "group":
            found |= _lists_of(item.children, f"{prefix}{item.name}.")
    return found


def _rows(data: dict, name: str) -> list | None:
    node = data
    for step in name.split("."):
        node = node.get(step) if isinstance(node, dict) else None
    return node if isinstance(node, list) else None


def _row_changes(posted, data: dict, inputs: list[forms.Input]) -> dict | None:
    """Rows to add per list (``_add``) or a row to drop (``_remove`` = ``name:index``)."""
    lists = _lists_of(inputs)
    add = posted.get("_add")
    if isinstance(add, str) and add in lists:
        return {add: 1}
    remove = posted.get("_remove")
    if isinstance(remove, str) and ":" in remove:
        name, _, index = remove.partition(":")
        rows = _rows(data, name)
        if name in lists:
            if rows is not None and index.isdigit() and int(index) < len(rows):
                rows.pop(int(index))
            return {name: 0}
    return None


def _form_page(request: Request, problem: dict, form: ActionForm, values: dict,
               errors: list[forms.FieldError], *, extra_rows: dict | None = None,
               status: int = 200, attached: dict[str, str] | None = None):
    by_name = {e.name: e for e in errors}
    lang = lang_of(request)
    summary = [(_anchor(form.all_inputs, e.name), _label_for(form.all_inputs, e.name, lang),
                e.message_en if lang == "en" else e.message_zh) for e in errors]
    principal = principal_in(request)
    return render(request, "action.html", status=status, principal=principal,
                  problem=problem, form=form, values=values, errors=by_name, summary=summary,
                  extra_rows=extra_rows or {}, names=_names(request),
                  units=_names(request)["unit"],
                  unit_options=decisions.unit_options(
                      request.app.state.campaign, role=principal.role,
                      org_code=principal.org_code, scoped=not form.spec.unit_step)
                  if decisions.has_kind(form.all_inputs, "unit") else [],
                  offered=decisions.offered(form.spec, problem),
                  extras=getattr(request.state, "action_extras", None) or {},
                  confirm_field=decisions.CONFIRM_FIELD,
                  other_field=decisions.MERGE_OTHER_FIELD,
                  files=attachments.view(request, form.all_inputs, attached or {}))


def _find(inputs: list[forms.Input], name: str) -> tuple[forms.Input | None, int | None]:
    path = forms.path_of(name) or []
    found, row, level = None, None, inputs
    for step in path:
        if isinstance(step, int):
            row = step
            continue
        found = next((i for i in level if i.name == step), None)
        if found is None:
            return None, row
        level = found.children
    return found, row


def _anchor(inputs: list[forms.Input], name: str) -> str:
    if name in decisions.FORM_EXTRAS or name.startswith(attachments.FILE_PREFIX):
        return forms.dom_id(name)
    found, _ = _find(inputs, name)
    if found is not None and found.kind == "file":
        return forms.dom_id(attachments.FILE_PREFIX + name)
    if found is not None and found.kind == "list" and found.children:
        return forms.dom_id(f"{name}[0].{found.children[0].name}")
    if found is not None and found.kind == "group" and found.children:
        return forms.dom_id(f"{name}.{found.children[0].name}")
    if found is not None and found.kind == "radios" and found.choices:
        return forms.dom_id(f"{name}-{found.choices[0][0]}")
    return forms.dom_id(name) if found is not None else "action-form"


def _label_for(inputs: list[forms.Input], name: str, lang: str) -> str:
    if name.startswith(attachments.FILE_PREFIX):  # the refusal names the file itself
        return ""
    if name in decisions.FORM_EXTRAS:
        return text(decisions.FORM_EXTRAS[name], lang)
    found, row = _find(inputs, name)
    if found is None:
        return ""
    label = found.label[1] if lang == "en" else found.label[0]
    if row is not None:
        label = f"{label}（{text('action.row', lang, n=row + 1)}）"
    return label


for _spec in ACTIONS:
    _action_routes(_spec)
