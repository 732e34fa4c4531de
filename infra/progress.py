"""The campaign's progress for a person, read from the processes' ``/metrics``:
``python -m infra.progress URL... [--html FILE] [--bearer-token-file FILE]``.

Give it every process's metrics address (the gateway's needs an ops token: the gateway
serves /metrics to the ops role only). It prints the figures of the Grafana dashboard
"Campaign progress" as text, and with ``--html`` writes them as one self-contained page
(no asset from outside), for when Grafana is not at hand.

Aggregation follows the dashboards: counters (``*_total``) are summed over processes; the
gauges a service reads from its store are the same in each of its processes, so the
largest is taken, not the sum.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from jinja2 import Environment, select_autoescape
from prometheus_client.parser import text_string_to_metric_families

from contracts.campaign import load_campaign
from kit.settings import Settings

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]

STATE_ZH = {"registered": "已登记", "dispatched": "已交办", "verified": "已查实",
            "unfounded": "查否待审", "rectifying": "整改中", "rectified": "已整改",
            "closed": "已办结"}
LIGHT_ZH = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}


def samples_of(text: str) -> Samples:
    """``{sample name: {labels: value}}`` of one scrape, as prometheus-client parses it."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def combine(scrapes: list[Samples]) -> Samples:
    """One view over every process: counters summed, gauges the largest."""
    combined: Samples = {}
    for scrape in scrapes:
        for name, series in scrape.items():
            into = combined.setdefault(name, {})
            for labels, value in series.items():
                if labels not in into:
                    into[labels] = value
                elif name.endswith("_total"):
                    into[labels] += value
                else:
                    into[labels] = max(into[labels], value)
    return combined


def by(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """Sum of ``name``'s series grouped by ``labels`` (PromQL's ``sum by``)."""
    grouped: dict[tuple[str, ...], float] = {}
    for series, value in samples.get(name, {}).items():
        found = dict(series)
        key = tuple(found.get(label, "") for label in labels)
        grouped[key] = grouped.get(key, 0.0) + value
    return grouped


@dataclass
class Progress:
    clues_accepted: int = 0
    problems: dict[str, int] = field(default_factory=dict)       # by state
    lights: dict[str, int] = field(default_factory=dict)         # open, by light
    overdue: dict[str, int] = field(default_factory=dict)        # per supervising body
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    rounds: dict[tuple[str, str], int] = field(default_factory=dict)
    rechecks: dict[str, int] = field(default_factory=dict)

    @property
    def total_problems(self) -> int:
        return sum(self.problems.values())


def progress(samples: Samples) -> Progress:
    def ints(grouped, single=True):
        return {(k[0] if single else k): int(v) for k, v in grouped.items()}
    return Progress(
        clues_accepted=int(sum(samples.get("clues_accepted_total", {}).values())),
        problems=ints(by(samples, "ledger_problems", "state")),
        lights=ints(by(samples, "ledger_problems_open_by_light", "light")),
        overdue=ints(by(samples, "ledger_problems_overdue", "supervisor")),
        deliveries=ints(by(samples, "notify_deliveries_total", "channel", "outcome"), False),
        rounds=ints(by(samples, "audit_rounds", "kind", "status"), False),
        rechecks=ints(by(samples, "audit_rechecks", "verdict")))


def scrape(urls: list[str], token: str | None = None) -> list[Samples]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    found = []
    for url in urls:
        reply = httpx.get(url, headers=headers, timeout=10)
        reply.raise_for_status()
        found.append(samples_of(reply.text))
    return found


def body_names() -> dict[str, str]:
    """The supervising bodies' names, from the campaign file the platform runs."""
    campaign = load_campaign(Settings().campaign_file)
    return {org.code: org.name_zh for org in campaign.organizations}


def text(p: Progress, names: dict[str, str]) -> str:
    lines = [f"Clues accepted 受理线索: {p.clues_accepted}",
             f"Problems in the ledger 台账问题: {p.total_problems}"]
    lines += [f"  {state:<11} {STATE_ZH.get(state, ''):<5} {n}" for state, n in p.problems.items()]
    lines.append("Open problems by light 红黄绿灯:")
    lines += [f"  {light:<11} {LIGHT_ZH.get(light, ''):<5} {n}" for light, n in p.lights.items()]
    lines.append("Overdue per supervising body 分管部门超期:")
    lines += [f"  {names.get(body, body)} ({body}): {n}" for body, n in p.overdue.items()]
    lines.append("Deliveries 通知送达 (channel, outcome):")
    lines += [f"  {c} {o}: {n}" for (c, o), n in p.deliveries.items() if n]
    lines.append("Sampling rounds 抽查轮次 (kind, status):")
    lines += [f"  {k} {s}: {n}" for (k, s), n in p.rounds.items() if n]
    lines.append("Re-checks 复查 (verdict):")
    lines += [f"  {v}: {n}" for v, n in p.rechecks.items()]
    return "\n".join(lines)


PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>整治进度 Campaign progress</title>
<style>
 body{font-family:"Noto Sans CJK SC",system-ui,sans-serif;margin:1.5rem;color:#1b1f24;max-width:60rem}
 h1{font-size:1.4rem} h2{font-size:1.05rem;margin-top:1.6rem}
 .cards{display:flex;flex-wrap:wrap;gap:1rem}
 .card{border:1px solid #c8cdd3;border-radius:6px;padding:.8rem 1.1rem;min-width:10rem}
 .card b{display:block;font-size:2rem}
 table{border-collapse:collapse;width:100%;table-layout:fixed}
 td,th{padding:.3rem .5rem;text-align:left} th{width:45%;font-weight:500}
 td.n{text-align:right;width:4rem} td.b{width:auto} .bar{height:.9rem;background:#3d6fb6;border-radius:2px}
 .red .bar{background:#c0392b} .yellow .bar{background:#d4a017} .green .bar{background:#2e8b57}
 small{color:#555}
</style></head><body>
<h1>整治进度 <small>Campaign progress</small></h1>
<p><small>来自 {{ sources }} 个进程的 /metrics · read from {{ sources }} processes' /metrics</small></p>
<div class="cards">
 <div class="card">受理线索 <small>clues accepted</small><b id="clues">{{ p.clues_accepted }}</b></div>
 <div class="card">台账问题 <small>problems</small><b id="problems">{{ p.total_problems }}</b></div>
 <div class="card">超期 <small>overdue</small><b id="overdue">{{ p.overdue.values()|sum }}</b></div>
</div>
{% macro bars(rows, total) %}<table>{% for label, cls, n in rows %}
 <tr class="{{ cls }}"><th scope="row">{{ label }}</th><td class="n">{{ n }}</td>
 <td class="b"><div class="bar" style="width:{{ (100 * n / total)|round(1) if total else 0 }}%"></div></td></tr>
{% endfor %}</table>{% endmacro %}
<h2>红黄绿灯 <small>open problems by light</small></h2>
{{ bars(lights, lights_total) }}
<h2>问题状态 <small>problems by state</small></h2>
{{ bars(states, p.total_problems) }}
<h2>分管部门超期 <small>overdue per supervising body</small></h2>
{{ bars(bodies, bodies_max) }}
<h2>通知送达 <small>deliveries by channel and outcome</small></h2>
{{ bars(deliveries, deliveries_max) }}
<h2>抽查 <small>sampling rounds and re-checks</small></h2>
{{ bars(audit, audit_max) }}
</body></html>
"""


def html(p: Progress, names: dict[str, str], sources: int) -> str:
    lights = [(f"{LIGHT_ZH.get(k, k)} {k}", k, n) for k, n in p.lights.items()]
    states = [(f"{STATE_ZH.get(k, k)} {k}", "", n) for k, n in p.problems.items()]
    bodies = [(names.get(k, k), "", n) for k, n in p.overdue.items()]
    deliveries = [(f"{c} · {o}", "", n) for (c, o), n in p.deliveries.items() if n] or \
        [("暂无 none yet", "", 0)]
    audit = [(f"轮次 rounds {k} · {s}", "", n) for (k, s), n in p.rounds.items() if n] + \
        [(f"复查 re-checks {v}", "", n) for v, n in p.rechecks.items()]
    template = Environment(autoescape=select_autoescape(default=True)).from_string(PAGE)
    return template.render(
        p=p, sources=sources, lights=lights, lights_total=sum(p.lights.values()),
        states=states, bodies=bodies, bodies_max=max([n for *_, n in bodies] or [0]),
        deliveries=deliveries, deliveries_max=max([n for *_, n in deliveries] or [0]),
        audit=audit, audit_max=max([n for *_, n in audit] or [0]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.progress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+", help="each process's /metrics address")
    parser.add_argument("--html", type=Path, help="also write the figures as a page here")
    parser.add_argument("--bearer-token-file", type=Path,
                        help="a file holding an ops token (the gateway's /metrics needs one)")
    args = parser.parse_args(argv)
    token = args.bearer_token_file.read_text().strip() if args.bearer_token_file else None
    try:
        scrapes = scrape(args.urls, token)
    except httpx.HTTPError as exc:
        print(f"could not read the metrics / 无法读取指标: {exc}", file=sys.stderr)
        return 1
    figures, names = progress(combine(scrapes)), body_names()
    print(text(figures, names))
    if args.html:
        args.html.write_text(html(figures, names, len(scrapes)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
