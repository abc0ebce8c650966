"""The server-drawn charts: bars in proportion, nothing broken by zero or one value, text escaped,
and colours that reach WCAG AA on the page's background."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from mamori.portal import charts
from mamori.portal.web import STATIC
from tests.portal.test_contrast import AA, contrast, palette

SVG = "{http://www.w3.org/2000/svg}"


def parsed(chart: charts.Chart) -> ET.Element:
    return ET.fromstring(str(charts.bar_chart(chart)))


def heights(root: ET.Element) -> list[float]:
    return [
        float(r.get("height", "0")) for r in root.iter(f"{SVG}rect") if "bar" in r.get("class", "")
    ]


def chart(values: list[float], **kw: object) -> charts.Chart:
    labels = [f"2026-{i + 1:02d}" for i in range(len(values))]
    return charts.Chart(
        key="c", title="Title", description="Desc", labels=labels,
        series=[charts.Series("Requests", values)], **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_bar_heights_are_proportional_to_their_values() -> None:
    found = heights(parsed(chart([1, 2, 4, 8])))
    assert found[1] == pytest.approx(2 * found[0])
    assert found[3] == pytest.approx(8 * found[0])
    top = charts.axis_top(8)
    assert found[3] == pytest.approx(8 / top * charts.PLOT_H)


def test_stacked_bars_sit_on_each_other() -> None:
    two = charts.Chart(
        key="s",
        title="t",
        description="d",
        labels=["a"],
        series=[charts.Series("x", [3]), charts.Series("y", [1])],
        stacked=True,
    )
    bars = [r for r in parsed(two).iter(f"{SVG}rect")]
    lower, upper = bars
    assert float(upper.get("y", "0")) + float(upper.get("height", "0")) == pytest.approx(
        float(lower.get("y", "0"))
    )
    assert float(lower.get("height", "0")) == pytest.approx(3 * float(upper.get("height", "0")))
    assert charts.largest(two) == 4


def test_grouped_bars_stand_side_by_side() -> None:
    two = charts.Chart(
        key="g",
        title="t",
        description="d",
        labels=["a"],
        series=[charts.Series("x", [2]), charts.Series("y", [2])],
    )
    left, right = parsed(two).iter(f"{SVG}rect")
    assert float(right.get("x", "0")) > float(left.get("x", "0"))
    assert left.get("height") == right.get("height")
    assert left.get("class") != right.get("class")


def test_zero_data_draws_flat_bars_and_says_so() -> None:
    root = parsed(chart([0, 0, 0], empty="Nothing yet"))
    assert heights(root) == [0.0, 0.0, 0.0]
    assert any(t.text == "Nothing yet" for t in root.iter(f"{SVG}text"))
    assert charts.axis_top(0) == 1.0


def test_no_groups_at_all_is_still_a_chart() -> None:
    empty = charts.Chart(key="e", title="t", description="d", labels=[], series=[], empty="None")
    root = parsed(empty)
    assert heights(root) == []
    assert root.find(f"{SVG}title") is not None


def test_one_value_fills_the_axis_it_chose() -> None:
    root = parsed(chart([7]))
    (height,) = heights(root)
    assert height == pytest.approx(7 / 10 * charts.PLOT_H)
    assert "10" in [t.text for t in root.iter(f"{SVG}text")]


def test_the_axis_top_is_a_round_number_at_or_above_the_largest() -> None:
    assert [charts.axis_top(v) for v in (1, 3, 7, 12, 0.4, 250)] == [1, 5, 10, 20, 0.5, 500]


def test_labels_titles_and_names_are_escaped() -> None:
    nasty = '<script>alert("x")</script>&'
    drawn = charts.bar_chart(
        charts.Chart(
            key="x",
            title=nasty,
            description=nasty,
            labels=[nasty],
            series=[charts.Series(nasty, [1])],
        )
    )
    assert "<script>" not in drawn
    assert "&lt;script&gt;" in drawn
    ET.fromstring(str(drawn))  # still well-formed


def test_the_svg_is_named_and_described_for_screen_readers() -> None:
    root = parsed(chart([1, 2]))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").get("id") == "c-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == "c-desc"  # type: ignore[union-attr]
    assert "style" not in str(charts.bar_chart(chart([1, 2])))


def test_numbers_print_whole_or_with_one_decimal() -> None:
    assert [charts.number(v) for v in (3, 3.0, 2.5, 0)] == ["3", "3", "2.5", "0"]


def test_long_labels_are_cut_to_the_room_under_their_bars() -> None:
    cut = charts.short("a" * 30, 60)
    assert cut.endswith("…") and len(cut) * charts.CHAR_W <= 60
    assert charts.short("short", 100) == "short"
    wide = charts.short("個人情報の第三者提供", 60)  # wide characters take twice the room
    assert wide.endswith("…") and len(wide) <= 4


def test_a_label_may_have_a_second_line() -> None:
    root = parsed(
        charts.Chart(key="m", title="t", description="d", labels=["01\n2026", "02"],
                     series=[charts.Series("x", [1, 2])])
    )  # fmt: skip
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert ["".join(t.itertext()) for t in labels] == ["012026", "02"]
    assert [s.text for s in labels[0]] == ["01", "2026"]
    tips = [t.text for t in root.iter(f"{SVG}title")][1:]
    assert tips[0] == "01 2026 · x: 1"


def insight_palette() -> dict[str, str]:
    css = (STATIC / "console-insight.css").read_text(encoding="utf-8")
    root = re.search(r":root\s*\{(.*?)\}", css, re.S)
    assert root is not None
    return dict(re.findall(r"--([a-z0-9-]+)\s*:\s*(#[0-9a-fA-F]{6})\s*;", root.group(1)))


def test_every_tone_and_the_axis_text_reach_aa_on_the_background() -> None:
    background = palette()["bg"]
    colours = insight_palette()
    tones = [name for name in colours if name.startswith("tone-")]
    assert len(tones) == charts.TONES
    for name, colour in colours.items():
        ratio = contrast(colour, background)
        assert ratio >= AA, f"--{name} on --bg: {ratio:.2f}:1"


def test_every_tone_has_its_class() -> None:
    css = (STATIC / "console-insight.css").read_text(encoding="utf-8")
    for tone in range(charts.TONES):
        assert f".tone-{tone} {{ fill: var(--tone-{tone})" in css
