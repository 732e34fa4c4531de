"""Accounts, sign-in and deny-by-default roles for the gateway (账号、登录与角色权限)."""
from gateway.auth.accounts import Account, AccountStore
from gateway.auth.demo import DEMO_ACCOUNTS, demo_accounts_usable, seed_demo_accounts
from gateway.auth.guards import (
    ANONYMOUS, Principal, PrincipalDep, RoleGuard, allow, current_principal,
    enforce_declared_roles, error, route_roles,
)
from gateway.auth.roles import ROLE_LABELS_ZH, STAFF_ROLES, Role
from gateway.auth.router import router

__all__ = [
    "ANONYMOUS", "Account", "AccountStore", "DEMO_ACCOUNTS", "Principal", "PrincipalDep",
    "ROLE_LABELS_ZH", "Role", "RoleGuard", "STAFF_ROLES", "allow", "current_principal",
    "demo_accounts_usable", "enforce_declared_roles", "error", "route_roles", "router",
    "seed_demo_accounts",
]
