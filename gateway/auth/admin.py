"""Account administration rules (账号管理规则), as plain Python.

Who administers: the county office (县委办公室, ``Role.COUNTY_OFFICE``). The plan makes the
county office the campaign's organizer (牵头单位), and its accounts are few and named; a
narrower "admin" flag would be one more thing to grant, audit and lose, so every county office
account administers. What it administers is bounded instead (``MANAGEABLE_ROLES``): it never
creates, resets, deactivates or reactivates a contact custodian's (联系方式保管人, appointed by
the discipline commission 纪委) or an operator's account, since resetting the custodian's
password would let the county office open reporters' contacts; those accounts are made by
the operators. Nobody administers their own account (they change their own password).

An organization-bound role needs an organization of the right kind from the campaign file:
a unit's handler (承办人) a unit (乡镇, 部门, 学校, 企业), a supervising body's account a
supervising body (分管部门), a county office account the county office. Other roles belong to
no organization.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from gateway.auth.roles import Role

ADMIN_ROLES: frozenset[Role] = frozenset({Role.COUNTY_OFFICE})
MANAGEABLE_ROLES: frozenset[Role] = frozenset({
    Role.UNIT_HANDLER, Role.SUPERVISOR, Role.COUNTY_OFFICE, Role.MEDIA, Role.SPOT_CHECK,
    Role.INVITED_SUPERVISOR, Role.PARTNER})
UNIT_TYPES: frozenset[str] = frozenset({
    "township", "party_department", "government_department", "school", "enterprise"})
# role -> the organization types its accounts may belong to (required when listed)
ORG_TYPES_FOR_ROLE: dict[Role, frozenset[str]] = {
    Role.UNIT_HANDLER: UNIT_TYPES,
    Role.SUPERVISOR: frozenset({"supervisor"}),
    Role.COUNTY_OFFICE: frozenset({"county_office"}),
}
# role -> the organization types its accounts MAY name (optional): a spot-check re-checker
# drawn from a unit or body (抽调人员) names it, so that they step aside from its items (回避).
OPTIONAL_ORG_TYPES_FOR_ROLE: dict[Role, frozenset[str]] = {
    Role.SPOT_CHECK: UNIT_TYPES | {"supervisor", "county_office"},
}
ORG_TYPE_ZH = {"unit": "承办单位(乡镇、部门、学校、企业)", "supervisor": "系统分管部门",
               "county_office": "县委办公室"}

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME = 200
TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to misread (no 0/o, 1/l/i)


@dataclass(frozen=True)
class Refusal:
    """One reason an account change is refused: the input it is about, code, both languages."""

    field: str
    code: str
    message: str
    message_zh: str


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def may_administer(role: Role) -> bool:
    return role in ADMIN_ROLES


def may_manage(admin_username: str, target_username: str, target_role: Role) -> Refusal | None:
    """Whether an administrator may change this account (deactivate, reactivate, reset)."""
    if normalize_username(admin_username) == normalize_username(target_username):
        return Refusal("username", "cannot_manage_self",
                       "an administrator cannot change their own account this way",
                       "不能对自己的账号执行此操作")
    if target_role not in MANAGEABLE_ROLES:
        return _role_not_manageable(target_role)
    return None


def _role_not_manageable(role: Role) -> Refusal:
    return Refusal("role", "role_not_manageable",
                   f"accounts of role {role.value} are managed by the operators, not the "
                   "county office", "该角色的账号由运维人员管理,县委办公室不能创建或变更")


def check_username(username: str) -> Refusal | None:
    if not USERNAME_RE.match(normalize_username(username)):
        return Refusal("username", "invalid_username",
                       "username must be 2-64 characters: a-z, 0-9, '.', '_', '-', starting "
                       "with a letter or digit",
                       "用户名应为 2-64 位小写字母、数字或 . _ -,以字母或数字开头")
    return None


def check_password(username: str, password: str) -> Refusal | None:
    """The password rules (密码规则): long enough, not the username, not one repeated char."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return Refusal("password", "weak_password",
                       f"password is too weak: use at least {MIN_PASSWORD_LENGTH} characters",
                       f"密码强度不够:至少 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        return Refusal("password", "weak_password",
                       f"password is too long: at most {MAX_PASSWORD_LENGTH} characters",
                       f"密码过长:最多 {MAX_PASSWORD_LENGTH} 个字符")
    if password.strip().lower() == normalize_username(username) or len(set(password)) < 4:
        return Refusal("password", "weak_password",
                       "password is too weak: not the username, not one repeated character",
                       "密码强度不够:不能与用户名相同,不能由少数几个字符重复组成")
    return None


def check_new_account(username: str, role: str | Role, org_code: str | None,
                      display_name: str | None, campaign) -> list[Refusal]:
    """Every reason the county office may not create this account (empty: it may)."""
    refusals: list[Refusal] = []
    if (found := check_username(username)) is not None:
        refusals.append(found)
    try:
        role = Role(role)
    except ValueError:
        refusals.append(Refusal("role", "unknown_role", f"unknown role {role!r}", "未知的角色"))
        return refusals
    if role is Role.PUBLIC:
        refusals.append(Refusal("role", "unknown_role", "the public role has no accounts",
                                "公众不使用账号"))
        return refusals
    if role not in MANAGEABLE_ROLES:
        refusals.append(_role_not_manageable(role))
        return refusals
    if display_name is not None and len(display_name.strip()) > MAX_DISPLAY_NAME:
        refusals.append(Refusal("display_name", "invalid_input",
                                f"the name has at most {MAX_DISPLAY_NAME} characters",
                                f"姓名最多 {MAX_DISPLAY_NAME} 个字符"))
    if (found := check_org(role, org_code, campaign)) is not None:
        refusals.append(found)
    return refusals


def check_org(role: Role, org_code: str | None, campaign) -> Refusal | None:
    """An org-bound role needs an existing organization of the right type; others none."""
    org_code = (org_code or "").strip() or None
    wanted = ORG_TYPES_FOR_ROLE.get(role)
    optional = OPTIONAL_ORG_TYPES_FOR_ROLE.get(role)
    if optional is not None:
        if org_code is None:
            return None
        org = campaign.organization(org_code)
        if org is None:
            return Refusal("org_code", "unknown_unit", f"no organization {org_code!r}", "未知的单位")
        if org.type not in optional:
            return Refusal("org_code", "org_not_for_role",
                           f"{org_code} is a {org.type}; role {role.value} may name a unit or "
                           "a supervising body", f"“{org.name_zh}”不是该角色可隶属的单位类型")
        return None
    if wanted is None:
        if org_code is not None:
            return Refusal("org_code", "org_not_for_role",
                           f"accounts of role {role.value} belong to no organization",
                           "该角色的账号不隶属于任何单位,请不要填写单位")
        return None
    kind_zh = ORG_TYPE_ZH["unit" if wanted is UNIT_TYPES else next(iter(wanted))]
    if org_code is None:
        return Refusal("org_code", "org_required",
                       f"role {role.value} needs an organization", f"该角色须选择所属单位:{kind_zh}")
    org = campaign.organization(org_code)
    if org is None:
        return Refusal("org_code", "unknown_unit", f"no organization {org_code!r}", "未知的单位")
    if org.type not in wanted:
        return Refusal("org_code", "org_not_for_role",
                       f"{org_code} is a {org.type}; role {role.value} needs one of "
                       f"{', '.join(sorted(wanted))}",
                       f"“{org.name_zh}”不是该角色可隶属的单位类型,应为{kind_zh}")
    return None


def temporary_password(length: int = 12) -> str:
    """A one-time password the person replaces at their next sign-in, in groups of four
    (``abcd-efgh-jkmn``); random (``secrets``), and always passing ``check_password``."""
    while True:
        raw = "".join(secrets.choice(TEMP_ALPHABET) for _ in range(length))
        if len(set(raw)) >= 6:
            return "-".join(raw[i:i + 4] for i in range(0, length, 4))


def check_new_password(username: str, current: str, new: str, confirm: str | None = None
                       ) -> Refusal | None:
    """Setting one's own new password: the rules, not the old one, typed twice alike."""
    if confirm is not None and new != confirm:
        return Refusal("confirm", "passwords_differ", "the two new passwords differ",
                       "两次输入的新密码不一致")
    if (found := check_password(username, new)) is not None:
        return Refusal("new_password", found.code, found.message, found.message_zh)
    if new == current:
        return Refusal("new_password", "password_not_changed",
                       "the new password must differ from the current one",
                       "新密码不能与当前密码相同")
    return None


# ── principal heads (主要负责同志 / 第一责任人) ─────────────────────────────────────────────────

MAX_HEAD_NAME = 100
MAX_HEAD_TITLE = 100


def check_principal_head(org_code: str, name: str, title: str, account: dict | None,
                         account_username: str | None, campaign) -> list[Refusal]:
    """A unit's or body's principal head: an organization of the campaign, a name and a
    title; the account, if named, must exist and belong to that organization."""
    refusals = []
    if campaign.organization(org_code) is None:
        refusals.append(Refusal("org_code", "unknown_unit", f"no organization {org_code!r}",
                                "未知的单位"))
    for field, value, most, zh in (("name", name, MAX_HEAD_NAME, "姓名"),
                                   ("title", title, MAX_HEAD_TITLE, "职务")):
        value = (value or "").strip()
        if not value:
            refusals.append(Refusal(field, "invalid_input", f"{field} is required",
                                    f"请填写{zh}"))
        elif len(value) > most:
            refusals.append(Refusal(field, "invalid_input", f"{field} has at most {most} "
                                    "characters", f"{zh}最多 {most} 个字符"))
    if account_username:
        if account is None:
            refusals.append(Refusal("account_username", "unknown_account", "no such account",
                                    "账号不存在"))
        elif account.get("org_code") != org_code:
            refusals.append(Refusal("account_username", "account_not_of_org",
                                    "the account does not belong to this organization",
                                    "该账号不属于此单位"))
    return refusals


# ── account events (谁在何时做了什么) ────────────────────────────────────────────────────────

EVENT_KINDS: dict[str, tuple[str, str]] = {
    "created": ("创建账号", "account created"),
    "deactivated": ("停用账号", "account deactivated"),
    "reactivated": ("恢复账号", "account reactivated"),
    "password_reset": ("重置密码", "password reset"),
    "password_changed": ("修改密码", "password changed"),
    "principal_head_set": ("设置主要负责同志", "principal head set"),
    "signed_in": ("登录", "signed in"),
    "sign_in_failed": ("登录失败", "sign-in failed"),
    "partner_configured": ("设置协作平台", "partner platform configured"),
    "partner_key_issued": ("签发协作平台密钥", "partner API key issued"),
}
