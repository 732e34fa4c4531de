"""What makes a clue acceptable (线索受理规则), checked against the campaign configuration.

Pure and shared: the gateway applies these at the door so a bad clue gets a 4xx and nothing
is written; intake and the ledger rely on what they let through. Who may use a channel is
the campaign file's word (``Channel.entered_by``, ``Channel.own_unit_only``): 自查 is a unit
reporting itself, 暗访 the county office and supervising bodies, 媒体曝光 the media team.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.campaign import ORG_BOUND_ROLES

PUBLIC = "public"  # the role of a caller without an account (群众、举报人)


@dataclass(frozen=True)
class Submitter:
    """Who enters a clue: a role (``"public"`` without an account) and, for staff bound to one
    organization, that organization's code."""

    role: str = PUBLIC
    org_code: str | None = None


@dataclass(frozen=True)
class ClueProblem:
    field: str
    code: str
    message: str
    message_zh: str
    status: int = 422  # 403 when the caller may not use the channel as asked


def check_clue(campaign, *, channel: str, subject_unit: str | None, category: str | None,
               kind: str | None, occurred_on: date | None, anonymous: bool,
               has_contact: bool, submitter: Submitter, today: date,
               has_identity: bool = False) -> list[ClueProblem]:
    """Every reason the clue cannot be accepted; empty when it can."""
    found = _channel_problems(campaign, channel, subject_unit, submitter)
    if subject_unit is not None and campaign.organization(subject_unit) is None:
        found.append(ClueProblem("subject_unit", "unknown_unit", f"unknown unit '{subject_unit}'",
                                 f"未知的单位“{subject_unit}”"))
    if category is not None and campaign.category(category) is None:
        found.append(ClueProblem("category", "unknown_category",
                                 f"unknown category '{category}'", f"未知的问题类别“{category}”"))
    if kind is not None and campaign.kind(kind) is None:
        found.append(ClueProblem("kind", "unknown_kind", f"unknown kind '{kind}'",
                                 f"未知的问题性质“{kind}”"))
    if occurred_on is not None and occurred_on > today:
        found.append(ClueProblem("occurred_on", "in_future", "the date lies in the future",
                                 "发生日期不能晚于今天"))
    if not anonymous and not has_contact:
        found.append(ClueProblem("reporter", "contact_required",
                                 "a named report needs a phone number or an e-mail address",
                                 "实名举报请至少留下电话或电子邮箱"))
    if anonymous and (has_contact or has_identity):
        found.append(ClueProblem("reporter", "anonymous_with_contact",
                                 "an anonymous report carries no contact details",
                                 "匿名举报不应填写联系方式"))
    return found


def _channel_problems(campaign, code: str, subject_unit: str | None,
                      submitter: Submitter) -> list[ClueProblem]:
    """May this caller enter a clue on this channel, about this unit? (deny by default)"""
    chan = campaign.channel(code)
    if chan is None:
        return [ClueProblem("channel", "unknown_channel", f"unknown channel '{code}'",
                            f"未知的线索来源渠道“{code}”")]
    if chan.open_to(submitter.role):
        if chan.own_unit_only:
            return _own_unit_problems(chan, subject_unit, submitter)
        return []
    if submitter.role == PUBLIC:
        return [ClueProblem("channel", "channel_not_public",
                            f"channel '{code}' is entered by staff only",
                            f"渠道“{chan.name_zh}”仅限工作人员录入")]
    return [ClueProblem("channel", "channel_not_for_role",
                        f"channel '{code}' is not open to the role {submitter.role}; "
                        f"only to: {', '.join(chan.entered_by)}",
                        f"渠道“{chan.name_zh}”不对您的角色开放", status=403)]


def _own_unit_problems(chan, subject_unit: str | None,
                       submitter: Submitter) -> list[ClueProblem]:
    if subject_unit is None:
        return [ClueProblem("subject_unit", "own_unit_required",
                            f"a clue on channel '{chan.code}' names the caller's own unit",
                            f"“{chan.name_zh}”线索须填写本单位为被反映单位")]
    if submitter.org_code is None or subject_unit != submitter.org_code:
        return [ClueProblem("subject_unit", "not_own_unit",
                            f"a clue on channel '{chan.code}' is about the caller's own unit "
                            f"only", f"“{chan.name_zh}”线索只能反映本单位的问题", status=403)]
    return []


def reports_itself(campaign, *, channel: str, subject_unit: str | None,
                   submitter: Submitter) -> bool:
    """自查自纠: a unit reports itself: the clue comes from an account of the very unit it is
    about, on a channel that account's role may use. Nobody else's clue is self-found."""
    chan = campaign.channel(channel)
    return (chan is not None and subject_unit is not None
            and submitter.role in ORG_BOUND_ROLES and submitter.role in chan.entered_by
            and submitter.org_code == subject_unit)
