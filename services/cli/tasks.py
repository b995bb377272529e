"""``chb task``: work a support task (accept, decline, offer, assign, start, consent,
complete, close, note) and show its history."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from contracts.commands import CloseReason, DeclineReason
from services.cli.client import call
from services.cli.output import AsJson, console, fail, show, show_json
from services.cli.root import group

task_app = group("task", "Work support tasks: accept, decline, assign, ...")

Agency = Annotated[str, typer.Option(help="Your agency (the one holding the task)")]
# The coded reasons the API takes (contracts.commands), as choices on the command line.
DeclineCode = Annotated[DeclineReason, typer.Option("--code", help="Why, as a code")]
CloseCode = Annotated[CloseReason, typer.Option("--code", help="Why, as a code")]
Words = Annotated[
    str | None, typer.Option(help="Why in words (needed for 'other'); sealed, never shown")
]


def act(action: str, task_id: str, agency: str, **details: Any) -> None:
    """Act as someone at ``agency``: with ``CHB_TOKEN`` the token decides who that is (and
    must be that agency's); locally, a token for that agency is minted with the key `chb up`
    keeps (``CHB_ACTOR_ID`` sets the person reference recorded on each step)."""
    from services.api.identity import Identity, issue_token, local_signing_key
    from services.runtime.settings import Settings

    headers = {}
    if not os.environ.get("CHB_TOKEN"):
        settings = Settings()
        key = local_signing_key(settings.jwt_key, settings.data_dir)
        if key is None:
            fail("no token: set CHB_TOKEN to a token for someone at " + agency, 2)
        role = "leadership_group_chair" if action == "offer" else "agency_worker"
        person = Identity(os.environ.get("CHB_ACTOR_ID", "local-user"), role, agency)
        headers["Authorization"] = f"Bearer {issue_token(key, settings.jwt_issuer, person)}"
    body = {k: v for k, v in details.items() if v is not None}
    result = call("POST", f"/tasks/{task_id}/{action}", body or None, headers=headers)
    console.print(f"{result['task_id']}: {result['status']} ({result['agency'] or 'no agency'})")


@task_app.command("accept")
def task_accept(task_id: str, agency: Agency) -> None:
    """Accept a task offered to your agency."""
    act("accept", task_id, agency)


@task_app.command("decline")
def task_decline(task_id: str, agency: Agency, code: DeclineCode, reason: Words = None) -> None:
    """Decline with a coded reason: the task goes to the next agency in its chain."""
    act("decline", task_id, agency, reason_code=code, reason=reason)


@task_app.command("offer")
def task_offer(
    task_id: str,
    to_agency: Annotated[str, typer.Option(help="The agency to place it with")],
    agency: Annotated[str, typer.Option(help="Your agency (you act as its chair)")],
) -> None:
    """Place a task with an agency (the leadership group, when the chain has run out)."""
    act("offer", task_id, agency, to_agency=to_agency)


@task_app.command("assign")
def task_assign(
    task_id: str, agency: Agency, worker: Annotated[str, typer.Option(help="Worker reference")]
) -> None:
    """Assign (or reassign) to a worker of your agency."""
    act("assign", task_id, agency, worker_ref=worker)


@task_app.command("start")
def task_start(task_id: str, agency: Agency) -> None:
    """Mark the work as in progress."""
    act("start", task_id, agency)


@task_app.command("consent")
def task_consent(
    task_id: str,
    agency: Agency,
    referral_agency: Annotated[str, typer.Option(help="The agency referred to")],
    override_role: Annotated[str | None, typer.Option(help="For an override: your role")] = None,
    reason: Annotated[str | None, typer.Option(help="For an override: why")] = None,
) -> None:
    """Record consent to a referral (or, with --override-role and --reason, an override)."""
    act(
        "consent",
        task_id,
        agency,
        referral_agency=referral_agency,
        consent="override" if override_role else "given",
        override_role=override_role,
        reason=reason,
    )


@task_app.command("complete")
def task_complete(
    task_id: str,
    agency: Agency,
    outcome: Annotated[str, typer.Option(help="What was done")],
    referral_agency: Annotated[str | None, typer.Option(help="Referred on to")] = None,
) -> None:
    """Complete with an outcome."""
    act("complete", task_id, agency, outcome=outcome, referral_agency=referral_agency)


@task_app.command("close")
def task_close(task_id: str, agency: Agency, code: CloseCode, reason: Words = None) -> None:
    """Close as unable to complete, with a coded reason."""
    act("close", task_id, agency, reason_code=code, reason=reason)


@task_app.command("note")
def task_note(task_id: str, agency: Agency, text: str) -> None:
    """Add a note to a task."""
    act("note", task_id, agency, text=text)


@task_app.command("show")
def task_show(task_id: str, as_json: AsJson = False) -> None:
    """A task and its whole history."""
    task = call("GET", f"/tasks/{task_id}")
    if as_json:
        show_json(task)
        return
    console.print(
        f"{task['kind']} for case {task['case_id']}: {task['status']}, held by "
        f"{task['agency'] or 'no agency'}, due {task['due_at']} ({task['playbook']} "
        f"rule {task['rule_id']})",
        highlight=False,
    )
    rows = [
        {
            "at": step["at"],
            "change": step["change"],
            "who": f"{step['actor']['id']} ({step['actor']['agency']}, {step['actor']['role']})",
            "detail": ", ".join(f"{k}={v}" for k, v in step["detail"].items()),
        }
        for step in task["history"]
    ]
    show(rows, ["at", "change", "who", "detail"], False, "history")
