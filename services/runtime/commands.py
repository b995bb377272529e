"""Command handling shared by the services that take commands over NATS request/reply."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import structlog
from eventsourcing.persistence import RecordConflictError
from faststream import ExceptionMiddleware
from faststream.nats import NatsRouter
from pydantic import ValidationError

from contracts.commands import CommandReply
from services.runtime.application import ServiceApplication
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


async def record_command(
    app: ServiceApplication,
    command: object,
    on_recorded: Callable[[], None],
    refusals: dict[type[Exception], int],
) -> CommandReply | None:
    """Record one command in its own transaction (retried on a version conflict). ``None`` when
    it was recorded; otherwise the reply for the refusal, by the status ``refusals`` gives its
    exception type (an exception with ``errors`` lists them in the reply)."""
    try:
        await asyncio.to_thread(
            with_retry_on_conflict, lambda: app.process_batch([(command, None)])
        )
    except tuple(refusals) as error:
        status = next(code for kind, code in refusals.items() if isinstance(error, kind))
        log.info("command refused", status=status, reason=str(error))
        errors = getattr(error, "errors", None)
        return CommandReply(
            status=status, error=str(error), result={"errors": errors} if errors else {}
        )
    on_recorded()
    return None
