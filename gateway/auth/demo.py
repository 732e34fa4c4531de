"""Demo accounts (演示账号) for local development only: one per staff role.

The passwords are public, fixed development strings. Seeding refuses to run outside
development, and ``demo_accounts_usable`` lets start-up refuse a non-development store that
still accepts them.
"""
from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.accounts import AccountStore
from gateway.auth.roles import Role

# Placeholder organization codes; to be aligned with the organization list.
ORG_COUNTY_OFFICE = "org_county_office"              # 县委办公室
ORG_EDUCATION_BUREAU = "org_education_bureau"        # 县教育局
ORG_SUPERVISION_BUREAU = "org_supervision_bureau"    # 县监察局
ORG_DEMO_SCHOOL = "org_sch_yanshan_high"             # 盐山中学
ORG_DEMO_GOV_DEPT = "org_gd_public_security"         # 县公安局


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    org_code: str | None
    display_name: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("county", "dev-county-2017!", Role.COUNTY_OFFICE, ORG_COUNTY_OFFICE,
                "县委办公室（演示）"),
    DemoAccount("supervisor-edu", "dev-supervisor-edu-2017!", Role.SUPERVISOR,
                ORG_EDUCATION_BUREAU, "县教育局（演示）"),
    DemoAccount("supervisor-jc", "dev-supervisor-jc-2017!", Role.SUPERVISOR,
                ORG_SUPERVISION_BUREAU, "县监察局（演示）"),
    DemoAccount("handler-school1", "dev-handler-school1-2017!", Role.UNIT_HANDLER,
                ORG_DEMO_SCHOOL, "盐山中学承办人（演示）"),
    DemoAccount("handler-police", "dev-handler-police-2017!", Role.UNIT_HANDLER,
                ORG_DEMO_GOV_DEPT, "县公安局承办人（演示）"),
    DemoAccount("media", "dev-media-2017!", Role.MEDIA, None, "县委宣传部媒体组（演示）"),
    DemoAccount("spotcheck", "dev-spotcheck-2017!", Role.SPOT_CHECK, None, "抽查组（演示）"),
    DemoAccount("ops", "dev-ops-2017!", Role.OPS, None, "运维（演示）"),
    DemoAccount("invited-supervisor", "dev-invited-supervisor-2017!", Role.INVITED_SUPERVISOR,
                None, "特邀监督员（演示）"),
    DemoAccount("partner-conduct", "dev-partner-conduct-2017!", Role.PARTNER, None,
                "县级机关作风整顿公开举报平台（演示）"),
    DemoAccount("custodian", "dev-custodian-2017!", Role.CUSTODIAN, None,
                "县纪委联系方式保管人（演示）"),
)


def seed_demo_accounts(store: AccountStore, settings) -> list[str]:
    """Create the missing demo accounts; return the usernames created. Development only."""
    if settings.environment != "development":
        raise RuntimeError("demo accounts are for development only "
                           f"(ENVIRONMENT={settings.environment})")
    created = []
    for demo in DEMO_ACCOUNTS:
        if store.get_by_username(demo.username) is None:
            store.create(demo.username, demo.password, demo.role, demo.org_code,
                         demo.display_name)
            created.append(demo.username)
    return created


DEMO_PARTNER_CHANNELS = {"partner-conduct": ("partner_conduct_platform",)}
"""The demo partner's channels (a partner account enters clues only on its own)."""


def seed_demo_partners(partners) -> None:
    """Give a demo partner that has no channels yet its own (``PartnerStore``)."""
    for username, channels in DEMO_PARTNER_CHANNELS.items():
        partner = partners.get(username)
        if partner is not None and not partner.channels:
            partners.configure(partner.account, list(channels), None, None, "demo")


def demo_accounts_usable(store: AccountStore) -> list[str]:
    """Usernames of demo accounts that still sign in with their public password."""
    return [d.username for d in DEMO_ACCOUNTS
            if store.get_by_username(d.username) is not None
            and store.check_password(d.username, d.password) is not None]
