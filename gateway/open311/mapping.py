"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), translated in plain Python.

- ``services``: the campaign's categories (问题类别) as services; ``service_definition``: the
  attributes a request may carry (the kind 不作为/乱作为/慢作为, the unit it is about, a title,
  the day it happened).
- ``clue_fields``: a partner's form-encoded request as the fields of a clue (the API's
  ``ClueIn``); the reporter's contact (email, first_name, last_name, phone) becomes the
  clue's reporter, sealed at the door like any clue's.
- ``parse_filters``: ``GET requests``' filters, the 90-day rule included.
- ``request_view``: a request as Open311 shows it: ``status`` open or closed, the ledger's
  own state in ``status_notes`` (Chinese, then English) and in the extension fields
  ``detailed_status`` and ``detailed_outcome`` (codes, as FixMyStreet's extensions carry).
- ``render``: JSON answers are bare arrays (a service definition an object); XML is
  ``<services><service>``, ``<service_definition>``, ``<service_requests><request>`` and
  ``<errors><error><code/><description/></error></errors>``.

Errors (``Open311Error``) carry the HTTP status as their ``code``, as the specification's
examples do, and a description in Chinese, then English.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from xml.sax.saxutils import escape

from contracts.vocabulary import STATE_LABELS_ZH, State

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")
MAX_REQUESTS = 1000                 # a GET requests answer holds at most this many
WINDOW = timedelta(days=90)         # start_date .. end_date at most this far apart
COUNTY_HOURS = 8                                  # 北京时间 (no summer time)
COUNTY_TZ = timezone(timedelta(hours=COUNTY_HOURS), "CST")  # a date without an offset is local
UNIT_TYPES = ("township", "party_department", "government_department", "school", "enterprise")
CLUE_ID = re.compile(r"^[0-9a-f]{32}$")

STATE_LABELS_EN = {
    State.REGISTERED: "registered", State.DISPATCHED: "dispatched to the responsible unit",
    State.VERIFIED: "verified; rectification planned", State.UNFOUNDED: "found unfounded, "
    "awaiting acceptance", State.RECTIFYING: "being rectified",
    State.RECTIFIED: "rectified, awaiting strike-off", State.CLOSED: "closed",
}
OUTCOME_LABELS = {"rectified": ("整改完成并销号", "rectified and struck off"),
                  "unfounded": ("查否", "unfounded"),
                  "merged": ("与其他问题合并办理", "merged with another report"),
                  "transferred": ("已移交", "transferred")}
RECEIVED = ("已受理,待登记入台账", "received, not yet registered in the ledger")


class Open311Error(Exception):
    """A refusal: HTTP ``status`` (400, 403, 404) and a bilingual description."""

    def __init__(self, status: int, zh: str, en: str):
        super().__init__(en)
        self.status = status
        self.description = f"{zh} · {en}"

    def items(self) -> list[dict]:
        return [{"code": self.status, "description": self.description}]


def bad(zh: str, en: str) -> Open311Error:
    return Open311Error(400, zh, en)


def check_request(fmt: str, params: Mapping[str, str], campaign) -> None:
    """Every call: the format is json or xml (else 404); an empty ``jurisdiction_id`` is
    absent, one other than the campaign's code unknown (404)."""
    if fmt not in FORMATS:
        raise Open311Error(404, f"不支持的格式 {fmt[:10]},请用 json 或 xml",
                           "unsupported format; use json or xml")
    jurisdiction = (params.get("jurisdiction_id") or "").strip()
    if jurisdiction and jurisdiction != campaign.campaign.code:
        raise Open311Error(404, "未知的 jurisdiction_id", "unknown jurisdiction_id")


# ── services ──────────────────────────────────────────────────────────────────────────────────

def services(campaign) -> list[dict]:
    """Every category of the campaign as an Open311 service. ``metadata`` is true: each has
    a definition (``service_definition``) with attributes a client should offer."""
    keywords = ",".join([k.name_zh for k in campaign.kinds] + [k.name_en for k in campaign.kinds])
    return [{"service_code": c.code, "service_name": c.name_zh, "description": c.description_zh,
             "metadata": True, "type": "realtime", "keywords": f"{c.name_en},{keywords}",
             "group": campaign.campaign.name_zh} for c in campaign.categories]


def service_definition(campaign, code: str) -> dict:
    """The attributes of a request for the category ``code`` (404 for an unknown one)."""
    if campaign.category(code) is None:
        raise Open311Error(404, f"没有编码为 {code} 的服务(问题类别)",
                           f"no service with the code {code}")
    kinds = [{"key": k.code, "name": f"{k.name_zh} {k.name_en}"} for k in campaign.kinds]
    units = [{"key": o.code, "name": o.name_zh} for o in campaign.organizations
             if o.type in UNIT_TYPES]
    return {"service_code": code, "attributes": [
        _attribute("kind", "singlevaluelist", 1, "问题性质:不作为、乱作为或慢作为 · "
                   "the kind: inaction, misconduct or slow action", kinds),
        _attribute("subject_unit", "singlevaluelist", 2, "被反映单位 · the unit the report "
                   "is about", units),
        _attribute("title", "string", 3, "标题(不填则取描述的第一行)· title (default: the "
                   "description's first line)"),
        _attribute("occurred_on", "datetime", 4, "问题发生日期 · the day it happened"),
    ]}


def _attribute(code: str, datatype: str, order: int, description: str,
               values: list[dict] | None = None) -> dict:
    found = {"variable": True, "code": code, "datatype": datatype, "required": False,
             "datatype_description": None, "order": order, "description": description}
    if values is not None:
        found["values"] = values
    return found


# ── a request posted (POST requests) ─────────────────────────────────────────────────────────

STANDARD_FIELDS = frozenset({
    "api_key", "jurisdiction_id", "service_code", "description", "address_string",
    "address_id", "lat", "long", "email", "first_name", "last_name", "phone", "device_id",
    "account_id", "media_url"})
ATTRIBUTE = re.compile(r"^attribute\[([a-z_]{1,32})\]$")
ATTRIBUTES = ("kind", "subject_unit", "title", "occurred_on")


def clue_fields(form: Mapping[str, str], campaign, channel: str) -> dict:
    """The fields of the API's ``ClueIn`` for a partner's request on ``channel`` (the route
    validates them with that model). 400 for a missing or unknown ``service_code``, a
    missing description, an attribute not in the definition, a coordinate out of range."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise bad("缺少 service_code(问题类别)", "service_code is required")
    if campaign.category(code) is None:
        raise bad(f"没有编码为 {code} 的服务(问题类别)", f"unknown service_code {code}")
    description = (form.get("description") or "").strip()
    if not description:
        raise bad("缺少 description(问题描述)", "description is required")
    attributes = {}
    for key, value in form.items():
        if key not in STANDARD_FIELDS:
            match = ATTRIBUTE.match(key)
            if match is None or match.group(1) not in ATTRIBUTES:
                raise bad(f"不接受参数 {key}", f"unknown parameter {key}")
            attributes[match.group(1)] = value.strip() or None
    title = attributes.get("title") or _first_line(description, campaign.category(code))
    fields = {"channel": channel, "title": title, "description": description,
              "category": code, "kind": attributes.get("kind"),
              "subject_unit": attributes.get("subject_unit"),
              "occurred_on": _day(attributes.get("occurred_on")),
              "place": _place(form)}
    reporter = _reporter(form)
    fields["anonymous"] = reporter is None
    if reporter is not None:
        fields["reporter"] = reporter
    return {k: v for k, v in fields.items() if v is not None}


def _first_line(description: str, category) -> str:
    line = description.splitlines()[0].strip()[:200]
    return line if len(line) >= 2 else category.name_zh


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    return parse_datetime(value, "attribute[occurred_on]").astimezone(COUNTY_TZ).date() \
        .isoformat()


def _place(form: Mapping[str, str]) -> str | None:
    address = (form.get("address_string") or "").strip()
    lat, long = (form.get("lat") or "").strip(), (form.get("long") or "").strip()
    if bool(lat) != bool(long):
        raise bad("lat 与 long 须同时提供", "lat and long go together")
    if lat:
        try:
            la, lo = float(lat), float(long)
        except ValueError:
            raise bad("lat、long 须为数字", "lat and long must be numbers") from None
        if not (-90 <= la <= 90 and -180 <= lo <= 180):
            raise bad("lat、long 超出范围", "lat or long out of range")
        point = f"{la:.6f},{lo:.6f}"
        address = f"{address} ({point})" if address else point
    return address[:200] or None


def _reporter(form: Mapping[str, str]) -> dict | None:
    first = (form.get("first_name") or "").strip()
    last = (form.get("last_name") or "").strip()
    name = f"{last}{first}" if not (first + last).isascii() else f"{first} {last}".strip()
    found = {"name": name or None, "phone": (form.get("phone") or "").strip() or None,
             "email": (form.get("email") or "").strip() or None}
    return {k: v for k, v in found.items() if v} or None


# ── GET requests: filters ─────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Filters:
    """``ids``: when given, they override everything else (the specification's rule)."""

    ids: tuple[str, ...] | None
    service_codes: tuple[str, ...]
    start: datetime
    end: datetime
    statuses: frozenset[str]


def parse_datetime(value: str, name: str) -> datetime:
    """A W3C datetime (``2017-06-01T00:00:00Z``, ``…+08:00``) or a day; without an offset
    it is the county's time (北京时间)."""
    text = value.strip()
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad(f"{name} 应为 W3C 日期时间,如 2017-06-01T00:00:00+08:00",
                  f"{name} must be a W3C datetime, e.g. 2017-06-01T00:00:00Z") from None
    return found if found.tzinfo else found.replace(tzinfo=COUNTY_TZ)


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))


def parse_filters(params: Mapping[str, str], campaign, now: datetime) -> Filters:
    """The filters of ``GET requests``; 400 for a bad one. Without dates: the 90 days up to
    now; one date: 90 days from or to it; both: at most 90 days apart, start first."""
    ids = _list(params.get("service_request_id"))
    if any(not CLUE_ID.match(i) for i in ids):
        raise bad("service_request_id 格式不正确", "malformed service_request_id")
    if len(ids) > MAX_REQUESTS:
        raise bad(f"一次最多查询 {MAX_REQUESTS} 个请求",
                  f"at most {MAX_REQUESTS} service_request_id at once")
    codes = _list(params.get("service_code"))
    unknown = [c for c in codes if campaign.category(c) is None]
    if unknown:
        raise bad(f"没有编码为 {unknown[0]} 的服务(问题类别)", f"unknown service_code {unknown[0]}")
    statuses = frozenset(_list(params.get("status")))
    if statuses - {"open", "closed"}:
        raise bad("status 只能是 open 或 closed", "status must be open or closed")
    start, end = (parse_datetime(params[k], k) if (params.get(k) or "").strip() else None
                  for k in ("start_date", "end_date"))
    if start is None and end is None:
        end = now
    start = start or end - WINDOW
    end = end or start + WINDOW
    if start > end:
        raise bad("start_date 不能晚于 end_date", "start_date is after end_date")
    if end - start > WINDOW:
        raise bad("start_date 与 end_date 相隔不能超过 90 天",
                  "start_date and end_date may not be more than 90 days apart")
    return Filters(ids or None, codes, start, end, statuses)


# ── a request as Open311 shows it ─────────────────────────────────────────────────────────────

def status_of(state: dict | None) -> tuple[str, str, str | None, str | None]:
    """(status, status_notes, detailed_status, detailed_outcome) from the ledger's row
    (None: not registered yet)."""
    if state is None:
        return "open", f"{RECEIVED[0]} · {RECEIVED[1]}", "received", None
    return _status(state["state"], state.get("outcome"))


@lru_cache(maxsize=64)
def _status(code: str, outcome: str | None) -> tuple[str, str, str | None, str | None]:
    ledger = State(code)
    zh, en = STATE_LABELS_ZH[ledger], STATE_LABELS_EN[ledger]
    if ledger is State.CLOSED and outcome in OUTCOME_LABELS:
        zh, en = f"{zh}({OUTCOME_LABELS[outcome][0]})", f"{en} ({OUTCOME_LABELS[outcome][1]})"
    return ("closed" if ledger is State.CLOSED else "open"), f"{zh} · {en}", ledger.value, outcome


def w3c(at: datetime | str | None) -> str | None:
    """A time as W3C in the county's time; a string (the ledger's, already so) as it is."""
    if at is None or isinstance(at, str):
        return at
    if at.tzinfo is None:  # SQLite keeps UTC without its offset
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(COUNTY_TZ).isoformat(timespec="seconds")


_NAMES: dict[int, tuple[object, dict, dict]] = {}


def _names(campaign) -> tuple[dict, dict]:
    """{category code: Chinese name}, {unit code: Chinese name}, made once per campaign."""
    found = _NAMES.get(id(campaign))
    if found is None or found[0] is not campaign:
        found = _NAMES[id(campaign)] = (campaign, {c.code: c.name_zh for c in campaign.categories},
                                        {o.code: o.name_zh for o in campaign.organizations})
    return found[1], found[2]


def request_view(record: dict, state: dict | None, campaign) -> dict:
    """``record``: the gateway's (clue_id, service_code, requested_at); ``state``: the
    ledger's narrow row of its problem, if registered."""
    return _view(record, state, *_names(campaign))


def _view(record: dict, state: dict | None, categories: dict, units: dict) -> dict:
    status, notes, detailed, outcome = status_of(state)
    state = state or {}
    code = state.get("category") or record["service_code"]
    requested = w3c(record["requested_at"])
    return {
        "service_request_id": record["clue_id"], "status": status, "status_notes": notes,
        "service_name": categories.get(code), "service_code": code,
        "description": state.get("description"),
        "agency_responsible": units.get(state.get("unit")), "service_notice": None,
        "requested_datetime": requested,
        "updated_datetime": state.get("updated_at") or requested,
        "expected_datetime": None, "address": None, "address_id": None, "zipcode": None,
        "lat": None, "long": None, "media_url": None,
        "detailed_status": detailed, "detailed_outcome": outcome,
    }


def requests_view(records: list[dict], states: list[dict], campaign,
                  statuses: frozenset[str] = frozenset()) -> list[dict]:
    """The records (newest first) with their problems' states, those of ``statuses`` only
    (none: all). ``states`` come keyed by clue id (``clue_id``)."""
    by_clue = {s["clue_id"]: s for s in states}
    categories, units = _names(campaign)  # once for the page, not per request
    views = (_view(r, by_clue.get(r["clue_id"]), categories, units) for r in records)
    return [v for v in views if not statuses or v["status"] in statuses]


def accepted(clue_id: str) -> list[dict]:
    """POST requests' answer: the request's id at once (the ledger registers it shortly)."""
    return [{"service_request_id": clue_id,
             "service_notice": "已受理,将登记入台账逐一办理 · received; it will be registered "
                               "in the ledger and dealt with",
             "account_id": None}]


# ── JSON and XML ──────────────────────────────────────────────────────────────────────────────

def _xml_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return escape(str(value))


def _xml_element(tag: str, value) -> str:
    if isinstance(value, dict):
        return f"<{tag}>{''.join(_xml_element(k, v) for k, v in value.items())}</{tag}>"
    if isinstance(value, list):
        item = {"attributes": "attribute", "values": "value"}.get(tag, "item")
        return f"<{tag}>{''.join(_xml_element(item, v) for v in value)}</{tag}>"
    return f"<{tag}>{_xml_value(value)}</{tag}>"


XML_ROOTS = {"services": "service", "service_requests": "request", "errors": "error"}


def to_xml(root: str, body: list | dict) -> str:
    """``<services><service>…``, ``<service_requests><request>…``, ``<errors><error>…``
    for a list; ``<service_definition>…`` for a definition."""
    head = '<?xml version="1.0" encoding="utf-8"?>'
    if isinstance(body, dict):
        return head + _xml_element(root, body)
    item = XML_ROOTS[root]
    return head + f"<{root}>{''.join(_xml_element(item, v) for v in body)}</{root}>"
