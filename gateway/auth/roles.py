"""Roles (角色) of the platform. Every endpoint names the roles that may call it.

The roles themselves are the platform's vocabulary (``contracts.vocabulary.Role``, re-exported
here); the gateway adds their Chinese labels and the groups its guards use."""
from __future__ import annotations

from contracts.vocabulary import Role

__all__ = ["ORG_BOUND_ROLES", "ROLE_LABELS_ZH", "STAFF_ROLES", "Role"]

ROLE_LABELS_ZH: dict[Role, str] = {
    Role.PUBLIC: "公众",
    Role.UNIT_HANDLER: "单位承办人",
    Role.SUPERVISOR: "系统分管部门",
    Role.COUNTY_OFFICE: "县委办公室",
    Role.MEDIA: "县委宣传部媒体组",
    Role.SPOT_CHECK: "抽查组",
    Role.OPS: "运维",
    Role.INVITED_SUPERVISOR: "特邀监督员",
    Role.PARTNER: "协作平台",
    Role.CUSTODIAN: "联系方式保管人(纪检)",
}

STAFF_ROLES: frozenset[Role] = frozenset(r for r in Role if r is not Role.PUBLIC)

# Roles whose accounts belong to exactly one organization (单位).
ORG_BOUND_ROLES: frozenset[Role] = frozenset({Role.UNIT_HANDLER, Role.SUPERVISOR})
