"""Reports per place that people would rather look at than read: HTML with PNG charts.

The full report is for the leadership group. The public one holds only aggregates, and any
count under the threshold is shown as "<N" so that no household can be singled out.
"""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no screen on a server
import matplotlib.pyplot as plt
from matplotlib.dates import date2num

from services.runtime.dead_letters import NIL

SUPPRESS_BELOW = 5
# Counts that describe people or households, suppressed in the public report when small.
PERSONAL_COUNTS = ("households", "children", "tasks", "overdue", "people_engaged")


def suppress(count: int | None, threshold: int = SUPPRESS_BELOW) -> str:
    if count is None:
        return "-"
    return f"<{threshold}" if 0 < count < threshold else str(count)


def _chart(
    out: Path,
    name: str,
    series: list[tuple[date, float]],
    operations: list[dict[str, Any]],
    title: str,
    unit: str,
) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    ax.plot([date2num(d) for d, _ in series], [v for _, v in series], marker="o", linewidth=1.5)
    for op in operations:
        launched = date2num(date.fromisoformat(op["launched"]))
        concluded = date2num(date.fromisoformat(op["concluded"]))
        ax.axvspan(launched, concluded + 1, alpha=0.2, color="tab:red")
        ax.annotate(op["name"], (launched, ax.get_ylim()[1]), fontsize=7, va="top")
    ax.xaxis_date()
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    path = out / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path.name


def _audience(public: bool, threshold: int) -> str:
    if public:
        return (
            f"Public report: aggregates only; counts under {threshold} are shown as "
            f"&lt;{threshold} so that no household can be singled out."
        )
    return "Leadership group report."


def write_place_report(
    place: str,
    data: dict[str, Any],
    out: Path,
    public: bool = False,
    threshold: int = SUPPRESS_BELOW,
) -> Path:
    """Write ``index.html`` and its charts into ``out``; returns the HTML file.

    ``data`` holds what the API serves for the place: ``operations`` (with launched,
    concluded and hold summary), ``indicators`` (rows), ``milestones``, ``programmes``.
    """
    out.mkdir(parents=True, exist_ok=True)
    esc = html.escape

    def count(n: int | None) -> str:
        if public:
            return esc(suppress(n, threshold))
        return "-" if n is None else str(n)

    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>{esc(place)}: Clear, Hold, Build</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:.3em .6em;text-align:left}img{max-width:100%}</style>",
        f"<h1>{esc(place)}</h1>",
        f"<p>{_audience(public, threshold)} Made {datetime.now().date().isoformat()}.</p>",
    ]

    ops = data.get("operations", [])
    parts.append(
        "<h2>Operations and the support that followed</h2><table><tr><th>operation</th>"
        "<th>launched</th><th>concluded</th><th>households</th><th>children</th>"
        "<th>tasks</th><th>done within due time</th><th>overdue</th></tr>"
    )
    for op in ops:
        hold = op.get("hold", {})
        share = hold.get("share_done_within_due_time")
        shown = "-" if share is None else f"{share:.0%}"
        if share is not None and nothing_due_yet(hold):
            shown = "nothing due yet"  # not 0%: no task has reached its due time, none done
        parts.append(
            f"<tr><td>{esc(op['name'])}</td><td>{esc(op['launched'])}</td>"
            f"<td>{esc(op['concluded'])}</td><td>{count(hold.get('households'))}</td>"
            f"<td>{count(hold.get('children'))}</td><td>{count(hold.get('tasks'))}</td>"
            f"<td>{shown}</td>"
            f"<td>{count(hold.get('overdue'))}</td></tr>"
        )
    parts.append("</table>")

    by_series: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in data.get("indicators", []):
        by_series[(row["indicator"], row.get("series", ""))].append(row)
    if by_series:
        parts.append("<h2>Outcome indicators around each operation</h2>")
    for (indicator, series), rows in sorted(by_series.items()):
        points = sorted((date.fromisoformat(r["period_start"]), float(r["value"])) for r in rows)
        label = indicator.replace("_", " ") + (f" ({series})" if series else "")
        name = f"{indicator}-{series or 'all'}"
        image = _chart(out, name, points, ops, label, rows[0]["unit"])
        parts.append(f"<h3>{esc(label)}</h3><img src='{esc(image)}' alt='{esc(label)}'>")

    parts.append(
        "<h2>Milestones</h2><table><tr><th>due</th><th>milestone</th><th>operation</th>"
        "<th>owner</th><th>status</th></tr>"
    )
    # Each operation concluded in the place has its own milestones with the same labels: a
    # row names its operation, or the place for one added to the plan itself.
    names = {
        o["operation_id"]: f"{o['name']} ({o['operation_id'][:8]})"
        for o in ops
        if "operation_id" in o
    }
    for m in sorted(data.get("milestones", []), key=lambda m: (m["due_at"], m["label"])):
        operation_id = m.get("operation_id") or str(NIL)
        operation = names.get(operation_id, operation_id[:8])
        if operation_id == str(NIL):
            operation = "the place's own"
        parts.append(
            f"<tr><td>{esc(m['due_at'][:10])}</td><td>{esc(m['label'])}</td>"
            f"<td>{esc(operation)}</td><td>{esc(m['owner_agency'])}</td>"
            f"<td>{esc(m['status'])}</td></tr>"
        )
    parts.append("</table>")

    parts.append(
        "<h2>Programmes</h2><table><tr><th>programme</th><th>focus area</th>"
        "<th>committed</th><th>spent</th><th>people engaged</th>"
        "<th>social return per $1</th></tr>"
    )
    total_committed, total_spent = Decimal("0.00"), Decimal("0.00")
    for p in data.get("programmes", []):
        total_committed += Decimal(p["committed"])
        total_spent += Decimal(p["spent"])
        sroi = p.get("social_return")
        parts.append(
            f"<tr><td>{esc(p['name'])}</td><td>{esc(p['focus_area'].replace('_', ' '))}</td>"
            f"<td>${Decimal(p['committed']):,.2f}</td><td>${Decimal(p['spent']):,.2f}</td>"
            f"<td>{count(p.get('people_engaged'))}</td>"
            f"<td>{'-' if sroi is None else '$' + esc(sroi)}</td></tr>"
        )
    parts.append(
        f"<tr><th>total</th><th></th><th>${total_committed:,.2f}</th>"
        f"<th>${total_spent:,.2f}</th><th></th><th></th></tr></table>"
    )

    if not public:
        cases = data.get("cases", [])
        if cases:
            parts.append(
                "<h2>Households (leadership group only)</h2><table><tr>"
                "<th>household</th><th>children</th><th>arrests</th></tr>"
            )
            for c in cases:
                parts.append(
                    f"<tr><td>{esc(c['household_ref'])}</td><td>{c['children']}</td>"
                    f"<td>{len(c['arrest_ids'])}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</html>")
    page = out / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page


def nothing_due_yet(hold: dict[str, Any]) -> bool:
    """No task overdue and none finished: none has reached its due time yet, so a share done
    within due time (0) says nothing."""
    finished = ("completed", "closed")
    by_status = hold.get("tasks_by_status", {})
    return not hold.get("overdue") and not any(by_status.get(s) for s in finished)
