"""The monthly bulletin's rules (月通报): rows, rankings by rates, small units apart."""
import pytest

from kit import bulletin as b
from kit.bulletin import UnitFigures


def fig(unit, registered, open_=0, closed=0, rectified=0, overdue=0, **kw):
    return UnitFigures(unit=unit, name_zh=f"{unit}镇", registered=registered, open=open_,
                       closed=closed, rectified=rectified, overdue=overdue, **kw)


def test_rows_carry_rates_and_none_where_nothing_to_divide():
    out = b.compose("2026-11", [fig("a", 10, open_=4, closed=6, rectified=3, overdue=1),
                                fig("b", 6, open_=0, closed=6, rectified=6)])
    a, bb = out.rows
    assert (a.on_time_rate, a.rectified_rate, a.overdue_rate) == (0.75, 0.5, 0.25)
    assert bb.on_time_rate is None and bb.overdue_rate is None and bb.rectified_rate == 1.0
    assert a.satisfaction is None           # the column shows "—" until follow-up exists
    assert out.totals["registered"] == 16 and out.totals["rectified_rate"] == 0.75


def test_small_units_are_listed_apart_not_ranked():
    big = fig("big", 200, open_=100, closed=100, rectified=40, overdue=10)
    tiny = fig("tiny", 2, open_=1, closed=1, rectified=1, overdue=0)   # 100 % on 2 problems
    out = b.compose("2026-11", [big, tiny], min_problems=5)
    for ranking in out.rankings:
        assert [r["unit"] for r in ranking.ranked] == ["big"]
    assert [r.unit for r in out.small_units] == ["tiny"]
    # the threshold is configurable: at 1, both are ranked and the tiny one leads
    out = b.compose("2026-11", [big, tiny], min_problems=1)
    on_time = next(r for r in out.rankings if r.key == "rectified_rate")
    assert [r["unit"] for r in on_time.ranked] == ["tiny", "big"]
    assert out.small_units == []


def test_rankings_share_places_on_ties_and_lower_overdue_is_better():
    units = [fig("a", 10, open_=10, overdue=2), fig("b", 20, open_=10, overdue=2),
             fig("c", 10, open_=10, overdue=5)]
    out = b.compose("2026-11", units, min_problems=1)
    overdue = next(r for r in out.rankings if r.key == "overdue_rate")
    assert [(r["rank"], r["unit"]) for r in overdue.ranked] == [(1, "b"), (1, "a"), (3, "c")]
    on_time = next(r for r in out.rankings if r.key == "on_time_rate")
    assert [(r["rank"], r["unit"]) for r in on_time.ranked] == [(1, "b"), (1, "a"), (3, "c")]


def test_unit_without_rate_is_not_ranked_on_it():
    out = b.compose("2026-11", [fig("a", 10, closed=10, rectified=9)], min_problems=1)
    on_time = next(r for r in out.rankings if r.key == "on_time_rate")
    assert on_time.ranked == []


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-11", "", None, "2026-11-01"])
def test_bad_month_refused_bilingual(month):
    with pytest.raises(b.BulletinRefused) as err:
        b.compose(month, [])
    assert err.value.code == "invalid_bulletin" and "月份" in err.value.message_zh


def test_cases_deduplicated_and_checked():
    assert b.compose("2026-11", [], cases=["p1", "p2", "p1"]).cases == ["p1", "p2"]
    with pytest.raises(b.BulletinRefused):
        b.compose("2026-11", [], cases=["<script>"])
    with pytest.raises(b.BulletinRefused):
        b.compose("2026-11", [], min_problems=0)


def test_figures_from_rollup_rows_every_expected_unit_appears():
    rollup = [{"unit": "t1", "unit_zh": "一镇", "total": 7, "open": 3, "closed": 4,
               "struck_off": 2, "overdue": 1, "stalled": 1},
              {"unit": None, "total": 1}]
    out = b.figures_from(rollup, {"t1": "城关镇", "t2": "河口乡"}, {"t2": 3}, {"t1": 1},
                         expected=["t1", "t2"])
    assert [(f.unit, f.name_zh, f.registered, f.missing_reports, f.contradicted_zero)
            for f in out] == [("t1", "城关镇", 7, 0, 1), ("t2", "河口乡", 0, 3, 0)]
    assert out[0].rectified == 2 and out[0].satisfaction is None
    fresh = b.figures_from(rollup, {}, {}, {}, expected=["t1"], new={"t1": 2, "t3": 1})
    assert [(f.unit, f.new_in_month) for f in fresh] == [("t1", 2), ("t3", 1)]
    assert b.compose("2026-11", fresh).totals["new_in_month"] == 3
    with_sat = b.figures_from([{"unit": "t1", "total": 1, "satisfaction": 0.9}], {}, {}, {})
    assert with_sat[0].satisfaction == 0.9
    # the roll-up's return-visit counts (回访): the rate only where someone answered
    rows = [{"unit": "t1", "satisfaction": {"satisfied": 3, "dissatisfied": 1},
             "satisfaction_answers": 4, "satisfaction_rate": 0.75},
            {"unit": "t2", "satisfaction": {}, "satisfaction_answers": 0,
             "satisfaction_rate": 0.0}]
    assert [f.satisfaction for f in b.figures_from(rows, {}, {}, {})] == [0.75, None]


def test_trend_takes_the_months_published_before_and_this_one():
    from gateway.workbench import bulletin_doc
    current = b.compose("2017-10", [fig("a", 10, open_=10, overdue=5)])
    published = [{"month": m, "totals": {"on_time_rate": r}} for m, r in
                 (("2017-09", 0.8), ("2017-08", 0.9), ("2017-11", 0.1))]
    assert bulletin_doc.trend_of(published, current) == [
        ("2017-08", 0.9), ("2017-09", 0.8), ("2017-10", 0.5)]
    doc = bulletin_doc.document(current, head={"seq": 1, "hash": "f" * 64}, as_of="", weeks=[],
                                trend=bulletin_doc.trend_of(published, current))
    trend_svg = str(doc.charts[-1])
    assert 'id="bulletin-trend"' in trend_svg and "2017-08" in trend_svg and "50.0%" in trend_svg
    assert "<script" not in trend_svg and "style=" not in trend_svg   # CSP-safe


def test_the_page_fragment_shows_dash_for_absent_satisfaction_and_the_head():
    from gateway.workbench import bulletin_doc
    current = b.compose("2017-10", [fig("a", 10, open_=10, overdue=5),
                                    fig("s", 9, satisfaction=0.875)])
    html = bulletin_doc.html(bulletin_doc.document(current, head={"seq": 7, "hash": "e" * 64},
                                                   as_of="2017-11-06", weeks=["2017-W41"]))
    row_a = html.split('id="row-a"')[1].split("</tr>")[0]
    assert row_a.rstrip().endswith("<td>—</td>") and "87.5%" in html
    assert "e" * 64 in html and '<span id="chain-seq">7</span>' in html


def test_the_digest_names_the_figures_reviewed():
    one = b.compose("2017-10", [fig("a", 10, open_=4, overdue=1)])
    assert one.digest() == b.compose("2017-10", [fig("a", 10, open_=4, overdue=1)]).digest()
    assert one.digest() != b.compose("2017-10", [fig("a", 10, open_=4, overdue=2)]).digest()
    assert one.digest() != b.compose("2017-10", [fig("a", 10, open_=4, overdue=1)],
                                     cases=["p1"]).digest()


def test_rectified_on_time_counts_the_local_day_of_the_report_against_the_deadline():
    from datetime import date, datetime, timezone
    from zoneinfo import ZoneInfo
    from kit.bulletin import on_time_counts
    tz = ZoneInfo("Asia/Shanghai")
    late_utc = datetime(2017, 7, 31, 16, 30, tzinfo=timezone.utc)    # 08-01 00:30 local
    in_time_utc = datetime(2017, 7, 31, 15, 30, tzinfo=timezone.utc)  # 07-31 23:30 local
    naive = datetime(2017, 7, 1, 8, 0)                                 # SQLite: naive UTC
    rows = [("a", date(2017, 7, 31), in_time_utc), ("a", date(2017, 7, 31), late_utc),
            ("b", date(2017, 7, 31), naive), ("b", None, naive), (None, date(2017, 7, 31), naive)]
    assert on_time_counts(rows, tz) == {"a": 1, "b": 1}


def test_the_rectified_on_time_rate_and_overturned_closures_reach_rows_totals_and_rankings():
    figures = b.figures_from(
        [{"unit": "u1", "total": 10, "open": 2, "closed": 8, "struck_off": 4},
         {"unit": "u2", "total": 6, "open": 6, "closed": 0, "struck_off": 0}],
        {"u1": "一", "u2": "二"}, {}, {}, on_time={"u1": 3}, overturned={"u2": 2, "u3": 1})
    out = b.compose("2017-10", figures, min_problems=5)
    rows = {r.unit: r for r in out.rows}
    assert (rows["u1"].rectified_on_time, rows["u1"].rectified_on_time_rate) == (3, 0.75)
    assert rows["u2"].rectified_on_time_rate is None and rows["u2"].overturned == 2
    assert rows["u3"].overturned == 1          # a unit known only by its overturned closure
    assert out.totals["overturned"] == 3 and out.totals["rectified_on_time_rate"] == 0.75
    ranked = next(r for r in out.rankings if r.key == "rectified_on_time_rate").ranked
    assert [e["unit"] for e in ranked] == ["u1"]


def test_spot_check_results_are_printed_per_unit_and_stratum_in_chinese():
    rows = b.spot_check_rows([
        {"unit": "u2", "stratum": "zero_report", "population": 12, "sampled": 12, "checked": 12,
         "errors": 0, "upper_bound": "0.166667", "decision": "cleared", "round_id": "r1"},
        {"unit": "u1", "stratum": "ordinary", "population": 40, "sampled": 21, "checked": 21,
         "errors": 1, "upper_bound": "0.200000", "decision": "full_review"}], {"u1": "一中"})
    assert [(r["name_zh"], r["stratum_zh"], r["decision_zh"]) for r in rows] == [
        ("一中", "查否问题(一般类别)", "全面复查"), ("u2", "零报告", "通过")]
    assert "round_id" not in rows[1]          # what is printed, nothing else
    out = b.compose("2017-10", [], min_problems=1, spot_checks=rows)
    assert out.to_dict()["spot_checks"] == rows
