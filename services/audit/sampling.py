"""The spot-check sampler (抽样): pure, deterministic, re-derivable bit for bit from the
published files alone (../shared/AUDIT-SAMPLING.md). The project's own code, not a library:
its output is a public commitment, so its version (``SAMPLER_VERSION``) is pinned in every
manifest's parameters and any change to what it computes must change that version.
Standard library only (hashlib, math, fractions, json, unicodedata), exact integer and
``Fraction`` arithmetic wherever a decision depends on it: no float decides anything.

Interface (stable; the rounds, the re-derivation command and the benchmark use only this):

* ``Item(id, unit, stratum)``; ``manifest_bytes(items)`` / ``parse_manifest(data)``: the
  canonical manifest (UTF-8, NFC, one line per item ``id<TAB>unit<TAB>stratum``, sorted by
  id in code-point order (= UTF-8 byte order), ids unique, final newline);
  ``manifest_digest(data)``: its SHA-256 hex.
* ``Params``: the frozen parameters (per stratum tolerable rate and risk limit as decimal
  strings, method, alpha eta, seed_min_digits, sampler version, period, round kind);
  ``Params.from_campaign(campaign.spot_checks, period=..., kind=...)``;
  ``params_bytes`` / ``parse_params``: canonical JSON.
* ``check_seed(seed, min_digits)``: a seed is ASCII digits only, at least ``min_digits``
  long; otherwise ``SeedRefused`` (a ``ValueError``) with a Chinese and an English message.
* ``ticket(seed, item_id)``: consistent-sampler 1.0.10's first ticket (a decimal string
  "0.…"); ``next_ticket(ticket)``: its next generation; ``tickets(seed, ids)`` the same in
  bulk; ``order(seed, items)``: the items in ascending ticket order.
* ``sample_size(N, tolerable_rate, risk_limit)``: n₀ (hypergeometric, no error allowed).
* ``upper_bound(N, n, k, risk_limit)``: the exact finite-population upper bound on the
  wrong-closure rate (a ``Fraction``, D/N); ``clopper_pearson_upper(n, k, alpha)`` its
  large-population (binomial) counterpart.
* ``alpha_mart(x, N, t, eta, u)``: SHANGRLA's ALPHA p-value (fixed alternative), exact;
  ``alpha_history`` the same after each draw; ``alpha_sample_size`` ALPHA's first n.
* ``draw(items, seed, params)``: per (unit, stratum) ``Group``, N, n (``group_size``) and the
  whole ticket order (the sample is its first n; "keep sampling" takes the next tickets)
  (``Draw``; ``Draw.position`` maps an id to its group and place).
* ``evaluate(draw, verdicts, params)`` (``evaluate_group`` for one group): per group a
  ``GroupResult``: N, n, checked, errors k, the bound (``Fraction`` and a 6-decimal string
  rounded up, ``decimal_up``) and the decision (``contracts.vocabulary.UnitDecision``); an
  item not produced counts as wrong.
* ``verdicts_bytes`` / ``parse_verdicts``: the verdicts file (item id → outcome, JSON).
* ``result_bytes(results, ...)``: the canonical JSON the rounds publish and
  ``python -m services.audit.rederive`` prints.
* ``rivest_sample(seed, a, b, n)``: Rivest's sampler.py (2011), kept only to show how the
  reference vectors of that older construction relate; selection never uses it.

Decisions (per unit, stratum and round; ``evaluate``):

* hypergeometric: no error in all n₀ → cleared; any error → full review; fewer than n₀
  checked and no error → keep sampling.
* alpha (Stark's ALPHA, sequential): the sample starts at the size at which a sample with
  no error would clear; p ≤ α → cleared; otherwise keep sampling (the next tickets) until
  the sample reaches N or ``ALPHA_CAP_FACTOR`` × its first size, then full review.
* a full-review round (全面复查, n = N): cleared when no error, else full review (failed).

The bound published with a result counts a sampled item not yet checked as wrong (as one
that cannot be produced), so it is valid whatever is missing.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Iterable, Mapping, Sequence

from contracts.vocabulary import RecheckVerdict, Stratum, UnitDecision

SAMPLER_VERSION = "yanshan-sampler/1 (consistent-sampler 1.0.10 tickets; hypergeometric n0)"

METHODS = ("hypergeometric", "alpha")
ROUND_KINDS = ("spot_check", "look_back", "full_review")
ALPHA_CAP_FACTOR = 4          # ALPHA: full review once the sample is 4 × its first size
BOUND_DIGITS = 6              # published bounds and p-values: 6 decimals, rounded up
_WRONG = frozenset({RecheckVerdict.WRONG, RecheckVerdict.NOT_PRODUCED})


# --------------------------------------------------------------------------- errors

class SamplingError(ValueError):
    """Bad input to the sampler (抽样输入有误): ``message`` (English) and ``message_zh``
    (Chinese), as ``kit.errors.RemoteError`` carries them; ``line`` where a file is bad."""

    def __init__(self, message: str, message_zh: str, line: int | None = None):
        super().__init__(message, message_zh, line)
        self.message, self.message_zh, self.line = message, message_zh, line

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message}"


class ManifestError(SamplingError):
    """The manifest is not canonical (名单文件不规范)."""


class ParamsError(SamplingError):
    """The parameters are not valid canonical JSON (参数文件不规范)."""


class SeedRefused(SamplingError):
    """The seed is refused (随机种子不合格): digits only, at least the campaign's length."""


class VerdictError(SamplingError):
    """A verdict names an item outside the draw, or an unknown outcome (复查结论有误)."""


# --------------------------------------------------------------------------- manifest

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BAD_CHARS_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_BAD_CHARS_BUT_TAB_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _field_problem(value: object, name: str) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return (f"{name} must be text", f"{_ZH_FIELD[name]}必须是文本")
    if not value:
        return (f"{name} is empty", f"{_ZH_FIELD[name]}为空")
    if _BAD_CHARS.search(value):
        return (f"{name} {value!r} contains a tab, newline or other control character",
                f"{_ZH_FIELD[name]} {value!r} 含制表符、换行符或其他控制字符")
    if value != value.strip():
        return (f"{name} {value!r} begins or ends with a space",
                f"{_ZH_FIELD[name]} {value!r} 首尾有空格")
    return None


_ZH_FIELD = {"id": "编号", "unit": "单位", "stratum": "抽查层"}


@dataclass(frozen=True, order=True)
class Item:
    """One item of a population (抽查对象): its id (the problem or report id), the unit
    whose closure or report it is, its stratum (``contracts.vocabulary.Stratum``). Fields
    are NFC-normalised on construction; a tab, newline, control character, empty field or
    surrounding space is refused (``ManifestError``)."""

    id: str
    unit: str
    stratum: str

    def __post_init__(self) -> None:
        id_, unit, stratum = self.id, self.unit, self.stratum
        if (type(id_) is str and type(unit) is str and type(stratum) is str
                and id_ and unit and stratum and id_.strip() == id_ and unit.strip() == unit
                and stratum.strip() == stratum):
            joined = f"{id_}\t{unit}\t{stratum}"    # tab: a stable boundary for NFC
            if joined.count("\t") == 2 and not _BAD_CHARS_BUT_TAB.search(joined):
                if not unicodedata.is_normalized("NFC", joined):
                    for name in ("id", "unit", "stratum"):
                        object.__setattr__(self, name,
                                           unicodedata.normalize("NFC", getattr(self, name)))
                return
        for name in ("id", "unit", "stratum"):
            problem = _field_problem(getattr(self, name), name)
            if problem:
                raise ManifestError(*problem)

    @classmethod
    def _trusted(cls, id_: str, unit: str, stratum: str) -> "Item":
        """An item from fields already checked (``parse_manifest``), without checking again."""
        item = object.__new__(cls)
        item.__dict__.update(id=id_, unit=unit, stratum=stratum)
        return item


def manifest_bytes(items: Iterable[Item]) -> bytes:
    """The canonical manifest (抽查名单): UTF-8, one line ``id\\tunit\\tstratum\\n`` per item,
    sorted by id; ``ManifestError`` on a duplicate id."""
    ordered = sorted(items, key=lambda item: item.id)
    for before, after in zip(ordered, ordered[1:]):
        if before.id == after.id:
            raise ManifestError(f"duplicate item id {after.id!r}", f"对象编号重复：{after.id!r}")
    return "".join(f"{i.id}\t{i.unit}\t{i.stratum}\n" for i in ordered).encode("utf-8")


def manifest_digest(data: bytes) -> str:
    """The manifest's SHA-256, hex (名单摘要): what the round publishes before the seed."""
    return hashlib.sha256(data).hexdigest()


def parse_manifest(data: bytes) -> list[Item]:
    """Read a manifest, refusing anything but the canonical form (with its line number)."""
    if not isinstance(data, (bytes, bytearray)):
        raise ManifestError("the manifest must be bytes", "名单文件必须是字节")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ManifestError(f"line {line}: not valid UTF-8", f"第 {line} 行：不是有效的 UTF-8 编码",
                            line) from None
    if not text:
        return []
    if text.startswith("\ufeff"):
        raise ManifestError("line 1: the manifest begins with a byte-order mark",
                            "第 1 行：名单文件以 BOM 开头", 1)
    if not text.endswith("\n"):
        line = text.count("\n") + 1
        raise ManifestError(f"line {line}: the manifest must end with a newline",
                            f"第 {line} 行：名单文件须以换行结束", line)
    whole_ok = (unicodedata.is_normalized("NFC", text)
                and not _BAD_CHARS_BUT_TAB_NEWLINE.search(text))
    items: list[Item] = []
    append, trusted = items.append, Item._trusted
    previous = ""
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise ManifestError(f"line {number}: expected 3 tab-separated fields "
                                f"(id, unit, stratum), found {len(fields)}",
                                f"第 {number} 行：应为以制表符分隔的 3 项（编号、单位、抽查层），"
                                f"实为 {len(fields)} 项", number)
        item_id, unit, stratum = fields
        if not (whole_ok and item_id and unit and stratum and item_id.strip() == item_id
                and unit.strip() == unit and stratum.strip() == stratum):
            _diagnose_line(number, fields)
        if item_id <= previous:
            if item_id == previous:
                raise ManifestError(f"line {number}: duplicate item id {item_id!r}",
                                    f"第 {number} 行：对象编号重复：{item_id!r}", number)
            raise ManifestError(f"line {number}: ids are not in ascending order "
                                f"({item_id!r} after {previous!r})",
                                f"第 {number} 行：编号未按升序排列（{item_id!r} 在 {previous!r} 之后）",
                                number)
        previous = item_id
        append(trusted(item_id, unit, stratum))
    return items


def _diagnose_line(number: int, fields: list[str]) -> None:
    """Raise the ``ManifestError`` for the first bad field of a manifest line (if any)."""
    for name, value in zip(("id", "unit", "stratum"), fields):
        problem = _field_problem(value, name)
        if problem is None and not unicodedata.is_normalized("NFC", value):
            problem = (f"{name} {value!r} is not NFC-normalised",
                       f"{_ZH_FIELD[name]} {value!r} 未按 NFC 规范化")
        if problem:
            raise ManifestError(f"line {number}: {problem[0]}", f"第 {number} 行：{problem[1]}",
                                number)


# --------------------------------------------------------------------------- parameters

def decimal_text(value: object, what: str = "value") -> str:
    """A rate as its canonical decimal string ("0.1", "0.05"): from a str, an int or a float
    (by its shortest repr, so 0.1 is "0.1", never 0.1000000000000000055…)."""
    if isinstance(value, bool):
        raise ParamsError(f"{what} must be a decimal number", f"{what} 必须是十进制小数")
    if isinstance(value, float):
        value = repr(value)
    elif isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        raise ParamsError(f"{what} {value!r} is not a plain decimal number",
                          f"{what} {value!r} 不是普通十进制小数")
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ParamsError(f"{what} {value!r} is not a decimal number",
                          f"{what} {value!r} 不是十进制小数") from None
    return format(number.normalize(), "f")


def _rate(value: object, what: str) -> str:
    text = decimal_text(value, what)
    if not 0 < Fraction(text) < 1:
        raise ParamsError(f"{what} {text} must lie strictly between 0 and 1",
                          f"{what} {text} 须大于 0 且小于 1")
    return text


@dataclass(frozen=True)
class Params:
    """A round's frozen parameters (抽查参数), published with the manifest's digest before the
    seed. ``strata``: stratum → (tolerable rate p_T, risk limit α) as decimal strings;
    ``method``: ``hypergeometric`` or ``alpha``; ``alpha_eta``: ALPHA's alternative, as the
    share of the way from the null mean t = 1 − p_T to 1 (0.75 with p_T 10%: η = 0.975);
    ``kind``: ``spot_check`` (查否复查, 抽查零报告), ``look_back`` (回头看) or ``full_review``
    (全面复查: every item)."""

    strata: Mapping[str, tuple[str, str]]
    method: str = "hypergeometric"
    alpha_eta: str = "0.75"
    seed_min_digits: int = 20
    sampler_version: str = SAMPLER_VERSION
    period: str = ""
    kind: str = "spot_check"

    def __post_init__(self) -> None:
        if not isinstance(self.strata, Mapping) or not self.strata:
            raise ParamsError("strata must map each stratum to its rates",
                              "strata 须为各抽查层的参数")
        known = {s.value for s in Stratum}
        strata: dict[str, tuple[str, str]] = {}
        for name in sorted(self.strata):
            if name not in known:
                raise ParamsError(f"unknown stratum {name!r} (known: {', '.join(sorted(known))})",
                                  f"未知的抽查层 {name!r}")
            rule = self.strata[name]
            if not isinstance(rule, (tuple, list)) or len(rule) != 2:
                raise ParamsError(f"stratum {name}: expected (tolerable_rate, risk_limit)",
                                  f"抽查层 {name}：应为（可容忍比例, 风险上限）")
            strata[name] = (_rate(rule[0], f"{name}.tolerable_rate"),
                            _rate(rule[1], f"{name}.risk_limit"))
        object.__setattr__(self, "strata", strata)
        object.__setattr__(self, "_rules", {name: (Fraction(rate), Fraction(risk))
                                            for name, (rate, risk) in strata.items()})
        if self.method not in METHODS:
            raise ParamsError(f"method {self.method!r} is not one of {', '.join(METHODS)}",
                              f"抽查方法 {self.method!r} 无效")
        if self.kind not in ROUND_KINDS:
            raise ParamsError(f"round kind {self.kind!r} is not one of {', '.join(ROUND_KINDS)}",
                              f"抽查类型 {self.kind!r} 无效")
        object.__setattr__(self, "alpha_eta", _rate(self.alpha_eta, "alpha_eta"))
        if (not isinstance(self.seed_min_digits, int) or isinstance(self.seed_min_digits, bool)
                or self.seed_min_digits < 1):
            raise ParamsError("seed_min_digits must be a positive integer",
                              "seed_min_digits 须为正整数")
        for name in ("sampler_version", "period"):
            value = getattr(self, name)
            if not isinstance(value, str) or _BAD_CHARS.search(value):
                raise ParamsError(f"{name} must be text without control characters",
                                  f"{name} 须为不含控制字符的文本")

    @classmethod
    def from_campaign(cls, spot_checks, *, period: str = "", kind: str = "spot_check",
                      strata: Iterable[str] | None = None) -> "Params":
        """The parameters of a round from the campaign file's ``spot_checks``
        (``contracts.campaign.SpotCheckRules``); ``strata`` limits them to those named."""
        wanted = None if strata is None else set(strata)
        rules = {name: (rule.tolerable_rate, rule.risk_limit)
                 for name, rule in spot_checks.strata.items()
                 if wanted is None or name in wanted}
        return cls(strata=rules, method=spot_checks.method, alpha_eta=spot_checks.alpha_eta,
                   seed_min_digits=spot_checks.seed_min_digits, period=period, kind=kind)

    def rule(self, stratum: str) -> tuple[Fraction, Fraction]:
        """(p_T, α) of a stratum as exact fractions."""
        try:
            return self._rules[stratum]
        except KeyError:
            raise ParamsError(f"no parameters for stratum {stratum!r}",
                              f"抽查层 {stratum!r} 没有参数") from None


def _canonical_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8") + b"\n"


def _params_object(params: Params) -> dict:
    return {"alpha_eta": params.alpha_eta, "kind": params.kind, "method": params.method,
            "period": params.period, "sampler_version": params.sampler_version,
            "seed_min_digits": params.seed_min_digits,
            "strata": {name: {"risk_limit": risk, "tolerable_rate": rate}
                       for name, (rate, risk) in params.strata.items()}}


def params_bytes(params: Params) -> bytes:
    """The canonical parameters file (抽查参数): JSON, keys sorted, no spaces, rates as
    decimal strings, UTF-8, final newline."""
    return _canonical_json(_params_object(params))


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ParamsError("a key appears twice", "参数文件中有重复的键")
    return dict(pairs)


def parse_params(data: bytes) -> Params:
    """Read a parameters file, refusing anything but ``params_bytes``'s own output."""
    try:
        raw = json.loads(bytes(data).decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParamsError(f"the parameters are not valid UTF-8 JSON ({exc})",
                          "参数文件不是有效的 UTF-8 JSON") from None
    expected = {"alpha_eta", "kind", "method", "period", "sampler_version", "seed_min_digits",
                "strata"}
    if not isinstance(raw, dict) or set(raw) != expected:
        raise ParamsError("the parameters must have exactly the keys "
                          + ", ".join(sorted(expected)),
                          "参数文件的键不正确")
    strata = raw["strata"]
    if not isinstance(strata, dict) or not all(
            isinstance(rule, dict) and set(rule) == {"risk_limit", "tolerable_rate"}
            and all(isinstance(v, str) for v in rule.values()) for rule in strata.values()):
        raise ParamsError("each stratum must give tolerable_rate and risk_limit as decimal strings",
                          "每个抽查层须以字符串给出 tolerable_rate 与 risk_limit")
    if not isinstance(raw["alpha_eta"], str):
        raise ParamsError("alpha_eta must be a decimal string", "alpha_eta 须为十进制字符串")
    params = Params(strata={name: (rule["tolerable_rate"], rule["risk_limit"])
                            for name, rule in strata.items()},
                    method=raw["method"], alpha_eta=raw["alpha_eta"],
                    seed_min_digits=raw["seed_min_digits"],
                    sampler_version=raw["sampler_version"], period=raw["period"],
                    kind=raw["kind"])
    if params_bytes(params) != bytes(data):
        raise ParamsError("the parameters file is not in canonical form (sorted keys, no spaces, "
                          "decimal strings, one final newline)",
                          "参数文件不是规范格式（键排序、无空格、小数以字符串表示、以一个换行结束）")
    return params


# --------------------------------------------------------------------------- seed

_DIGITS = re.compile(r"[0-9]+")


def check_seed(seed: object, min_digits: int) -> str:
    """The public seed (随机种子), e.g. decimal dice rolled in public: ASCII digits only, at
    least ``min_digits`` of them; returns it unchanged."""
    if not isinstance(seed, str) or not _DIGITS.fullmatch(seed):
        raise SeedRefused("the seed must consist of the digits 0-9 only (no spaces or other "
                          "characters)", "随机种子只能由数字 0-9 组成（不含空格或其他字符）")
    if len(seed) < min_digits:
        raise SeedRefused(f"the seed has {len(seed)} digits; at least {min_digits} are required",
                          f"随机种子为 {len(seed)} 位，至少需要 {min_digits} 位")
    return seed


# --------------------------------------------------------------------------- tickets

def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _uniform(digest: bytes) -> str:
    """consistent-sampler's ``sha256_uniform``: the hash as a decimal integer, zero-padded
    to at least 64 digits (``"{:064d}"``), reversed (low-order, unbiased digits first),
    after "0."."""
    digits = str(int.from_bytes(digest, "big"))
    if len(digits) < 64:
        digits = digits.zfill(64)
    return "0." + digits[::-1]


def ticket(seed: object, item_id: object) -> str:
    """The first ticket of an item (抽签号), as consistent-sampler 1.0.10's ``first_fraction``:
    "0." + the reversed zero-padded decimal of SHA256(SHA256hex(str(seed)) + str(id))."""
    return _uniform(hashlib.sha256((_sha256_hex(str(seed)) + str(item_id)).encode("utf-8"))
                    .digest())


def tickets(seed: object, ids: Iterable[object]) -> list[str]:
    """``ticket`` for many ids at once (the seed hashed once)."""
    prefix = _sha256_hex(str(seed)).encode("utf-8")
    sha256, uniform = hashlib.sha256, _uniform
    return [uniform(sha256(prefix + str(item_id).encode("utf-8")).digest()) for item_id in ids]


def next_ticket(previous: str) -> str:
    """The next generation's ticket (consistent-sampler's ``next_fraction``): a pseudo-random
    number in (previous, 1) from the previous ticket alone."""
    if not isinstance(previous, str) or not re.fullmatch(r"0\.[0-9]+", previous):
        raise ValueError(f"not a ticket: {previous!r}")
    padded = previous + "0"
    first_non_9 = next(i for i in range(2, len(padded)) if padded[i] < "9")
    candidate, counter = "0.", 0
    while candidate <= padded:
        counter += 1
        digest = hashlib.sha256(f"{previous}:{counter}".encode("utf-8")).digest()
        candidate = padded[:first_non_9] + _uniform(digest)[2:]
    return candidate


def order(seed: object, items: Sequence[Item]) -> list[Item]:
    """The items in ascending ticket order (the order they are checked in). Tickets are
    decimal fractions "0.d…d": comparing them as strings is comparing them as numbers
    (a shorter prefix is the smaller); ties, which would need a SHA-256 collision, fall to
    the id, as consistent-sampler's heap of (ticket, id) does."""
    keyed = sorted(zip(tickets(seed, [item.id for item in items]), (i.id for i in items),
                       range(len(items))))
    return [items[index] for _, _, index in keyed]


def rivest_sample(seed: str, a: int, b: int, n: int, with_replacement: bool = False) -> list[int]:
    """Rivest's sampler.py (November 2011), a different, older construction kept only to
    check its published vectors: pick i = a + int(SHA256(seed + "," + str(i))) mod (b−a+1),
    i = 1, 2, …, duplicates skipped when sampling without replacement. Its picks depend on
    the range, so adding an item changes every pick; consistent-sampler's tickets (used for
    selection here) depend on the seed and the id alone."""
    size = b - a + 1
    if n < 0 or size < 1 or (not with_replacement and n > size):
        raise ValueError("infeasible request")
    picks: list[int] = []
    seen: set[int] = set()
    count = 0
    while len(picks) < n:
        count += 1
        pick = a + int(_sha256_hex(f"{seed},{count}"), 16) % size
        if with_replacement or pick not in seen:
            picks.append(pick)
            seen.add(pick)
    return picks


# --------------------------------------------------------------------------- sizes and bounds

def _fraction(value: object) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


@lru_cache(maxsize=4096)
def _sample_size(population: int, rate: Fraction, alpha: Fraction) -> int:
    bad = math.ceil(rate * population)
    good = population - bad
    # C(N-D, n)/C(N, n) = prod_{i<n} (N-D-i)/(N-i), built up exactly
    num = den = 1
    for n in range(0, population + 1):
        if num * alpha.denominator <= alpha.numerator * den:
            return n
        num *= max(good - n, 0)
        den *= population - n
    return population  # pragma: no cover - the loop returns by n = N - D + 1


def sample_size(population: int, tolerable_rate: object, risk_limit: object) -> int:
    """n₀ = min{n : C(N−D_T, n)/C(N, n) ≤ α}, D_T = ⌈p_T·N⌉ (exact): the smallest sample in
    which a unit with D_T wrong closures shows none with probability at most α."""
    if population < 0:
        raise ValueError("population must be >= 0")
    if population == 0:
        return 0
    return _sample_size(population, _fraction(tolerable_rate), _fraction(risk_limit))


def _hyper_cdf_numerator(population: int, bad: int, n: int, k: int) -> int:
    """Σ_{x≤k} C(D, x)·C(N−D, n−x): P(X ≤ k) times C(N, n)."""
    return sum(math.comb(bad, x) * math.comb(population - bad, n - x)
               for x in range(0, min(k, n) + 1))


@lru_cache(maxsize=65536)
def _upper_count(population: int, n: int, k: int, alpha: Fraction) -> int:
    total = math.comb(population, n)

    def plausible(bad: int) -> bool:  # P(X <= k | N, D=bad, n) > alpha
        return (_hyper_cdf_numerator(population, bad, n, k) * alpha.denominator
                > alpha.numerator * total)

    low, high = k, population      # plausible(k) holds: P(X <= k | D = k) = 1
    if plausible(high):
        return high
    while high - low > 1:          # invariant: plausible(low), not plausible(high)
        middle = (low + high) // 2
        if plausible(middle):
            low = middle
        else:
            high = middle
    return low


def upper_bound(population: int, n: int, k: int, risk_limit: object) -> Fraction:
    """The exact hypergeometric upper confidence bound on the wrong-closure rate (错误率上限):
    D_u/N with D_u = max{D : P(X ≤ k | N, D, n) > α}, X the errors in a simple random
    sample of n from N items of which D are wrong. P(X ≤ k) falls as D grows: bisection."""
    if not (0 <= k <= n <= population):
        raise ValueError(f"need 0 <= k <= n <= N: N={population}, n={n}, k={k}")
    if population == 0:
        return Fraction(0)
    return Fraction(_upper_count(population, n, k, _fraction(risk_limit)), population)


def _binomial_cdf(n: int, k: int, p: Fraction) -> Fraction:
    q = 1 - p
    return sum((math.comb(n, x) * p ** x * q ** (n - x) for x in range(k + 1)), Fraction(0))


def clopper_pearson_upper(n: int, k: int, alpha: object) -> float:
    """The one-sided Clopper–Pearson upper bound Beta⁻¹(1−α; k+1, n−k): the p at which
    P(Binomial(n, p) ≤ k) = α, by bisection (exact dyadic steps, 2⁻⁴⁰)."""
    if not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n")
    if k == n:
        return 1.0
    a = _fraction(alpha)
    low, high = Fraction(0), Fraction(1)
    for _ in range(40):
        middle = (low + high) / 2
        if _binomial_cdf(n, k, middle) > a:
            low = middle
        else:
            high = middle
    return float(high)


def decimal_up(value: Fraction, digits: int = BOUND_DIGITS) -> str:
    """A fraction in [0, 1] as a decimal string with ``digits`` decimals, rounded up (a
    published bound never understates)."""
    scaled = math.ceil(value * 10 ** digits)
    whole, rest = divmod(scaled, 10 ** digits)
    return f"{whole}.{rest:0{digits}d}"


# --------------------------------------------------------------------------- ALPHA

def alpha_mart(x: Sequence[object], N: float | int, t: object, eta: object,
               u: object = 1) -> Fraction:
    """ALPHA's sequentially valid p-value for H₀: population mean ≤ t (Stark, arXiv
    2201.02707), as SHANGRLA's ``NonnegMean.alpha_mart`` with the fixed-alternative estimator
    (``fixed_alternative_mean``, no shrinkage), in exact fractions:

    m_j = (N·t − S_j)/(N − j + 1) (t when N is infinite), η_j likewise from η, S_j the sum of
    the first j−1 draws; T_j = Π_{i≤j} (x_i·η_i/m_i + (u − x_i)(u − η_i)/(u − m_i))/u;
    p = min(1, 1/max_j T_j). As SHANGRLA: a term with m_j > u is 0; with m_j = 0 or u, 1; a
    product that has vanished counts as 1; m_j < 0 or a sample total above N·t proves the
    null false (p = 0). One deviation, for a valid martingale: η_j is capped at u (SHANGRLA
    would let it pass u and a product turn negative). ``N`` may be ``math.inf``."""
    p = (1, 1)
    for p in _alpha_steps(x, N, t, eta, u):
        pass
    return Fraction(*p)


def alpha_history(x: Iterable[object], N: float | int, t: object, eta: object,
                  u: object = 1) -> Iterable[Fraction]:
    """``alpha_mart``'s p-value after each draw (the running minimum: the p-value to act
    on when the sample stops there), lazily. Correct/wrong data (x in {0, 1}, u = 1) take an
    integer path (no Fraction reduced per step); anything else the plain Fraction path."""
    return (Fraction(*p) for p in _alpha_steps(x, N, t, eta, u))


def _alpha_steps(x, N, t, eta, u=1):
    """The p-values as unreduced (numerator, denominator) pairs."""
    t, eta, u = _fraction(t), _fraction(eta), _fraction(u)
    finite = not (isinstance(N, float) and math.isinf(N))
    if u == 1:
        return _alpha_history_binary(x, N, t, eta, finite)
    return ((p.numerator, p.denominator)
            for p in _alpha_history_general(x, N, t, eta, u, finite))


def _alpha_history_general(x, N, t, eta, u, finite):
    best = Fraction(0)
    product = Fraction(1)
    total = Fraction(0)
    null_false = False
    for j, value in enumerate(x, start=1):
        if finite and j > N:
            raise ValueError("sample larger than the population")
        value = _fraction(value)
        if finite:
            m = (N * t - total) / (N - j + 1)
            eta_j = min((N * eta - total) / (N - j + 1), u)
        else:
            m, eta_j = t, min(eta, u)
        total += value
        if null_false or m < 0:
            null_false = True
            yield Fraction(0)
            continue
        if m > u:
            product = Fraction(0)
            reached = Fraction(1)
        elif m == 0 or m == u:
            reached = Fraction(1)
        else:
            product *= (value * eta_j / m + (u - value) * (u - eta_j) / (u - m)) / u
            reached = product if product != 0 else Fraction(1)
        best = max(best, reached)
        if finite and total > N * t:
            yield Fraction(0)
        else:
            yield Fraction(1) if best <= 1 else 1 / best


def _alpha_history_binary(x, N, t, eta, finite):
    """The same for x_i in {0, 1}, u = 1, with m_j = M/(r·td), η_j = E/(r·ed) (r = N − j + 1)
    so that each factor is a ratio of integers: η_j/m_j = E·td/(M·ed) for a 1,
    (1 − η_j)/(1 − m_j) = (r·ed − E)·td/((r·td − M)·ed) for a 0. The running maximum is
    kept exactly; a float logarithm only spares the exact comparison where it is clear-cut
    (margin 1e-6, against rounding errors below 1e-12 over thousands of steps)."""
    tn, td, en, ed = t.numerator, t.denominator, eta.numerator, eta.denominator
    num, den, log_now = 1, 1, 0.0          # the running product T_j (unreduced), log T_j
    best_n, best_d, log_best = 0, 1, -math.inf
    total = 0
    null_false = False
    log = math.log
    for j, value in enumerate(x, start=1):
        if value != 0 and value != 1:
            raise ValueError(f"x must be 0 or 1 on this path, got {value!r}")
        if finite:
            if j > N:
                raise ValueError("sample larger than the population")
            r = N - j + 1
            big_m, big_e = N * tn - total * td, N * en - total * ed
        else:
            r, big_m, big_e = 1, tn, en
        big_e = min(big_e, r * ed)                              # η_j ≤ u
        total += value
        if null_false or big_m < 0:
            null_false = True
            yield (0, 1)
            continue
        if big_m > r * td:                                      # m_j > u
            num = 0
            reached, log_reached = (1, 1), 0.0
        elif big_m == 0 or big_m == r * td:                     # m_j = 0 or u
            reached, log_reached = (1, 1), 0.0
        else:
            if num:
                if value:
                    a, b = big_e * td, big_m * ed
                else:
                    a, b = (r * ed - big_e) * td, (r * td - big_m) * ed
                num, den = num * a, den * b
                log_now = log_now + log(a) - log(b) if a else -math.inf
            reached, log_reached = ((num, den), log_now) if num else ((1, 1), 0.0)
        if log_reached > log_best + 1e-6 or (
                log_reached > log_best - 1e-6
                and reached[0] * best_d > best_n * reached[1]):
            (best_n, best_d), log_best = reached, log_reached
        if finite and total * td > N * tn:
            yield (0, 1)
        elif best_n <= best_d:
            yield (1, 1)
        else:
            yield (best_d, best_n)


def alpha_eta_value(tolerable_rate: Fraction, alpha_eta: Fraction) -> Fraction:
    """ALPHA's η for a stratum: t + alpha_eta·(1 − t), t = 1 − p_T (the null's share of
    correct closures). η must exceed t for the test to gain anything; the campaign gives
    ``alpha_eta`` as the share of the way from t to 1."""
    t = 1 - tolerable_rate
    return t + alpha_eta * (1 - t)


@lru_cache(maxsize=4096)
def _alpha_size(population: int, rate: Fraction, risk: Fraction, alpha_eta: Fraction) -> int:
    t, eta = 1 - rate, alpha_eta_value(rate, alpha_eta)
    steps = _alpha_steps(itertools.repeat(1, population), population, t, eta)
    for n, (p_num, p_den) in enumerate(steps, start=1):
        if p_num * risk.denominator <= risk.numerator * p_den:
            return n
    return population


def alpha_sample_size(population: int, tolerable_rate: object, risk_limit: object,
                      alpha_eta: object) -> int:
    """ALPHA's first sample size: the least n at which n correct closures in a row clear the
    unit (p ≤ α); at most N (checking every item proves the rate)."""
    if population == 0:
        return 0
    return _alpha_size(population, _fraction(tolerable_rate), _fraction(risk_limit),
                       _fraction(alpha_eta))


# --------------------------------------------------------------------------- draw

@dataclass(frozen=True)
class Group:
    """One unit's items of one stratum in a round (抽查组): its population N, its sample
    size n and every id in ticket order; the sample is ``order[:size]``, "keep sampling"
    takes the next ids (``extension``)."""

    unit: str
    stratum: str
    population: int
    size: int
    order: tuple[str, ...]
    tickets: tuple[str, ...]

    @property
    def N(self) -> int:  # noqa: N802 - the published name
        return self.population

    @property
    def n(self) -> int:
        return self.size

    @property
    def sampled(self) -> tuple[str, ...]:
        return self.order[:self.size]

    def extension(self, already: int, more: int) -> tuple[str, ...]:
        """The next ``more`` ids after the first ``already`` (继续抽查)."""
        return self.order[already:already + more]


@dataclass(frozen=True)
class Draw:
    """A round's draw: the seed and a ``Group`` per (unit, stratum), sorted by unit then
    stratum; ``position`` maps each id to (group index, place in its group's order)."""

    seed: str
    groups: tuple[Group, ...]

    @cached_property
    def position(self) -> dict[str, tuple[int, int]]:
        return {item_id: (g, place) for g, group in enumerate(self.groups)
                for place, item_id in enumerate(group.order)}

    def group(self, unit: str, stratum: str) -> Group:
        for candidate in self.groups:
            if candidate.unit == unit and candidate.stratum == stratum:
                return candidate
        raise KeyError((unit, stratum))


def group_size(population: int, stratum: str, params: Params) -> int:
    """n for a group of N items: N in a full review, else n₀ (hypergeometric) or ALPHA's
    first size."""
    if params.kind == "full_review":
        return population
    rate, risk = params.rule(stratum)
    if params.method == "alpha":
        return alpha_sample_size(population, rate, risk, Fraction(params.alpha_eta))
    return sample_size(population, rate, risk)


def draw(items: Sequence[Item], seed: str, params: Params) -> Draw:
    """Order every item by its ticket and group by (unit, stratum), each with its size."""
    if params.sampler_version != SAMPLER_VERSION:
        raise ParamsError(f"these parameters are for sampler {params.sampler_version!r}; this is "
                          f"{SAMPLER_VERSION!r}",
                          f"参数所用抽样程序版本为 {params.sampler_version!r}，本程序为 {SAMPLER_VERSION!r}")
    check_seed(seed, params.seed_min_digits)
    for stratum in {item.stratum for item in items}:
        params.rule(stratum)
    members: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for item, number in zip(items, tickets(seed, [item.id for item in items])):
        key = (item.unit, item.stratum)
        slot = members.get(key)
        if slot is None:
            slot = members[key] = []
        slot.append((number, item.id))
    groups = []
    for unit, stratum in sorted(members):
        slot = members[(unit, stratum)]
        slot.sort()
        ordered = tuple(item_id for _, item_id in slot)
        groups.append(Group(unit, stratum, len(ordered),
                            group_size(len(ordered), stratum, params),
                            ordered, tuple(number for number, _ in slot)))
    result = Draw(seed, tuple(groups))
    if len(result.position) != len(items):
        raise ManifestError("duplicate item ids", "对象编号重复")
    return result


# --------------------------------------------------------------------------- evaluate

@dataclass(frozen=True)
class GroupResult:
    """What a round publishes per unit and stratum (抽查结果): N, the sample size n (with any
    extension), how many were checked, errors k (an item not produced counts), the upper
    bound (exact, and as a 6-decimal string rounded up), ALPHA's p-value where used, and
    the decision."""

    unit: str
    stratum: str
    population: int
    size: int
    sampled: tuple[str, ...]
    checked: int
    errors: int
    bound: Fraction
    bound_text: str
    decision: UnitDecision
    p_value: Fraction | None = None
    full_review: bool = False

    @property
    def N(self) -> int:  # noqa: N802 - the published name
        return self.population

    @property
    def n(self) -> int:
        return self.size

    @property
    def k(self) -> int:
        return self.errors

    def as_json(self) -> dict:
        return {"unit": self.unit, "stratum": self.stratum, "population": self.population,
                "sample_size": self.size, "sampled": list(self.sampled),
                "checked": self.checked, "errors": self.errors, "upper_bound": self.bound_text,
                "p_value": None if self.p_value is None else decimal_up(self.p_value),
                "decision": self.decision.value, "full_review": self.full_review}


def _verdicts_by_group(draw_: Draw, verdicts: Mapping[str, object]) -> dict[int, dict[int, bool]]:
    by_group: dict[int, dict[int, bool]] = {}
    for item_id, verdict in verdicts.items():
        where = draw_.position.get(item_id)
        if where is None:
            raise VerdictError(f"item {item_id!r} is not in this round's manifest",
                               f"对象 {item_id!r} 不在本轮名单中")
        try:
            value = RecheckVerdict(verdict)
        except ValueError:
            raise VerdictError(f"item {item_id!r}: unknown outcome {verdict!r}",
                               f"对象 {item_id!r}：未知的复查结论 {verdict!r}") from None
        by_group.setdefault(where[0], {})[where[1]] = value in _WRONG
    return by_group


def evaluate_group(group: Group, wrong_at: Mapping[int, bool], params: Params) -> GroupResult:
    """The result of one group from its verdicts (place in ticket order → wrong?)."""
    size = max([group.size] + [place + 1 for place in wrong_at])
    checked = len(wrong_at)
    errors = sum(wrong_at.values())
    rate, risk = params.rule(group.stratum)
    missing = size - checked
    bound = upper_bound(group.population, size, errors + missing, risk)
    complete = missing == 0
    p_value = None
    full = params.kind == "full_review"
    if full:
        decision = (UnitDecision.FULL_REVIEW if errors else
                    UnitDecision.CLEARED if complete else UnitDecision.KEEP_SAMPLING)
    elif params.method == "hypergeometric":
        decision = (UnitDecision.FULL_REVIEW if errors else
                    UnitDecision.CLEARED if complete else UnitDecision.KEEP_SAMPLING)
    else:
        prefix = []
        for place in range(size):
            if place not in wrong_at:
                break
            prefix.append(0 if wrong_at[place] else 1)
        p_value = (alpha_mart(prefix, group.population, 1 - rate,
                              alpha_eta_value(rate, Fraction(params.alpha_eta)))
                   if prefix else Fraction(1))
        cap = min(group.population, ALPHA_CAP_FACTOR * group.size)
        if p_value <= risk:
            decision = UnitDecision.CLEARED
        elif complete and size >= cap:
            decision = UnitDecision.FULL_REVIEW
        else:
            decision = UnitDecision.KEEP_SAMPLING
    return GroupResult(group.unit, group.stratum, group.population, size, group.order[:size],
                       checked, errors, bound, decimal_up(bound), decision, p_value, full)


def evaluate(draw_: Draw, verdicts: Mapping[str, object], params: Params) -> list[GroupResult]:
    """Every group's result from the re-checkers' verdicts (item id → ``RecheckVerdict``
    value). A verdict beyond a group's first n extends its sample to that place; items of
    the sample without a verdict count as wrong in the bound and keep the decision open."""
    by_group = _verdicts_by_group(draw_, verdicts)
    return [evaluate_group(group, by_group.get(g, {}), params)
            for g, group in enumerate(draw_.groups)]


def parse_verdicts(data: bytes) -> dict[str, str]:
    """A verdicts file (复查结论): one JSON object, item id → outcome value, no id twice."""
    def pairs_hook(pairs):
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            raise VerdictError("an item appears twice in the verdicts",
                               "复查结论文件中有重复的对象")
        return dict(pairs)
    try:
        raw = json.loads(bytes(data).decode("utf-8"), object_pairs_hook=pairs_hook)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerdictError(f"the verdicts are not valid UTF-8 JSON ({exc})",
                           "复查结论文件不是有效的 UTF-8 JSON") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise VerdictError("the verdicts must be one JSON object: item id → outcome",
                           "复查结论文件须为一个 JSON 对象：对象编号 → 复查结论")
    return raw


def verdicts_bytes(verdicts: Mapping[str, object]) -> bytes:
    """The canonical verdicts file a round publishes (keys sorted, no spaces, final newline)."""
    return _canonical_json({key: str(value) for key, value in verdicts.items()})


def result_bytes(results: Sequence[GroupResult], *, manifest_sha256: str | None = None,
                 seed: str | None = None, params: Params | None = None) -> bytes:
    """The canonical JSON of a round's results (抽查结果文件): every group (sorted by unit,
    stratum) with its sample and decision; with the manifest's digest, the seed and the
    parameters' digest and sampler version where given. UTF-8, final newline."""
    body: dict = {"groups": [result.as_json()
                             for result in sorted(results, key=lambda r: (r.unit, r.stratum))]}
    if manifest_sha256 is not None:
        body["manifest_sha256"] = manifest_sha256
    if seed is not None:
        body["seed"] = seed
    if params is not None:
        body["params_sha256"] = hashlib.sha256(params_bytes(params)).hexdigest()
        body["sampler_version"] = params.sampler_version
    return _canonical_json(body)
