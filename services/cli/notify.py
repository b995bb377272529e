"""``chb agency contact add|test|list|disable`` and ``chb notifications``: agencies' contact
points and what was sent to them, through the running API (notify keeps both).

Registered on the root by services/cli/__init__.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from services.cli.client import call
from services.cli.output import AsJson, console, fail, show

PURPOSE_HELP = "intake, lead, chair, operators or worker"

contact_app = typer.Typer(
    help="An agency's contact points: where its notifications go.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@contact_app.command("add")
def contact_add(
    agency: Annotated[str, typer.Argument(help="The agency's code (chb: the operators')")],
    reason: Annotated[str, typer.Option(help="Why it is added (kept on the record)")],
    url: Annotated[str | None, typer.Option(help="A webhook's URL (Standard Webhooks)")] = None,
    secret: Annotated[
        str | None, typer.Option(help="The webhook's secret (whsec_...); made if not given")
    ] = None,
    email: Annotated[str | None, typer.Option(help="An e-mail address")] = None,
    purpose: Annotated[str, typer.Option(help=PURPOSE_HELP)] = "intake",
    worker_ref: Annotated[str | None, typer.Option(help="For purpose worker: whose")] = None,
) -> None:
    """Add a webhook (--url) or an e-mail address (--email). A webhook's secret is printed
    this once and never shown again."""
    if bool(url) == bool(email):
        fail("give --url or --email, one of them", 2)
    body = {
        "action": "add",
        "purpose": purpose,
        "url": url,
        "secret": secret,
        "address": email,
        "worker_ref": worker_ref,
        "reason": reason,
    }
    made = call("POST", f"/agencies/{agency}/contacts", {k: v for k, v in body.items() if v})
    console.print(f"{made['contact_id']}: {made['channel']} {made['purpose']} added")
    if "secret" in made:
        console.print(f"secret (shown once): {made['secret']}", soft_wrap=True)


def _change(action: str, agency: str, contact_id: str, reason: str | None) -> Any:
    body = {"action": action, "contact_id": contact_id, "reason": reason}
    return call("POST", f"/agencies/{agency}/contacts", {k: v for k, v in body.items() if v})


@contact_app.command("test")
def contact_test(agency: str, contact_id: str) -> None:
    """Send a ping to one contact point; `chb notifications --agency` shows how it went."""
    done = _change("test", agency, contact_id, None)
    console.print(f"ping queued: notification {done['notification_id']}")


@contact_app.command("disable")
def contact_disable(
    agency: str,
    contact_id: str,
    reason: Annotated[str, typer.Option(help="Why (kept on the record)")],
) -> None:
    """Stop sending to one contact point."""
    _change("disable", agency, contact_id, reason)
    console.print(f"{contact_id}: disabled")


@contact_app.command("list")
def contact_list(agency: str, as_json: AsJson = False) -> None:
    """An agency's contact points (never their URLs, secrets or addresses)."""
    rows = call("GET", f"/agencies/{agency}/contacts")
    columns = ["contact_id", "channel", "purpose", "label", "status", "disabled_why"]
    show(rows, columns, as_json, "contact points")


def notifications(
    agency: Annotated[str | None, typer.Option(help="Those sent to this agency")] = None,
    task: Annotated[str | None, typer.Option(help="Those about this task")] = None,
    status: Annotated[
        str | None, typer.Option(help="queued, attempting, failed, delivered or given_up")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """What was sent to whom, and how it went."""
    params = {k: v for k, v in {"agency": agency, "task": task, "status": status}.items() if v}
    rows = call("GET", "/notifications", params=params)
    if not as_json:
        rows = [
            {**r, "task": r["item_id"] or "", "when": r["delivered_at"] or r["queued_at"]}
            for r in rows
        ]
    columns = ["when", "kind", "agency", "purpose", "channel", "status", "attempts", "task"]
    show(rows, columns, as_json, "notifications")


def register(app: typer.Typer, agency_app: typer.Typer) -> None:
    agency_app.add_typer(contact_app, name="contact")
    app.command("notifications")(notifications)
