"""Outcome charts: each indicator's mean before an operation against 3, 6 and 12 months after
it, as server-rendered SVG bars (no script; colours from the stylesheet's classes, since the
Content-Security-Policy allows no inline style). Each chart has a title and a description
that says every value, and the table beside it stays the accessible alternative."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, get_args

from contracts.indicators import Indicator
from services.api.identity import Identity
from services.api.pages.calls import Api

# The drawing's own units (the SVG scales to its container through its viewBox).
BAR, GAP, PLOT, TOP, BOTTOM = 60, 30, 120, 22, 40
SMALL = 5


async def place_outcomes(api: Api, who: Identity, place: str) -> list[dict[str, Any]]:
    """Each indicator's mean before each concluded operation against 3, 6 and 12 months
    after it (``GET /places/{place}/outcomes``): only those with a baseline or a reading."""
    rows = []
    for indicator in get_args(Indicator):
        found = await api.get(who, f"/places/{place}/outcomes", indicator=indicator)
        if not found.ok:
            continue
        for operation in found.body.get("operations", []):
            readings = operation["baseline"]["readings"] + sum(
                w["readings"] for w in operation["after"]
            )
            if readings:
                rows.append({"indicator": indicator, **operation})
    return rows


def chart(outcome: dict[str, Any], number: int, counts: bool = False) -> dict[str, Any]:
    """The bars of one outcome row (``place_outcomes``). ``counts``: the indicator counts
    people or households, and the page is public, so a mean under 5 is shown as "<5" and
    drawn as no bar (a small number could point at a household)."""
    points = [("Before", outcome["baseline"]["mean"])] + [
        (f"{w['months_after']} months after", w["mean"]) for w in outcome["after"]
    ]
    # Short enough to sit under a bar; the description says each in full.
    shorts = ["Before"] + [f"+{w['months_after']} months" for w in outcome["after"]]
    values = [Decimal(v) if v is not None else None for _, v in points]
    hidden = [counts and v is not None and 0 < v < SMALL for v in values]
    drawn = [v for v, h in zip(values, hidden, strict=True) if v is not None and not h]
    top = max(drawn, default=Decimal(0)) or Decimal(1)
    bars = []
    for i, ((label, _), value, small) in enumerate(zip(points, values, hidden, strict=True)):
        text = "<5" if small else "no readings" if value is None else f"{value.normalize():f}"
        height = 0 if value is None or small else round(float(value / top) * PLOT)
        x = GAP + i * (BAR + GAP)
        bars.append(
            {
                "label": label,
                "short": shorts[i],
                "text": text,
                "x": x,
                "middle": x + BAR // 2,
                "y": TOP + PLOT - height,
                "height": height,
                "kind": "before" if i == 0 else "after",
            }
        )
    name = f"{outcome['indicator'].replace('_', ' ')}, {outcome['name']}"
    return {
        "id": f"chart-{number}",
        "title": f"Mean {name}: before the operation and after it",
        "desc": "; ".join(f"{b['label']}: {b['text']}" for b in bars) + ".",
        "width": GAP + len(bars) * (BAR + GAP),
        "height": TOP + PLOT + BOTTOM,
        "base": TOP + PLOT,
        "label_y": TOP + PLOT + 18,
        "bars": bars,
    }
