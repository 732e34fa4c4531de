"""Who may enter a clue on which channel, at the gateway's door (渠道权限).

The campaign file names each staff-only channel's users; ``contracts.clue_rules`` applies
that. Here a refusal of the caller becomes a bilingual 403 naming the channel, before any
other problem with the clue is reported (422).
"""
from __future__ import annotations

from contracts.clue_rules import ClueProblem, Submitter, check_clue
from gateway.auth.principal import Principal
from gateway.errors import problem


_PUBLIC = Submitter()


def submitter_of(principal: Principal) -> Submitter:
    if principal.is_anonymous:  # the busiest case: nothing to build
        return _PUBLIC
    return Submitter(role=principal.role.value, org_code=principal.org_code)


def check_clue_at_door(campaign, principal: Principal, **clue) -> list[ClueProblem]:
    """The clue's problems (for a 422); raises a 403 when the caller may not use the channel,
    or not about that unit. ``clue``: the keyword arguments of ``check_clue``."""
    problems = check_clue(campaign, submitter=submitter_of(principal), **clue)
    if not problems:
        return problems
    refused = [p for p in problems if p.status == 403]
    if refused:
        first = refused[0]
        exc = problem(403, first.code, first.message, first.message_zh, first.field)
        exc.detail["channel"] = clue.get("channel")
        raise exc
    return problems


def check_partner_channel(channel: str, own_channels: tuple[str, ...]) -> None:
    """A partner platform's account (协作平台) enters clues only on the channels the county
    office gave it, however it signs in (its API key through Open311, a password through
    the API): a bilingual 403 otherwise, before anything is stored."""
    if channel in own_channels:
        return
    exc = problem(403, "partner_channel_not_own",
                  f"a partner platform enters clues only on its own channels "
                  f"({', '.join(own_channels) or 'none given yet'}), not on '{channel}'",
                  "协作平台只能在县委办公室为其指定的渠道提交线索", "channel")
    exc.detail["channel"] = channel
    raise exc
