"""The SVG charts (kit/charts.py): valid XML, escaped text, the numbers drawn to scale, an
empty chart that still says what it is, and nothing a strict CSP would block."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from kit import charts
from kit.charts import Row, Series

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def bars(root: ET.Element, color: str) -> list[float]:
    """Widths of the bars of one colour (not the legend's 14×14 swatches)."""
    return [float(r.get("width")) for r in root.iter(f"{SVG}rect")
            if r.get("fill") == color and r.get("height") != "14"]


def test_a_bar_chart_is_valid_svg_labelled_by_its_title_and_description():
    svg = charts.bar_chart([Row.of("已交办", 12), Row.of("已登记", 3)], chart_id="by-state",
                           title="按状态", desc="各状态的问题数")
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "by-state-title by-state-desc"
    assert root.find(f"{SVG}title").text == "按状态"
    assert root.find(f"{SVG}title").get("id") == "by-state-title"
    assert root.find(f"{SVG}desc").text == "各状态的问题数"
    assert texts(root) == ["已交办", "12", "已登记", "3"]


def test_bars_are_drawn_to_scale_and_a_zero_draws_no_bar():
    root = parse(charts.bar_chart([Row.of("a", 40), Row.of("b", 10), Row.of("c", 0)],
                                  chart_id="c", title="t", desc="d"))
    widths = bars(root, charts.PALETTE["blue"])
    assert len(widths) == 2  # no rect for zero
    assert widths[0] == pytest.approx(charts.WIDTH - charts.VALUE_ROOM)
    assert widths[1] == pytest.approx(widths[0] / 4, abs=0.1)
    assert texts(root)[-1] == "0"


def test_text_and_links_are_escaped():
    nasty = '<script>alert("x")</script> & 某单位'
    svg = charts.bar_chart([Row.of(nasty, 5, href="/workbench/problems?unit=a&state=b")],
                           chart_id="x", title="<&标题>", desc='"说明" & <更多>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "<&标题>"
    assert root.find(f"{SVG}desc").text == '"说明" & <更多>'
    row = root.find(f"{SVG}g")
    assert row.get("data-href") == "/workbench/problems?unit=a&state=b"
    assert root.find(f".//{SVG}a") is None  # nothing focusable inside an image
    assert texts(root)[0].startswith("<script>")


def test_an_empty_chart_is_valid_and_says_so():
    for svg in (charts.bar_chart([], chart_id="e", title="按类别", desc="无"),
                charts.stacked_bar_chart([], [Series("甲", "#1d4f91")], chart_id="e",
                                         title="按单位", desc="无"),
                charts.rate_chart([], [Series("按期率", "#1d4f91")], chart_id="e",
                                  title="比率", desc="无", empty_text="暂无数据")):
        root = parse(svg)
        assert root.get("role") == "img" and root.find(f"{SVG}title").text
        assert texts(root) in (["无数据"], ["暂无数据"])
    all_zero = parse(charts.bar_chart([Row.of("a", 0)], chart_id="z", title="t", desc="d"))
    assert bars(all_zero, charts.PALETTE["blue"]) == [] and texts(all_zero) == ["a", "0"]


def test_a_stack_shows_each_part_to_scale_with_its_total():
    series = [Series("已销号", charts.PALETTE["green"]), Series("超期", charts.PALETTE["red"])]
    root = parse(charts.stacked_bar_chart(
        [Row.of("甲单位", [30, 10]), Row.of("乙单位", [0, 20])], series, chart_id="s",
        title="按单位", desc="d"))
    green, red = bars(root, charts.PALETTE["green"]), bars(root, charts.PALETTE["red"])
    room = charts.WIDTH - charts.VALUE_ROOM
    assert green == [pytest.approx(room * 30 / 40)]
    assert red == [pytest.approx(room * 10 / 40),
                                           pytest.approx(room * 20 / 40)]
    words = texts(root)
    assert words[:2] == ["已销号", "超期"]  # the legend
    assert words[2:] == ["甲单位", "40", "乙单位", "20"]
    tips = [t.text for t in root.iter(f"{SVG}title")][1:]
    assert tips == ["已销号：30", "超期：10", "超期：20"]


def test_rates_are_percentages_of_a_full_track_and_a_missing_rate_is_a_dash():
    series = [Series("按期率", charts.PALETTE["blue"]), Series("超期率", charts.PALETTE["red"])]
    root = parse(charts.rate_chart([Row.of("甲", [0.875, 0.125]), Row.of("乙", [None, 0.0])],
                                   series, chart_id="r", title="t", desc="d"))
    room = charts.WIDTH - charts.VALUE_ROOM
    assert bars(root, charts.PALETTE["blue"]) == [
        pytest.approx(room * 0.875)]
    assert bars(root, charts.PALETTE["red"]) == [
        pytest.approx(room * 0.125)]
    assert texts(root)[2:] == ["甲", "87.5%", "12.5%", "乙", "—", "0.0%"]


def test_nothing_a_strict_csp_blocks_and_no_script():
    svg = charts.stacked_bar_chart([Row.of("a", [1, 2], href="/x")],
                                   [Series("p", "#1d4f91"), Series("q", "#00703c")],
                                   chart_id="n", title="t", desc="d")
    root = parse(svg)
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert not any(name.startswith("on") for name in element.attrib), element.tag
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject")
    assert not re.search(r"javascript:", svg, re.I)


def test_the_palette_and_the_ink_meet_wcag_aa_on_white():
    for name, color in charts.PALETTE.items():
        assert charts.contrast(color) >= 4.5, name
    assert charts.contrast(charts.INK) >= 7
    assert charts.contrast("#ffffff") == pytest.approx(1.0)
    assert charts.contrast("#000000") == pytest.approx(21.0)


def test_numbers_and_long_labels():
    assert charts.number(12345) == "12,345" and charts.number(None) == "—"
    assert charts.percent(0.5) == "50.0%" and charts.percent(None) == "—"
    assert charts.percent(1) == "100.0%"
    long = "演示" * 40
    cut = charts.fit(long, 100)
    assert cut.endswith("…") and charts.text_width(cut) <= 100
    assert charts.fit("短", 100) == "短"
    assert charts.text_width("中文") == 2 * charts.FONT_SIZE
    assert charts.text_width("ab") == pytest.approx(2 * 0.6 * charts.FONT_SIZE)
