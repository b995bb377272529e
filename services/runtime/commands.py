"""Command handling shared by the services that take commands over NATS request/reply."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import structlog
from eventsourcing.persistence import RecordConflictError
from faststream import ExceptionMiddleware
from faststream.nats import NatsRouter
from pydantic import ValidationError

from contracts.commands import CommandReply
from services.runtime.application import ServiceApplication
from services.runtime.errors import DomainError
from services.runtime.group_commit import GroupCommit
from services.runtime.topology import command_subject

log = structlog.get_logger()

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[CommandReply]])

# Commands handled at once per command type (they queue for a group commit together).
CONCURRENT_COMMANDS = 64


def command_handlers(
    router: NatsRouter, service: str
) -> Callable[[str], Callable[[Handler], Handler]]:
    """``@handles("name")`` registers a handler for ``cmd.<service>.<name>``, several at once."""

    def handles(command: str) -> Callable[[Handler], Handler]:
        subscriber = router.subscriber(
            command_subject(service, command), max_workers=CONCURRENT_COMMANDS
        )
        return cast(Callable[[Handler], Handler], subscriber)

    return handles


def with_retry_on_conflict(call: Callable[[], Any], attempts: int = 5) -> Any:
    """Run a get-change-save ``call`` again when the store refuses the save because another
    writer saved the same aggregate first (hold's consumer and its command handlers; a second
    clear process during a rolling deploy): decide again on the state it will really follow."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except RecordConflictError:
            if attempt == attempts:
                raise
            log.info("version conflict; retrying command", attempt=attempt)
    raise AssertionError("unreachable")


def refuse_invalid_commands() -> ExceptionMiddleware:
    """A command that does not validate gets a 422 reply naming the field, not silence."""
    middleware = ExceptionMiddleware()

    @middleware.add_handler(ValidationError, publish=True)
    async def invalid(error: ValidationError) -> CommandReply:
        first = error.errors()[0]
        # The first element of the location is the handler's parameter name: not the caller's.
        where = ".".join(str(p) for p in first["loc"][1:]) or "body"
        log.info("command refused: invalid", field=where, reason=first["msg"])
        return CommandReply(status=422, error=f"{where}: {first['msg']}")

    return middleware


def refusal_reply(error: DomainError) -> CommandReply:
    """The one mapping from a refusal to its reply: the status its kind names (the front door
    serves it as a problem document), its words, and every problem it lists."""
    log.info("command refused", status=error.status, refusal=type(error).__name__)
    errors = error.errors
    return CommandReply(
        status=error.status, error=str(error), result={"errors": errors} if errors else {}
    )


class CommandPath:
    """People's commands, from a service's transport to its application: decided behind
    group commit (several in one transaction, each refused on its own), retried on a version
    conflict, and a refusal answered by ``refusal_reply``."""

    def __init__(self, app: ServiceApplication, on_recorded: Callable[[], None]) -> None:
        self.app = app
        self.on_recorded = on_recorded
        self.writer = GroupCommit(
            lambda commands, contexts: with_retry_on_conflict(
                lambda: app.decide(commands, contexts)
            )
        )

    async def submit(self, command: object) -> object:
        """The command's outcome once recorded; its refusal raised."""
        outcome = await self.writer.submit(command)
        self.on_recorded()
        return outcome

    async def record(self, command: object) -> CommandReply | None:
        """``None`` once the command is recorded; else its refusal's reply."""
        try:
            await self.submit(command)
        except DomainError as refused:
            return refusal_reply(refused)
        return None

    async def reply(
        self, command: object, ok: Callable[[Any], CommandReply | Awaitable[CommandReply]]
    ) -> CommandReply:
        """The reply to ``command``: ``ok`` of its outcome, or its refusal's."""
        try:
            outcome = await self.submit(command)
        except DomainError as refused:
            return refusal_reply(refused)
        answer = ok(outcome)
        return await answer if inspect.isawaitable(answer) else answer
