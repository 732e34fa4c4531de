"""The spot-check sampler (抽样): pure, deterministic, re-derivable bit for bit from the
published files alone (../shared/AUDIT-SAMPLING.md). The project's own code, not a library:
its output is a public commitment, so its version (``SAMPLER_VERSION``) is pinned in every
manifest's parameters and any change to what it computes must change that version.

Interface (stable; the rounds, the re-derivation command and the benchmark use only this):

* ``Item(id, unit, stratum)``; ``manifest_bytes(items)`` / ``parse_manifest(data)``: the
  canonical manifest (UTF-8, one line per item ``id<TAB>unit<TAB>stratum``, sorted by id,
  final newline); ``manifest_digest(data)``: its SHA-256 hex.
* ``Params``: the frozen parameters (per stratum tolerable rate and risk limit, method,
  alpha eta, seed_min_digits, sampler version); ``params_bytes`` / ``parse_params``:
  canonical JSON.
* ``check_seed(seed, min_digits)``: a seed is digits only, at least ``min_digits`` long.
* ``ticket(seed, item_id)``: consistent-sampler's first ticket (a decimal string "0.…");
  ``order(seed, items)``: the items in ascending ticket order.
* ``sample_size(N, tolerable_rate, risk_limit)``: n₀ (hypergeometric, no error allowed).
* ``upper_bound(N, n, k, risk_limit)``: the exact finite-population upper bound on the
  wrong-closure rate (a ``Fraction``, D/N).
* ``draw(items, seed, params)``: per (unit, stratum) group, N, n₀ and the sampled ids in
  ticket order (``Draw``).
* ``evaluate(draw, verdicts, params)``: per group N, n checked, errors k, the bound and the
  decision (``contracts.vocabulary.UnitDecision``); an item not produced counts as wrong.
"""
from __future__ import annotations

SAMPLER_VERSION = "yanshan-sampler/1 (consistent-sampler 1.0.10 tickets; hypergeometric n0)"
