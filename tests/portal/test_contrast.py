"""The stylesheet's palette meets WCAG 2.1 AA: a contrast ratio of at least 4.5:1.

The colours are read from ``portal.css`` itself (its ``:root`` custom
properties), so a colour changed there is checked without anyone having to
remember this test.
"""

from __future__ import annotations

import re

import pytest

from mamori.portal.web import STATIC

PAIRS = [
    ("fg", "bg"),
    ("muted", "bg"),
    ("link", "bg"),
    ("accent-fg", "accent"),
    ("error", "bg"),
    ("ok", "bg"),
    ("fg", "panel"),
    ("link", "panel"),
]
AA = 4.5


def palette() -> dict[str, str]:
    """The ``--name: #rrggbb`` properties of the stylesheet's ``:root`` rule."""
    css = (STATIC / "portal.css").read_text(encoding="utf-8")
    root = re.search(r":root\s*\{(.*?)\}", css, re.S)
    assert root is not None, "portal.css has no :root rule"
    found = re.findall(r"--([a-z-]+)\s*:\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\s*;", root.group(1))
    return {name: value for name, value in found}


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.1) of an sRGB hex colour."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_formula_matches_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("fg", "bg"), PAIRS, ids=[f"{f}-on-{b}" for f, b in PAIRS])
def test_documented_pairs_reach_aa(fg: str, bg: str) -> None:
    colours = palette()
    ratio = contrast(colours[fg], colours[bg])
    assert ratio >= AA, f"--{fg} on --{bg}: {ratio:.2f}:1"
