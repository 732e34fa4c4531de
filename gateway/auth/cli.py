"""``python -m gateway.auth.cli``: the operators' account commands (运维账号命令).

Outside development there are no demo accounts: the first county office account, and the
accounts the county office may not make (the contact custodian 联系方式保管人, operators),
are made here, on the gateway's machine, with the gateway's settings (``GATEWAY_DATABASE_URL``
or ``DATA_DIR``). Each gets a one-time temporary password, printed once; its person sets their
own at the first sign-in. Recorded in the account events as done by ``cli:<os user>``.

    python -m gateway.auth.cli create USERNAME --role county_office --org org_county_office \\
        --name 张三
    python -m gateway.auth.cli reset USERNAME
"""
from __future__ import annotations

import argparse
import getpass
import sys

from contracts.campaign import load_campaign
from gateway.auth import admin
from gateway.auth.accounts import AccountStore
from gateway.auth.roles import Role
from kit.db import make_engine
from kit.settings import Settings


def main(argv: list[str] | None = None, settings: Settings | None = None,
         store: AccountStore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.auth.cli",
                                     description="operators' account commands")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an account (any staff role)")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in Role
                                                          if r is not Role.PUBLIC])
    create.add_argument("--org", default=None, help="organization code (campaign file)")
    create.add_argument("--name", required=True, help="the person's name")
    reset = commands.add_parser("reset", help="reset a password (a one-time temporary one)")
    reset.add_argument("username")
    args = parser.parse_args(argv)
    settings = settings or Settings()
    if store is None:
        store = AccountStore(make_engine(settings.database_url()))
        store.create_schema()
    actor = f"cli:{getpass.getuser()}"[:64]
    temporary = admin.temporary_password()
    if args.command == "create":
        role = Role(args.role)
        campaign = load_campaign(settings.campaign_file)
        refusals = [r for r in admin.check_new_account(args.username, role, args.org, args.name,
                                                       campaign)
                    if r.code != "role_not_manageable"]  # operators make every role
        refusals += [r for r in [admin.check_org(role, args.org, campaign)]
                     if r is not None and role not in admin.MANAGEABLE_ROLES]
        if refusals:
            for r in refusals:
                print(f"refused: {r.field}: {r.message} / {r.message_zh}", file=sys.stderr)
            return 2
        try:
            store.create(args.username, temporary, role, args.org, args.name,
                         must_change_password=True, created_by=actor)
        except ValueError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
    elif store.reset_password(args.username, temporary, actor) is None:
        print(f"refused: no account {args.username!r}", file=sys.stderr)
        return 2
    print(f"{admin.normalize_username(args.username)}: temporary password {temporary} "
          "(shown once; the person sets their own at the first sign-in)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
