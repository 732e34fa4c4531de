"""The spot-check sampler (抽样, services/audit/sampling.py) against AUDIT-SAMPLING.md's reference
vectors and figures; pure, no I/O. The vectors are literals here, so the test means the same
without the reference package; where ``consistent-sampler`` is installed (a test dependency,
requirements.txt) the sampler is also compared with it on many ids."""
from __future__ import annotations

import hashlib
import json
import math
import random
from fractions import Fraction

import pytest

from contracts.campaign import SpotCheckRules
from contracts.vocabulary import RecheckVerdict, UnitDecision
from services.audit.sampling import (
    ALPHA_CAP_FACTOR, SAMPLER_VERSION, Item, ManifestError, Params, ParamsError, SeedRefused,
    VerdictError, _alpha_history_general, _uniform, alpha_history, alpha_mart,
    alpha_sample_size, check_seed, clopper_pearson_upper, decimal_up, draw, evaluate,
    manifest_bytes, manifest_digest, next_ticket, order, params_bytes, parse_manifest,
    parse_params, result_bytes, rivest_sample, sample_size, ticket, tickets, upper_bound,
)

SEED = "01382438112797316654"
AB130 = "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
AB130_GEN2 = "0.8232357229934205790595761924514048157652891124687533667363938813600770093316"


# ---------------------------------------------------------------- tickets and order

def test_the_first_ticket_is_consistent_samplers_for_the_docstring_example():
    assert ticket(SEED, "AB-130") == AB130
    assert tickets(SEED, ["AB-130"]) == [AB130]


def test_the_second_generation_ticket_is_consistent_samplers():
    assert next_ticket(AB130) == AB130_GEN2
    assert next_ticket(AB130_GEN2) > AB130_GEN2


def test_the_ticket_is_the_reversed_decimal_of_the_double_sha256():
    seed_hex = hashlib.sha256(SEED.encode()).hexdigest()
    number = int(hashlib.sha256((seed_hex + "AB-130").encode()).hexdigest(), 16)
    assert AB130 == "0." + f"{number:064d}"[::-1]


def test_a_hash_below_ten_to_the_63_is_zero_padded_to_64_digits_before_reversing():
    assert _uniform((5).to_bytes(32, "big")) == "0." + "5" + "0" * 63
    big = 2 ** 256 - 1                     # 78 digits: no padding
    assert _uniform(big.to_bytes(32, "big")) == "0." + str(big)[::-1]


def test_an_integer_seed_is_taken_as_its_decimal_string_and_orders_the_docstring_example():
    items = [Item(i, "u", "ordinary") for i in ["ab-1", "ab-2", "cd-1", "ef-3"]]
    assert [i.id for i in order(314159, items)] == ["cd-1", "ef-3", "ab-1", "ab-2"]
    assert [i.id for i in order("314159", items)] == ["cd-1", "ef-3", "ab-1", "ab-2"]
    # consistent-sampler's own (trimmed) tickets for that example
    assert ticket(314159, "cd-1").startswith("0.317685817")
    assert ticket(314159, "ab-2").startswith("0.9231549043")


def test_ordering_tickets_as_strings_is_ordering_them_as_numbers():
    numbers = tickets("12345678901234567890", [f"P-{i}" for i in range(3000)])
    as_fractions = [Fraction(n) for n in numbers]
    assert sorted(range(3000), key=numbers.__getitem__) == sorted(
        range(3000), key=as_fractions.__getitem__)


def test_adding_or_removing_other_items_never_reorders_the_rest():
    items = [Item(f"P-{i:04d}", f"U{i % 7}", "ordinary") for i in range(400)]
    whole = [i.id for i in order(SEED, items)]
    part = random.Random(7).sample(items, 150)
    assert [i.id for i in order(SEED, part)] == [i for i in whole if i in {p.id for p in part}]


def test_rivests_sampler_py_vectors_and_how_it_differs():
    """Rivest's sampler.py (2011) is a different construction: counter-mode SHA-256 of
    ``seed,i`` reduced modulo the range size, so its picks depend on the range; the tickets
    used for selection depend on seed and id alone (consistent-sampler, which Rivest wrote
    later for exactly that). The published vectors (cjerdonek/rivest-sampler-tests) hold."""
    assert rivest_sample("0", 1, 1000, 3) == [905, 573, 160]
    assert rivest_sample("1", 1, 1000, 3) == [97, 89, 163]
    assert rivest_sample("0000000000", 1, 1000, 3) == [978, 359, 132]
    assert rivest_sample("abcde", 1, 1000, 3) == [247, 427, 157]
    assert rivest_sample("0", 1, 2, 3, with_replacement=True) == [1, 1, 2]
    assert sorted(rivest_sample("0", 1, 10, 10)) == list(range(1, 11))


def test_the_sampler_agrees_with_the_consistent_sampler_package_where_installed():
    cs = pytest.importorskip("consistent_sampler")
    ids = [f"问题-{i}" for i in range(500)] + ["AB-130", "ab-1"]
    for seed in (SEED, 314159, "98765432109876543210"):
        assert list(cs.sampler(ids, seed=seed, output="id")) == [
            i.id for i in order(seed, [Item(x, "u", "ordinary") for x in ids])]
        assert [cs.first_fraction(x, seed) for x in ids[:50]] == tickets(seed, ids[:50])
    assert cs.next_fraction(AB130) == next_ticket(AB130)


# ---------------------------------------------------------------- manifest

ITEMS = [Item("P-2", "县公安局", "ordinary"), Item("P-1", "县教育局", "zero_report"),
         Item("Z-9", "县公安局", "high_severity")]


def test_the_manifest_is_sorted_tab_separated_utf8_with_a_final_newline():
    data = manifest_bytes(ITEMS)
    assert data == ("P-1\t县教育局\tzero_report\nP-2\t县公安局\tordinary\n"
                    "Z-9\t县公安局\thigh_severity\n").encode("utf-8")
    assert manifest_digest(data) == hashlib.sha256(data).hexdigest()
    assert parse_manifest(data) == sorted(ITEMS)
    assert manifest_bytes([]) == b"" and parse_manifest(b"") == []


def test_items_are_nfc_normalised_so_equivalent_spellings_make_one_manifest():
    decomposed = Item("Cafe\u0301-1", "单位", "ordinary")
    assert decomposed.id == "Caf\u00e9-1"
    assert manifest_bytes([decomposed]) == "Caf\u00e9-1\t单位\tordinary\n".encode()


@pytest.mark.parametrize("fields, words", [
    (("a\tb", "u", "ordinary"), "tab"), (("a", "u\n", "ordinary"), "newline"),
    (("", "u", "ordinary"), "empty"), ((" a", "u", "ordinary"), "space"),
])
def test_an_item_with_a_tab_newline_empty_or_spaced_field_is_refused(fields, words):
    with pytest.raises(ManifestError) as refused:
        Item(*fields)
    assert words in refused.value.message and refused.value.message_zh


def test_duplicate_ids_are_refused():
    with pytest.raises(ManifestError, match="duplicate"):
        manifest_bytes([Item("P-1", "a", "ordinary"), Item("P-1", "b", "ordinary")])


@pytest.mark.parametrize("data, line, words", [
    (b"P-2\tu\tordinary\nP-1\tu\tordinary\n", 2, "ascending"),
    (b"P-1\tu\tordinary\nP-1\tu\tordinary\n", 2, "duplicate"),
    (b"P-1\tu\tordinary\nP-2\tu\n", 2, "3 tab-separated"),
    (b"P-1\tu\tordinary", 1, "newline"),
    (b"P-1\tu\tordinary\r\n", 1, "control"),
    (b"P-1\tu\tordinary\nP-2\t\xff\tordinary\n", 2, "UTF-8"),
    ("P-1\tu\tordinary\nCafe\u0301\tu\tordinary\n".encode(), 2, "NFC"),
    (b"P-1\tu\tordinary\nP-2\tu \tordinary\n", 2, "space"),
    (b"\xef\xbb\xbfP-1\tu\tordinary\n", 1, "byte-order"),
])
def test_a_non_canonical_manifest_is_refused_with_its_line_number(data, line, words):
    with pytest.raises(ManifestError) as refused:
        parse_manifest(data)
    assert refused.value.line == line
    assert f"line {line}" in refused.value.message and f"第 {line} 行" in refused.value.message_zh
    assert words in refused.value.message


# ---------------------------------------------------------------- parameters and seed

CAMPAIGN = SpotCheckRules()


def test_params_from_the_campaign_keep_rates_as_exact_decimal_strings():
    params = Params.from_campaign(CAMPAIGN, period="2026-11")
    assert params.strata["ordinary"] == ("0.1", "0.05")
    assert params.strata["high_severity"] == ("0.05", "0.05")
    assert params.strata["zero_report"] == ("0.1", "0.01")
    assert params.rule("ordinary") == (Fraction(1, 10), Fraction(1, 20))
    assert params.sampler_version == SAMPLER_VERSION and params.kind == "spot_check"
    look_back = Params.from_campaign(CAMPAIGN, period="2026-11", kind="look_back",
                                     strata=["look_back"])
    assert set(look_back.strata) == {"look_back"}


def test_the_params_file_is_canonical_json_and_reads_back_only_when_canonical():
    params = Params.from_campaign(CAMPAIGN, period="2026-11")
    data = params_bytes(params)
    assert data.endswith(b"}\n") and b'", "' not in data and b'": ' not in data
    raw = json.loads(data)
    assert raw["strata"]["ordinary"] == {"risk_limit": "0.05", "tolerable_rate": "0.1"}
    assert list(raw) == sorted(raw)
    assert parse_params(data) == params
    with pytest.raises(ParamsError, match="canonical"):
        parse_params(json.dumps(raw, indent=1).encode())
    raw["strata"]["ordinary"]["tolerable_rate"] = "0.10"
    with pytest.raises(ParamsError, match="canonical"):
        parse_params(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    with pytest.raises(ParamsError):
        parse_params(b'{"strata": 1}\n')


@pytest.mark.parametrize("strata, words", [
    ({"ordinary": ("0", "0.05")}, "between 0 and 1"), ({"ordinary": ("0.1", "1")}, "between"),
    ({"nonsense": ("0.1", "0.05")}, "unknown stratum"), ({"ordinary": ("1e-1", "0.05")}, "plain"),
    ({}, "strata"),
])
def test_bad_parameters_are_refused(strata, words):
    with pytest.raises(ParamsError, match=words):
        Params(strata=strata)


def test_a_seed_must_be_digits_only_and_long_enough_with_a_bilingual_refusal():
    assert check_seed(SEED, 20) == SEED
    for bad in ("0138 2438 1127 9731 6654", "0138243811279731665x", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", 1234):
        with pytest.raises(SeedRefused) as refused:
            check_seed(bad, 20)
        assert "digits 0-9" in refused.value.message and "数字" in refused.value.message_zh
    with pytest.raises(SeedRefused) as refused:
        check_seed("1234567890", 20)
    assert "at least 20" in refused.value.message and "至少需要 20 位" in refused.value.message_zh
    assert isinstance(refused.value, ValueError) and "随机种子" in str(refused.value)


# ---------------------------------------------------------------- sizes and bounds

@pytest.mark.parametrize("population, n0", [(10, 10), (40, 21), (200, 27), (1000, 29), (0, 0)])
def test_the_sample_size_matches_the_table_of_audit_sampling_md(population, n0):
    assert sample_size(population, "0.10", "0.05") == n0
    assert sample_size(population, 0.1, 0.05) == n0


def test_the_sample_size_is_the_least_n_with_no_error_chance_at_most_alpha():
    for population in (1, 3, 10, 41, 99, 250):
        bad = math.ceil(Fraction(1, 10) * population)
        n0 = sample_size(population, "0.1", "0.05")
        def miss(n):
            return Fraction(math.comb(population - bad, n), math.comb(population, n))
        assert miss(n0) <= Fraction(1, 20)
        assert n0 == 0 or miss(n0 - 1) > Fraction(1, 20)


def test_the_tolerable_count_is_rounded_up_exactly_not_in_floating_point():
    # 0.07 * 100 is 7.000000000000001 in floating point: ceil would say 8
    assert sample_size(100, "0.07", "0.05") == sample_size(100, Fraction(7, 100), "0.05")
    assert math.ceil(0.07 * 100) == 8  # the trap avoided


def test_the_flat_ten_percent_rule_lets_a_ten_percent_bad_unit_pass_as_the_table_says():
    def passes(population, n):
        bad = math.ceil(population / 10)
        return math.comb(population - bad, n) / math.comb(population, n)
    assert round(passes(10, 1), 2) == 0.90
    assert round(passes(40, 4), 2) == 0.64
    assert round(passes(200, 20), 2) == 0.11
    assert passes(1000, 100) < 0.0001


def test_the_exact_bound_for_no_error_in_29_of_a_large_population_is_9_8_percent():
    bound = upper_bound(1_000_000, 29, 0, "0.05")
    assert decimal_up(bound) == "0.098143"
    clopper_pearson = clopper_pearson_upper(29, 0, "0.05")
    assert clopper_pearson == pytest.approx(1 - 0.05 ** (1 / 29), abs=1e-9)
    assert round(clopper_pearson, 3) == 0.098
    assert abs(float(bound) - clopper_pearson) < 1e-4


def test_the_bound_is_the_largest_count_not_rejected():
    population, n, k, alpha = 200, 27, 1, Fraction(1, 20)
    bound = upper_bound(population, n, k, alpha)
    d = bound.numerator * population // bound.denominator

    def cdf(bad):
        return Fraction(sum(math.comb(bad, x) * math.comb(population - bad, n - x)
                            for x in range(k + 1)), math.comb(population, n))
    assert cdf(d) > alpha >= cdf(d + 1)
    assert upper_bound(10, 10, 0, "0.05") == 0           # everything checked, nothing wrong
    assert upper_bound(10, 10, 3, "0.05") == Fraction(3, 10)
    assert upper_bound(10, 0, 0, "0.05") == 1
    assert clopper_pearson_upper(10, 10, "0.05") == 1.0


# ---------------------------------------------------------------- ALPHA

def test_alpha_mart_gives_the_issues_figure_for_eight_ones():
    p = alpha_mart([1] * 8, math.inf, "0.5", "0.75", 1)
    assert p == Fraction(2, 3) ** 8
    assert round(float(p), 7) == 0.0390184


def test_alpha_mart_finite_population_follows_shangrla():
    # N = 10, t = 1/2: m_1 = 1/2, eta_1 = 3/4 -> term 3/2; m_2 = (5-1)/9, eta_2 = (7.5-1)/9
    p = alpha_mart([1, 1], 10, "0.5", "0.75")
    first = Fraction(3, 2)
    second = (Fraction(13, 18) / Fraction(4, 9))
    assert p == 1 / (first * second)
    # a zero lowers the product; more ones than N*t in the sample prove the null false
    assert alpha_mart([0], 10, "0.5", "0.75") == 1
    assert alpha_mart([1] * 6, 10, "0.5", "0.75") == 0


def test_alphas_integer_path_gives_exactly_the_plain_fraction_paths_p_values():
    rng = random.Random(5)
    for _ in range(300):
        population = rng.choice([5, 10, 40, 200, math.inf])
        length = rng.randint(1, 60 if population == math.inf else min(population, 60))
        share = rng.choice([0.5, 0.9, 0.97, 1.0])
        x = [1 if rng.random() < share else 0 for _ in range(length)]
        t = Fraction(rng.choice([1, 5, 9, 19]), 20)
        eta = t + (1 - t) * Fraction(rng.choice([1, 3, 5, 7, 8]), 8)
        plain = list(_alpha_history_general(x, population, t, eta, Fraction(1),
                                            population != math.inf))
        assert list(alpha_history(x, population, t, eta)) == plain
        assert alpha_mart(x, population, t, eta) == plain[-1]
        assert all(a >= b for a, b in zip(plain, plain[1:]))   # a running minimum


def test_alpha_clears_a_clean_unit_after_its_first_size_and_tolerates_an_error_later():
    assert [alpha_sample_size(n, "0.1", "0.05", "0.75") for n in (10, 40, 200, 1000)] == [
        10, 24, 35, 37]
    t, eta = Fraction(9, 10), Fraction(9, 10) + Fraction(3, 4) * Fraction(1, 10)
    assert alpha_mart([1] * 37, 1000, t, eta) <= Fraction(1, 20) < alpha_mart([1] * 36, 1000,
                                                                               t, eta)
    assert alpha_mart([0] + [1] * 70, 1000, t, eta) <= Fraction(1, 20)


# ---------------------------------------------------------------- draw and evaluate

def population(units=6, per_unit=(40, 10, 200)):
    items = []
    for u in range(units):
        for s, (stratum, count) in enumerate(zip(("ordinary", "high_severity", "zero_report"),
                                                 per_unit)):
            items += [Item(f"{stratum[:2].upper()}-{u}-{i:04d}", f"单位{u}", stratum)
                      for i in range(count + u)]
    return items


PARAMS = Params.from_campaign(CAMPAIGN, period="2026-11")


def test_a_draw_groups_by_unit_and_stratum_with_n0_and_the_whole_ticket_order():
    items = population()
    result = draw(items, SEED, PARAMS)
    assert len(result.groups) == 18
    group = result.group("单位0", "ordinary")
    assert group.N == 40 and group.n == sample_size(40, "0.1", "0.05") == 21
    assert group.sampled == group.order[:21] and len(group.order) == 40
    assert list(group.order) == [i.id for i in order(SEED, [i for i in items
                                                            if i.unit == "单位0"
                                                            and i.stratum == "ordinary"])]
    assert group.extension(21, 3) == group.order[21:24]
    assert result.group("单位0", "zero_report").n == sample_size(200, "0.1", "0.01")
    assert list(group.tickets) == sorted(group.tickets)


def test_a_draw_refuses_a_bad_seed_an_unknown_stratum_or_another_samplers_params():
    items = population(1)
    with pytest.raises(SeedRefused):
        draw(items, "123", PARAMS)
    look_back_only = Params.from_campaign(CAMPAIGN, strata=["look_back"])
    with pytest.raises(ParamsError, match="no parameters"):
        draw(items, SEED, look_back_only)
    other = Params(strata=PARAMS.strata, sampler_version="someone-else/9")
    with pytest.raises(ParamsError, match="sampler"):
        draw(items, SEED, other)


def verdicts_for(group, wrong_places=(), count=None, value="upheld"):
    count = group.n if count is None else count
    return {item_id: ("wrong" if place in wrong_places else value)
            for place, item_id in enumerate(group.order[:count])}


def test_hypergeometric_decisions_clear_keep_sampling_and_full_review():
    result = draw(population(1), SEED, PARAMS)
    group = result.group("单位0", "ordinary")
    by = {r.stratum: r for r in evaluate(result, verdicts_for(group), PARAMS)}
    cleared = by["ordinary"]
    assert (cleared.N, cleared.n, cleared.checked, cleared.k) == (40, 21, 21, 0)
    assert cleared.decision is UnitDecision.CLEARED
    assert cleared.bound == upper_bound(40, 21, 0, "0.05")
    assert by["high_severity"].decision is UnitDecision.KEEP_SAMPLING  # nothing checked yet
    one_wrong = evaluate(result, verdicts_for(group, wrong_places={5}), PARAMS)[1]
    assert one_wrong.k == 1 and one_wrong.decision is UnitDecision.FULL_REVIEW
    partial = evaluate(result, verdicts_for(group, count=10), PARAMS)[1]
    assert partial.decision is UnitDecision.KEEP_SAMPLING and partial.checked == 10
    # the 11 unchecked items count as wrong in the published bound
    assert partial.bound == upper_bound(40, 21, 11, "0.05")


def test_an_item_that_cannot_be_produced_counts_as_wrong():
    result = draw(population(1), SEED, PARAMS)
    group = result.group("单位0", "ordinary")
    verdicts = verdicts_for(group)
    verdicts[group.order[3]] = RecheckVerdict.NOT_PRODUCED
    outcome = [r for r in evaluate(result, verdicts, PARAMS) if r.stratum == "ordinary"][0]
    assert outcome.k == 1 and outcome.decision is UnitDecision.FULL_REVIEW


def test_a_verdict_outside_the_manifest_or_with_an_unknown_outcome_is_refused():
    result = draw(population(1), SEED, PARAMS)
    with pytest.raises(VerdictError) as refused:
        evaluate(result, {"NOPE-1": "upheld"}, PARAMS)
    assert "not in this round" in refused.value.message and "不在本轮名单" in refused.value.message_zh
    with pytest.raises(VerdictError, match="unknown outcome"):
        evaluate(result, {result.groups[0].order[0]: "maybe"}, PARAMS)


def test_a_full_review_round_checks_everything_and_fails_on_any_error():
    params = Params.from_campaign(CAMPAIGN, kind="full_review")
    result = draw(population(1), SEED, params)
    group = result.group("单位0", "ordinary")
    assert group.n == group.N == 40
    outcome = evaluate(result, verdicts_for(group), params)[1]
    assert outcome.decision is UnitDecision.CLEARED and outcome.full_review
    assert outcome.bound == 0
    failed = evaluate(result, verdicts_for(group, wrong_places={39}), params)[1]
    assert failed.decision is UnitDecision.FULL_REVIEW and failed.bound == Fraction(1, 40)


def test_alpha_keeps_sampling_after_an_error_and_clears_or_escalates_later():
    params = Params.from_campaign(SpotCheckRules(method="alpha"), period="2026-11")
    result = draw(population(1, per_unit=(1000, 10, 10)), SEED, params)
    group = result.group("单位0", "ordinary")
    assert group.n == 37
    clean = [r for r in evaluate(result, verdicts_for(group), params) if r.stratum == "ordinary"]
    assert clean[0].decision is UnitDecision.CLEARED and clean[0].p_value <= Fraction(1, 20)
    one = evaluate(result, verdicts_for(group, wrong_places={0}), params)
    one = [r for r in one if r.stratum == "ordinary"][0]
    assert one.decision is UnitDecision.KEEP_SAMPLING and one.k == 1
    longer = [r for r in evaluate(result, verdicts_for(group, wrong_places={0}, count=80),
                                  params) if r.stratum == "ordinary"][0]
    assert longer.n == 80 and longer.decision is UnitDecision.CLEARED
    cap = ALPHA_CAP_FACTOR * 37
    many = [r for r in evaluate(result, verdicts_for(group, wrong_places=set(range(0, cap, 5)),
                                                     count=cap), params)
            if r.stratum == "ordinary"][0]
    assert many.decision is UnitDecision.FULL_REVIEW and many.n == cap


def test_result_bytes_are_canonical_json_of_every_group_with_the_round_header():
    items = population(2)
    result = draw(items, SEED, PARAMS)
    group = result.group("单位1", "ordinary")
    results = evaluate(result, verdicts_for(group), PARAMS)
    digest = manifest_digest(manifest_bytes(items))
    data = result_bytes(results, manifest_sha256=digest, seed=SEED, params=PARAMS)
    body = json.loads(data)
    assert data == (json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                    .encode() + b"\n")
    assert body["manifest_sha256"] == digest and body["seed"] == SEED
    assert body["params_sha256"] == hashlib.sha256(params_bytes(PARAMS)).hexdigest()
    row = [g for g in body["groups"] if g["unit"] == "单位1" and g["stratum"] == "ordinary"][0]
    n0 = sample_size(41, "0.1", "0.05")      # D_T = ceil(4.1) = 5: fewer than for N = 40
    assert n0 == 18
    assert row == {"unit": "单位1", "stratum": "ordinary", "population": 41, "sample_size": n0,
                   "sampled": list(group.sampled), "checked": n0, "errors": 0,
                   "upper_bound": decimal_up(upper_bound(41, n0, 0, "0.05")),
                   "p_value": None, "decision": "cleared", "full_review": False}
    assert result_bytes(list(reversed(results))) == result_bytes(results)
