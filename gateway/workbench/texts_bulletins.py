"""The bulletin pages' sentences (月通报), Chinese first, English beside. (The bulletin itself
is an official Chinese document: its own words are in ``templates/bulletin.html``.)"""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "nav.bulletins": ("月通报", "Monthly bulletins"),
    "bul.title": ("月通报", "Monthly bulletins"),
    "bul.lead_county": ("按月生成各单位情况通报:先起草审阅,确认后发布。发布后不可更改,PDF 的摘要记入台账留痕链。",
                        "Generate the monthly bulletin on every unit: draft and review it, then "
                        "publish. A published bulletin never changes; its PDF's digest is a "
                        "chain entry in the ledger."),
    "bul.lead_reader": ("县委办公室已发布的月通报。", "The bulletins the county office published."),
    "bul.draft_h": ("起草月通报", "Draft a bulletin"),
    "bul.month": ("统计月份", "Month"),
    "bul.month_hint": ("格式 YYYY-MM,如 2017-10。", "YYYY-MM, e.g. 2017-10."),
    "bul.cases": ("典型案例(问题编号,每行一个)", "Typical cases (problem ids, one a line)"),
    "bul.min_problems": ("参与排名的最少问题数", "Fewest problems to be ranked"),
    "bul.min_hint": ("问题少于此数的单位单列,不参与排名。", "Units with fewer problems are listed apart, not ranked."),
    "bul.show_draft": ("生成草稿", "Show the draft"),
    "bul.publish": ("确认发布", "Publish"),
    "bul.publish_hint": ("发布后不可更改或重新发布。", "Once published, it cannot change or be published again."),
    "bul.published_h": ("已发布的月通报", "Published bulletins"),
    "bul.none": ("尚无已发布的月通报。", "No bulletin published yet."),
    "bul.col_month": ("月份", "Month"),
    "bul.col_by": ("发布人", "Published by"),
    "bul.col_at": ("发布时间", "Published at"),
    "bul.col_seq": ("留痕序号", "Chain seq"),
    "bul.col_sha": ("PDF 摘要 (SHA-256)", "PDF digest (SHA-256)"),
    "bul.view": ("查看", "View"),
    "bul.pdf": ("下载 PDF", "Download PDF"),
    "bul.published_ok": ("月通报已发布。", "The bulletin is published."),
    "bul.back": ("返回月通报列表", "Back to the bulletins"),
    "bul.error": ("错误", "Error"),
}
