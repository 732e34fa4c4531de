"""A unit's own work plan (清理工作方案) on the workbench, ``/workbench/work-plan``: the plans it
filed, and filing one with its document as a real file (``POST /api/v1/work-plans``'s logic,
``file_plan``). The supervising bodies' lists of filed, missing and late plans are
``gateway.workbench.work_plans``.

The form is built from ``WorkPlanIn`` as the action forms are built from their specs; the
document's digest is a file input (``gateway.workbench.attachments``), so the form is
``multipart/form-data`` and works without script.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.routes.problems import WorkPlanIn, actor, file_plan
from gateway.workbench import attachments, forms
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from gateway.workbench.routes import _door_refusal, see_other
from kit.errors import refusal_from_reply

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
PATH = f"{PREFIX}/work-plan"
# WorkPlanIn's fields as the page names them (the shared labels name other fields so).
LABELS = {"title": ("方案标题", "Title"), "summary": ("内容摘要", "Summary"),
          "document_sha256": ("方案文件", "The plan's document")}
HINTS = {"summary": ("工作方案的主要内容。", "What the plan says, in short."),
         "document_sha256": ("工作方案正文，Word 或 PDF。", "The plan itself, as Word or PDF.")}


def plan_inputs() -> list[forms.Input]:
    inputs = forms.form_of(WorkPlanIn)
    for item in inputs:
        item.label = LABELS.get(item.name, item.label)
        item.hint = HINTS.get(item.name, item.hint)
    return inputs


async def _page(request: Request, values: dict, errors: list[forms.FieldError], *,
                status: int = 200, attached: dict | None = None):
    principal = principal_in(request)
    listing = await request.app.state.broker.call("ledger", "list_work_plans",
                                                  actor=actor(principal))
    inputs = plan_inputs()
    lang = lang_of(request)
    by_name = {e.name: e for e in errors}
    summary = [(_anchor(inputs, e.name), _label(inputs, e.name, lang),
                e.message_en if lang == "en" else e.message_zh) for e in errors]
    flash = request.scope["session"].pop("flash_plan", None)
    return render(request, "plan_filing.html", status=status, principal=principal,
                  plans=listing["items"], inputs=inputs, values=values, errors=by_name,
                  summary=summary, extra_rows={}, units={}, flash=flash,
                  files=attachments.view(request, inputs, attached or {}))


def _anchor(inputs: list[forms.Input], name: str) -> str:
    found = next((i for i in inputs if i.name == name), None)
    if name.startswith(attachments.FILE_PREFIX) or (found is not None and found.kind == "file"):
        return forms.dom_id(name if name.startswith(attachments.FILE_PREFIX)
                            else attachments.FILE_PREFIX + name)
    return forms.dom_id(name) if found is not None else "plan-form"


def _label(inputs: list[forms.Input], name: str, lang: str) -> str:
    found = next((i for i in inputs if i.name == name), None)
    return (found.label[1] if lang == "en" else found.label[0]) if found else ""


@router.get("/work-plan", dependencies=[allow(Role.UNIT_HANDLER)])
async def work_plan(request: Request):
    """清理工作方案: the unit's filed plans and the form to file one."""
    return await _page(request, {}, [])


@router.post("/work-plan", dependencies=[allow(Role.UNIT_HANDLER)])
async def file_work_plan(request: Request):
    """File the unit's work plan with its document (备案)."""
    principal = principal_in(request)
    inputs = plan_inputs()
    posted = await attachments.read(request, principal, inputs)
    data = forms.parse(posted.pairs, inputs)
    attached = await attachments.names_of(request, principal, data)
    errors: list[forms.FieldError] = []
    try:
        plan = WorkPlanIn.model_validate(data)
    except ValidationError as exc:
        errors = forms.field_errors(exc)
    if posted.errors or errors:
        return await _page(request, data, posted.errors + errors, attached=attached,
                           status=posted.status if posted.errors else 422)
    try:
        await file_plan(request, principal, plan)
    except (RemoteCallError, HTTPException) as exc:
        refusal = refusal_from_reply(exc.error) if isinstance(exc, RemoteCallError) \
            else _door_refusal(exc)
        if refusal is None:
            raise
        name = refusal.field if refusal.field in {i.name for i in inputs} else "_form"
        return await _page(request, data, [forms.FieldError(
            name, refusal.message_zh, refusal.message)], status=refusal.status,
            attached=attached)
    request.scope["session"]["flash_plan"] = True
    return see_other(PATH)
