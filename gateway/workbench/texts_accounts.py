"""The account pages' sentences (账号与人员), Chinese first, English beside."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav.accounts": ("账号管理", "Accounts"),
    "nav.heads": ("主要负责同志", "Principal heads"),
    "nav.activity": ("操作记录", "Activity"),
    "acc.title": ("账号管理", "Accounts"),
    "acc.lead": ("为各单位创建、停用和恢复账号，重置密码。新账号和重置后的密码均为一次性临时密码，"
                 "本人下次登录时须设置新密码。",
                 "Create, deactivate and reactivate units' accounts, and reset passwords. New "
                 "accounts and reset passwords get a one-time temporary password: the person "
                 "sets their own at the next sign-in."),
    "acc.new": ("新建账号", "New account"),
    "acc.import": ("从表格批量导入", "Import from a spreadsheet"),
    "acc.filter": ("筛选账号", "Filter accounts"),
    "acc.org": ("所属单位", "Unit"),
    "acc.all_orgs": ("全部单位", "All units"),
    "acc.no_org": ("（不隶属单位）", "(no unit)"),
    "acc.role": ("角色", "Role"),
    "acc.all_roles": ("全部角色", "All roles"),
    "acc.status": ("状态", "Status"),
    "acc.all_status": ("全部", "All"),
    "acc.active": ("正常", "Active"),
    "acc.inactive": ("已停用", "Deactivated"),
    "acc.must_change": ("待设置新密码", "Must set a new password"),
    "acc.q": ("用户名或姓名包含", "Username or name contains"),
    "acc.apply": ("筛选", "Apply"),
    "acc.count": ("共 {total} 个账号，第 {first}–{last} 个", "{total} accounts, {first}–{last} shown"),
    "acc.empty": ("没有符合条件的账号。", "No accounts match."),
    "acc.username": ("用户名", "Username"),
    "acc.display_name": ("姓名", "Name"),
    "acc.actions": ("操作", "Actions"),
    "acc.deactivate": ("停用", "Deactivate"),
    "acc.reactivate": ("恢复", "Reactivate"),
    "acc.reset": ("重置密码", "Reset password"),
    "acc.not_manageable": ("由运维管理", "Managed by operators"),
    "acc.you": ("（本人）", "(you)"),
    "acc.create": ("创建账号", "Create account"),
    "acc.new_lead": ("承办人须选择承办单位（乡镇、部门、学校、企业），系统分管部门须选择分管部门，"
                     "县委办公室账号须选择县委办公室；其他角色不选单位。",
                     "A unit's handler needs a unit (township, department, school, enterprise), "
                     "a supervising body a body, a county office account the county office; "
                     "other roles take no unit."),
    "acc.username_hint": ("2-64 位小写字母、数字或 . _ -", "2-64 characters: a-z, 0-9, . _ -"),
    "acc.choose": ("请选择", "Choose"),
    "acc.back": ("返回账号列表", "Back to accounts"),
    "acc.confirm.deactivate": ("确认停用账号“{name}”（{username}）？停用后该账号不能登录，"
                               "已登录的会话和令牌立即失效。",
                               "Deactivate “{name}” ({username})? The account can no longer "
                               "sign in; its sessions and tokens stop at once."),
    "acc.confirm.reactivate": ("确认恢复账号“{name}”（{username}）？恢复后可重新登录。",
                               "Reactivate “{name}” ({username})? It can sign in again."),
    "acc.confirm.reset": ("确认重置“{name}”（{username}）的密码？原密码立即失效，已登录的会话和令牌"
                          "立即失效；将生成一次性临时密码，本人下次登录时须设置新密码。",
                          "Reset the password of “{name}” ({username})? The old password, "
                          "sessions and tokens stop at once; a one-time temporary password is "
                          "made and the person sets a new one at the next sign-in."),
    "acc.confirm_button.deactivate": ("确认停用", "Deactivate"),
    "acc.confirm_button.reactivate": ("确认恢复", "Reactivate"),
    "acc.confirm_button.reset": ("确认重置密码", "Reset the password"),
    "acc.done.deactivate": ("已停用账号 {username}。", "Deactivated {username}."),
    "acc.done.reactivate": ("已恢复账号 {username}。", "Reactivated {username}."),
    "acc.temp.title": ("临时密码", "Temporary password"),
    "acc.temp.created": ("已创建账号 {username}。", "Account {username} created."),
    "acc.temp.reset": ("已重置 {username} 的密码。", "The password of {username} was reset."),
    "acc.temp.lead": ("请将下面的一次性临时密码当面或通过安全渠道交给本人。此密码只显示这一次；"
                      "本人用它登录后须立即设置新密码。",
                      "Hand this one-time temporary password to the person in person or "
                      "through a safe channel. It is shown only this once; after signing in "
                      "with it they must set their own."),
    "imp.title": ("从表格批量导入账号", "Import accounts from a spreadsheet"),
    "imp.lead": ("下载导入模板，按模板填写用户名、姓名、角色和所属单位后上传。只要有一行有误，"
                 "默认不导入任何账号；可选择只导入无误的行。已存在且角色、单位相同的账号不会重复创建。",
                 "Download the template, fill in username, name, role and unit, and upload "
                 "it. If any row is wrong nothing is imported, unless you choose to import "
                 "the valid rows. Accounts that exist with the same role and unit are not "
                 "created twice."),
    "imp.template": ("下载账号导入模板（.xlsx）", "Download the account template (.xlsx)"),
    "imp.file": ("填好的模板文件（.xlsx）", "The filled template (.xlsx)"),
    "imp.valid_rows": ("有误的行跳过，只导入无误的行", "Skip wrong rows; import the valid rows"),
    "imp.submit": ("上传并导入", "Upload and import"),
    "imp.refused": ("共 {rows} 行，其中 {bad} 行有误，未导入任何账号。请改正后重新上传，或勾选“只导入无误的行”。",
                    "{bad} of {rows} rows are wrong; nothing was imported. Correct them and "
                    "upload again, or choose to import the valid rows."),
    "imp.result": ("已创建 {created} 个账号；{existing} 个已存在，未重复创建；{bad} 行有误，未导入。",
                   "{created} accounts created; {existing} existed already and were not created "
                   "again; {bad} rows with errors were not imported."),
    "imp.errors": ("有误的行", "Rows with errors"),
    "imp.row": ("行", "Row"),
    "imp.column": ("列", "Column"),
    "imp.problem": ("问题", "Problem"),
    "imp.created": ("已创建的账号（临时密码只显示这一次）", "Accounts created (temporary passwords are shown only this once)"),
    "imp.existing": ("已存在、未重复创建的账号", "Accounts that exist already (not created again)"),
    "imp.none_created": ("没有新建账号。", "No account was created."),
    "heads.title": ("各单位主要负责同志（第一责任人）", "Principal heads (first responsible persons)"),
    "heads.lead": ("记录各单位、各分管部门的主要负责同志，用于问责。每次变更都保留记录，不覆盖原记录。",
                   "The principal head of each unit and supervising body, for accountability. "
                   "Every change is kept; nothing is overwritten."),
    "heads.org": ("单位", "Unit"),
    "heads.name": ("姓名", "Name"),
    "heads.title_col": ("职务", "Title"),
    "heads.account": ("对应账号（选填）", "Their account (optional)"),
    "heads.set_at": ("记录时间", "Recorded"),
    "heads.set_by": ("记录人", "Recorded by"),
    "heads.none": ("尚未记录", "Not recorded yet"),
    "heads.edit": ("记录/变更", "Record or change"),
    "heads.current": ("现任", "Current"),
    "heads.history": ("变更记录", "History"),
    "heads.no_history": ("暂无记录。", "Nothing recorded yet."),
    "heads.form": ("记录新的主要负责同志", "Record a new principal head"),
    "heads.submit": ("保存", "Save"),
    "heads.saved": ("已记录。", "Recorded."),
    "heads.back": ("返回单位列表", "Back to the units"),
    "act.title": ("操作记录", "Activity"),
    "act.lead": ("账号的创建、停用、恢复、密码重置与修改、主要负责同志变更、登录与登录失败，按时间倒序。"
                 "对问题的办理操作记录在各问题的办理过程中。",
                 "Accounts created, deactivated, reactivated, passwords reset and changed, "
                 "principal heads set, sign-ins and failed sign-ins, newest first. Actions on "
                 "problems are in each problem's timeline."),
    "act.account": ("账号", "Account"),
    "act.actor": ("操作人", "By"),
    "act.kind": ("事项", "What"),
    "act.all_kinds": ("全部事项", "Everything"),
    "act.at": ("时间", "When"),
    "act.detail": ("说明", "Detail"),
    "act.self": ("本人", "themself"),
    "act.count": ("共 {total} 条，第 {first}–{last} 条", "{total} in all, {first}–{last} shown"),
    "act.empty": ("没有符合条件的记录。", "Nothing matches."),
    "pw.title": ("设置新密码", "Set your new password"),
    "pw.lead": ("您的密码已被重置或为初始密码。请设置新密码后继续使用工作台。",
                "Your password was reset or is a first one. Set your own password to go on."),
    "pw.rules": ("至少 10 个字符，不能与用户名相同，不能由少数几个字符重复组成。",
                 "At least 10 characters, not the username, not a few characters repeated."),
    "pw.new": ("新密码", "New password"),
    "pw.confirm": ("再次输入新密码", "New password again"),
    "pw.submit": ("设置新密码", "Set the new password"),
    "pw.same_as_old": ("新密码不能与临时密码相同。", "The new password must differ from the temporary one."),
}
