"""The workbench's sentences, Chinese first, English beside (界面文字)."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "site.name": ("专项清理工作台", "Campaign workbench"),
    "site.skip": ("跳到主要内容", "Skip to main content"),
    "site.nav": ("工作台导航", "Workbench navigation"),
    "site.switch": ("English", "中文"),
    "site.switch_label": ("Read the workbench in English", "切换为中文"),
    "site.sign_out": ("退出登录", "Sign out"),
    "site.signed_in_as": ("当前登录", "Signed in as"),
    "site.unit": ("单位", "Unit"),
    "site.role": ("角色", "Role"),
    "site.no_unit": ("—", "—"),
    "nav.home": ("工作台首页", "Home"),
    "nav.inbox": ("待办问题", "Problems"),
    "sign_in.title": ("工作人员登录", "Staff sign-in"),
    "sign_in.lead": ("请使用县委办公室分配的账号登录。", "Sign in with the account the county office gave you."),
    "sign_in.username": ("用户名", "Username"),
    "sign_in.password": ("密码", "Password"),
    "sign_in.submit": ("登录", "Sign in"),
    "sign_in.required": ("请填写此项。", "Please fill this in."),
    "sign_in.wrong": ("用户名或密码错误。", "Wrong username or password."),
    "sign_in.public": ("群众举报请前往公开举报平台", "To report a problem, use the public reporting platform"),
    "sign_in.ended": ("登录已失效（已退出、已超时或账号已停用），请重新登录。",
                      "Your session has ended (signed out, timed out or deactivated); "
                      "sign in again."),
    "sign_in.signed_out": ("您已退出登录。", "You have signed out."),
    "errors.title": ("出现了以下问题", "There is a problem"),
    "home.title": ("工作台首页", "Workbench home"),
    "home.welcome": ("您好，{name}", "Hello, {name}"),
    "home.inbox_lead": ("查看交办给本单位的问题、办理期限和需要提交的材料。",
                        "See the problems dispatched to your unit, their deadlines and what "
                        "is due."),
    "home.ledger_lead": ("查看职责范围内的问题台账。", "See the ledger within your scope."),
    "home.none_yet": ("您所在角色的工作页面将陆续开放；目前可通过接口办理。",
                      "The pages for your role are coming; for now use the API."),
    "inbox.title": ("待办问题", "Problems"),
    "inbox.lead_unit": ("交办给本单位的问题。红灯为已超期，黄灯为即将到期。",
                        "Problems dispatched to your unit. Red: overdue; yellow: due soon."),
    "inbox.lead_all": ("职责范围内的问题。红灯为已超期，黄灯为即将到期。",
                       "Problems within your scope. Red: overdue; yellow: due soon."),
    "inbox.filter": ("筛选", "Filter"),
    "inbox.state": ("状态", "State"),
    "inbox.all_states": ("全部状态", "All states"),
    "inbox.apply": ("筛选", "Apply"),
    "inbox.count": ("共 {total} 件，第 {first}–{last} 件", "{total} in all, {first}–{last} shown"),
    "inbox.empty": ("没有符合条件的问题。", "No problems match."),
    "inbox.problem": ("问题", "Problem"),
    "inbox.unit": ("承办单位", "Unit"),
    "inbox.due": ("办理期限", "Due"),
    "inbox.light": ("督办灯", "Light"),
    "inbox.prev": ("上一页", "Previous"),
    "inbox.next": ("下一页", "Next"),
    "inbox.pages": ("分页", "Pages"),
    "problem.facts": ("基本情况", "Facts"),
    "problem.state": ("状态", "State"),
    "problem.unit": ("承办单位", "Unit"),
    "problem.category": ("问题类别", "Category"),
    "problem.kind": ("问题性质", "Kind"),
    "problem.channel": ("线索来源", "Channel"),
    "problem.registered_at": ("登记时间", "Registered"),
    "problem.description": ("问题描述", "Description"),
    "problem.due": ("办理期限", "What is due"),
    "problem.due_on": ("到期日", "Due on"),
    "problem.waiting_on": ("等待", "Waiting on"),
    "problem.respond_by": ("答复期限（查实或查否）", "Answer by (verify or unfounded)"),
    "problem.rectify_by": ("整改时限", "Rectify by"),
    "problem.decide_by": ("审核期限", "Decision due"),
    "problem.suspended": ("已中止计时", "Timers suspended"),
    "problem.plan": ("整改计划", "Rectification plan"),
    "problem.clues": ("问题线索", "Clues"),
    "problem.clue": ("线索编号", "Clue"),
    "problem.linked_at": ("关联时间", "Linked"),
    "problem.timeline": ("办理过程", "Timeline"),
    "problem.actions": ("可办理的操作", "What you can do"),
    "problem.no_actions": ("当前状态下您无需办理。", "Nothing for you to do in this state."),
    "problem.hash": ("记录摘要", "Entry hash"),
    "problem.by": ("操作人", "By"),
    "action.submit": ("提交", "Submit"),
    "action.cancel": ("返回问题", "Back to the problem"),
    "action.add_row": ("再添加一项", "Add another"),
    "action.remove_row": ("删除此项", "Remove"),
    "action.optional": ("（选填）", "(optional)"),
    "action.required_note": ("标 * 的为必填项。", "Fields marked * are required."),
    "action.acting": ("代为办理", "Acting for the unit"),
    "action.acting_lead": ("您不是该单位的承办人，办理此项须注明代为办理的单位和理由，记入办理过程。",
                           "You are not the unit's handler: name the unit you act for and why; "
                           "the history keeps both."),
    "action.attachments": ("附件", "Attachments"),
    "action.row": ("第 {n} 项", "Item {n}"),
    "action.done": ("已提交：{action}。", "Submitted: {action}."),
    "action.refused": ("未能提交：{message}", "Not submitted: {message}"),
    "error.title": ("无法打开此页", "This page cannot be shown"),
    "error.back": ("返回工作台首页", "Back to the workbench"),
    "error.forbidden": ("您的角色无权打开此页。", "Your role may not open this page."),
    "error.not_found": ("未找到，或您无权查看。", "Not found, or not visible to you."),
    "error.unavailable": ("后台服务暂不可用，请稍后重试。", "A service is not available; try again shortly."),
    "error.too_many": ("尝试次数过多，请 {seconds} 秒后再试。", "Too many attempts; try again in {seconds} s."),
    "error.busy": ("登录人数过多，请稍后再试。", "Too many sign-ins at once; try again shortly."),
}


def text(key: str, lang: str, **values) -> str:
    zh, en = TEXTS.get(key, (key, key))
    chosen = en if lang == "en" else zh
    return chosen.format(**values) if values else chosen

from gateway.workbench.texts_accounts import TEXTS as _T_ACCOUNTS; TEXTS.update(_T_ACCOUNTS)  # noqa: E402,E702
from gateway.workbench.texts_reports import TEXTS as _T_REPORTS; TEXTS.update(_T_REPORTS)  # noqa: E402,E702
from gateway.workbench.texts_notices import TEXTS as _T_NOTICES; TEXTS.update(_T_NOTICES)  # noqa: E402
from gateway.workbench.texts_dashboard import TEXTS as _T_DASHBOARD; TEXTS.update(_T_DASHBOARD)  # noqa: E402,E702
from gateway.workbench.texts_actions import TEXTS as _T_ACTIONS; TEXTS.update(_T_ACTIONS)  # noqa: E402,E702
from gateway.workbench.texts_bulletins import TEXTS as _T_BULLETINS; TEXTS.update(_T_BULLETINS)  # noqa: E402,E702
from gateway.workbench.texts_ledger import TEXTS as _T_LEDGER; TEXTS.update(_T_LEDGER)  # noqa: E402,E702
from gateway.workbench.texts_files import TEXTS as _T_FILES; TEXTS.update(_T_FILES)  # noqa: E402,E702
from gateway.workbench.texts_spot_checks import TEXTS as _T_SPOT; TEXTS.update(_T_SPOT)  # noqa: E402,E702
from gateway.workbench.texts_accountability import TEXTS as _T_LADDER; TEXTS.update(_T_LADDER)  # noqa: E402,E702
from gateway.workbench.texts_partners import TEXTS as _T_PARTNERS; TEXTS.update(_T_PARTNERS)  # noqa: E402,E702
