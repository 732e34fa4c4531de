"""Benchmark of the monthly bulletin (月通报): 500 units at 100,000 problems, composed
(``kit.bulletin``), rendered as the web page's fragment and printed as PDF (WeasyPrint), from
per-unit figures as the ledger's roll-up gives them. Prints the seconds of each step (target:
page and PDF < 30 s). Run: ``python -m bench.bulletin``. The ledger's roll-up query itself is
measured by the ledger's benchmarks, not here."""
from __future__ import annotations

import random
import time

from gateway.workbench import bulletin_doc

UNITS, PROBLEMS = 500, 100_000


def rollup_units(rng: random.Random) -> tuple[list[dict], dict[str, str]]:
    weights = [rng.paretovariate(1.2) for _ in range(UNITS)]
    scale = PROBLEMS / sum(weights)
    units, names = [], {}
    for i, w in enumerate(weights):
        total = max(int(w * scale), 0)
        closed = int(total * rng.uniform(0.3, 0.9))
        open_ = total - closed
        code = f"org_bench_{i:03d}"
        names[code] = f"演示单位{i:03d}号"
        units.append({"unit": code, "total": total, "open": open_, "closed": closed,
                      "struck_off": int(closed * rng.uniform(0.5, 1.0)),
                      "overdue": int(open_ * rng.uniform(0, 0.4)),
                      "stalled": int(open_ * rng.uniform(0, 0.1))})
    return units, names


def main() -> None:
    rng = random.Random(2017)
    units, names = rollup_units(rng)
    answer = {"month": "2017-10", "units": units, "names": names, "expected": list(names),
              "missing": {c: rng.randint(0, 2) for c in names if rng.random() < 0.2},
              "contradicted": {c: 1 for c in names if rng.random() < 0.05},
              "head": {"seq": 123_456, "hash": "ab" * 32}}
    t0 = time.perf_counter()
    b = bulletin_doc.compose(answer, cases=["p-1", "p-2"])
    doc = bulletin_doc.document(b, head=answer["head"], as_of="2017-11-06",
                                weeks=["2017-W39", "2017-W41", "2017-W42", "2017-W43"])
    t1 = time.perf_counter()
    page = bulletin_doc.html(doc)
    t2 = time.perf_counter()
    pdf = bulletin_doc.pdf(doc)
    t3 = time.perf_counter()
    print(f"bulletin: {UNITS} units, {sum(u['total'] for u in units):,} problems")
    print(f"  compose  {t1 - t0:6.2f} s")
    print(f"  page     {t2 - t1:6.2f} s  ({len(page):,} chars)")
    print(f"  PDF      {t3 - t2:6.2f} s  ({len(pdf):,} bytes)")
    print(f"  total    {t3 - t0:6.2f} s  (target < 30 s)")


if __name__ == "__main__":
    main()
