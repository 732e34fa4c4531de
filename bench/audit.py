"""Benchmark of a spot-check round (抽查): 100,000 items across 500 units in four strata,
through the sampler of ``services.audit.sampling`` as a round uses it, then re-derived from
the written files by ``services.audit.rederive`` (in this process, and as the command a
member of the public runs). Prints the seconds of each step; targets: the round (manifest,
tickets, sizes, decisions) < 2 s, the re-derivation < 2 s. Pure Python, no services, no
database: ``python -m bench.audit [--items 100000] [--units 500]``.

Steps: (a) items from rows, the canonical manifest and its SHA-256; (b) the tickets of every
item and their order; (c) the sample sizes of every (unit, stratum) group, cold caches;
``draw`` is (b) + (c) + grouping in the one call a round makes; (d) the decisions from
synthetic verdicts (2% wrong, 1% not produced, 5% of units half done). The round's total is
(a) + draw + (d). (e) re-derivation: the manifest, seed, parameters and verdicts written to
files, read back, parsed strictly, drawn, decided and printed; its bytes must equal the
round's result."""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contracts.campaign import SpotCheckRules
from services.audit import rederive, sampling

ROOT = Path(__file__).resolve().parents[1]
SEED = "01382438112797316654139"
STRATA = (("ordinary", 0.70), ("high_severity", 0.10), ("zero_report", 0.15),
          ("zero_contradicted", 0.05))


def rows(items: int, units: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(id, unit, stratum) rows: unit sizes skewed (Pareto), strata mixed."""
    weights = [rng.paretovariate(1.5) for _ in range(units)]
    scale = items / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] += items - sum(counts)
    names, shares = zip(*STRATA)
    out, n = [], 0
    for u, count in enumerate(counts):
        unit = f"org_bench_{u:03d}"
        for stratum in rng.choices(names, shares, k=count):
            n += 1
            prefix = "ZR" if stratum.startswith("zero") else "P"
            out.append((f"{prefix}-2026-{n:06d}", unit, stratum))
    rng.shuffle(out)
    return out


def synthetic_verdicts(drawn: sampling.Draw, rng: random.Random) -> dict[str, str]:
    verdicts: dict[str, str] = {}
    half_done = {g.unit for g in drawn.groups if rng.random() < 0.05}
    for group in drawn.groups:
        sample = group.sampled[:len(group.sampled) // 2] if group.unit in half_done else (
            group.sampled)
        for item_id in sample:
            r = rng.random()
            verdicts[item_id] = "wrong" if r < 0.02 else "not_produced" if r < 0.03 else "upheld"
    return verdicts


CPU: dict[str, float] = {}


def timed(fn, *args):
    """(value, wall seconds); the CPU seconds of this process and its children go to CPU
    under the function's name (the machine may be shared: CPU time is what the code costs)."""
    start, cpu = time.perf_counter(), _cpu()
    value = fn(*args)
    CPU[getattr(fn, "__name__", "?")] = _cpu() - cpu
    return value, time.perf_counter() - start


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def clear_caches() -> None:
    for cached in (sampling._sample_size, sampling._upper_count, sampling._alpha_size):
        cached.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=500)
    args = parser.parse_args(argv)
    rng = random.Random(2026)
    raw = rows(args.items, args.units, rng)
    params = sampling.Params.from_campaign(SpotCheckRules(), period="2026-11")

    # (a) manifest
    def make_manifest():
        items = [sampling.Item(*row) for row in raw]
        data = sampling.manifest_bytes(items)
        return items, data, sampling.manifest_digest(data)
    (items, manifest, digest), t_manifest = timed(make_manifest)

    # (b) tickets and order alone; (c) sizes alone, cold
    def tickets_and_order():
        ids = [item.id for item in items]
        return sorted(zip(sampling.tickets(SEED, ids), ids))
    _, t_order = timed(tickets_and_order)
    groups: dict[tuple[str, str], int] = {}
    for item in items:
        groups[(item.unit, item.stratum)] = groups.get((item.unit, item.stratum), 0) + 1
    clear_caches()
    def sizes():
        return [sampling.group_size(n, s, params) for (_, s), n in groups.items()]
    _, t_sizes = timed(sizes)

    # the round's one call: tickets, order, grouping, sizes
    clear_caches()
    drawn, t_draw = timed(sampling.draw, items, SEED, params)

    # (d) decisions
    verdicts = synthetic_verdicts(drawn, rng)

    def decide():
        results = sampling.evaluate(drawn, verdicts, params)
        return sampling.result_bytes(results, manifest_sha256=digest, seed=SEED, params=params)
    clear_caches()
    published, t_decide = timed(decide)
    results = sampling.evaluate(drawn, verdicts, params)
    decisions = {d: sum(r.decision == d for r in results) for d in sampling.UnitDecision}

    # (e) re-derivation from the written files
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        folder = Path(tmp)
        files = {"manifest.tsv": manifest, "seed.txt": (SEED + "\n").encode(),
                 "params.json": sampling.params_bytes(params),
                 "verdicts.json": sampling.verdicts_bytes(verdicts)}
        for name, data in files.items():
            (folder / name).write_bytes(data)

        def in_process():
            return rederive.rederive((folder / "manifest.tsv").read_bytes(),
                                     rederive.read_seed((folder / "seed.txt").read_text()),
                                     (folder / "params.json").read_bytes(),
                                     (folder / "verdicts.json").read_bytes())
        clear_caches()
        again, t_rederive = timed(in_process)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "services.audit.rederive", str(folder / "manifest.tsv"),
                   str(folder / "seed.txt"), str(folder / "params.json"),
                   "--verdicts", str(folder / "verdicts.json")]
        def command_line():
            return subprocess.run(command, capture_output=True, env=env, check=True)

        def startup():
            return subprocess.run([sys.executable, "-c", "import services.audit.sampling"],
                                  env=env, check=True)
        done, t_command = timed(command_line)
        _, t_startup = timed(startup)

    round_total = t_manifest + t_draw + t_decide
    round_cpu = CPU["make_manifest"] + CPU["draw"] + CPU["decide"]
    same = {True: "yes", False: "NO"}
    print(f"spot-check round: {len(items):,} items, {len({i.unit for i in items})} units, "
          f"{len(drawn.groups):,} (unit, stratum) groups, "
          f"{sum(g.n for g in drawn.groups):,} sampled; sampler {sampling.SAMPLER_VERSION}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(wall seconds suffer on a shared machine; CPU seconds are what the code costs)")
    print(f"{'':52}{'wall s':>8}{'CPU s':>8}")
    lines = [
        ("(a) manifest (items, canonical bytes, SHA-256)", t_manifest, "make_manifest",
         f"{len(manifest):,} bytes, {digest[:12]}…"),
        ("(b) tickets + order", t_order, "tickets_and_order", ""),
        ("(c) sample sizes, cold caches", t_sizes, "sizes", f"{len(groups):,} groups"),
        ("    draw (b + c + grouping, the round's call)", t_draw, "draw", ""),
        (f"(d) decisions from {len(verdicts):,} verdicts", t_decide, "decide",
         ", ".join(f"{d.value} {n}" for d, n in decisions.items())),
        ("round total (a + draw + d)", round_total, None, "target < 2 s"),
        ("(e) re-derivation from the files, in process", t_rederive, "in_process",
         f"target < 2 s; identical bytes: {same[again == published]}"),
        ("    python -m services.audit.rederive", t_command, "command_line",
         f"identical bytes: {same[done.stdout == published]}"),
        ("    interpreter + import alone", t_startup, "startup", ""),
    ]
    for label, wall, name, note in lines:
        cpu = round_cpu if name is None else CPU[name]
        print(f"  {label:50}{wall:8.3f}{cpu:8.3f}  {note}".rstrip())
    return 0 if again == published == done.stdout else 1


if __name__ == "__main__":
    sys.exit(main())
