"""Roles (角色) of the platform. Every endpoint names the roles that may call it."""
from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    PUBLIC = "public"                # anyone, no token (群众、举报人)
    UNIT_HANDLER = "unit_handler"    # a unit's handler (承办人), tied to one organization
    SUPERVISOR = "supervisor"        # a supervising body (系统分管部门), tied to its organization
    COUNTY_OFFICE = "county_office"  # the county party office (县委办公室)
    MEDIA = "media"                  # the publicity department's media team (县委宣传部)
    SPOT_CHECK = "spot_check"        # the spot-check team (抽查组)
    OPS = "ops"                      # operations (运维)


ROLE_LABELS_ZH: dict[Role, str] = {
    Role.PUBLIC: "公众",
    Role.UNIT_HANDLER: "单位承办人",
    Role.SUPERVISOR: "系统分管部门",
    Role.COUNTY_OFFICE: "县委办公室",
    Role.MEDIA: "县委宣传部媒体组",
    Role.SPOT_CHECK: "抽查组",
    Role.OPS: "运维",
}

STAFF_ROLES: frozenset[Role] = frozenset(r for r in Role if r is not Role.PUBLIC)

# Roles whose accounts belong to exactly one organization (单位).
ORG_BOUND_ROLES: frozenset[Role] = frozenset({Role.UNIT_HANDLER, Role.SUPERVISOR})
