"""What makes a clue acceptable (线索受理规则), checked against the campaign configuration.

Pure: the gateway applies these at the door so a bad clue gets a 4xx and nothing is
written; intake owns them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ClueProblem:
    field: str
    code: str
    message: str
    message_zh: str


def check_clue(campaign, *, channel: str, subject_unit: str | None, category: str | None,
               kind: str | None, occurred_on: date | None, anonymous: bool,
               has_contact: bool, caller_is_public: bool, today: date,
               has_identity: bool = False) -> list[ClueProblem]:
    """Every reason the clue cannot be accepted; empty when it can."""
    found: list[ClueProblem] = []
    chan = campaign.channel(channel)
    if chan is None:
        found.append(ClueProblem("channel", "unknown_channel", f"unknown channel '{channel}'",
                                 f"未知的线索来源渠道“{channel}”"))
    elif caller_is_public and not chan.public:
        found.append(ClueProblem("channel", "channel_not_public",
                                 f"channel '{channel}' is entered by staff only",
                                 f"渠道“{chan.name_zh}”仅限工作人员录入"))
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
