"""Write the contracts out as JSON Schema and AsyncAPI, and check the committed copies.

The committed files in ``contracts/schemas/`` are what other teams read and diff in review, so
they must be exactly what the code would write: ``check_schemas`` says which are not, and
``python -m contracts.export [--check] [DIR]`` (or ``chb contracts export``) writes or checks them.

Output is deterministic: keys sorted, two-space indent, one trailing newline.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts import build_commands, commands
from contracts.audit import HistoryCheckpoint
from contracts.commands import (
    CommandReply,
    ConcludeOperation,
    GetOperation,
    LaunchOperation,
    PlanOperation,
    RecordArrest,
    RecordSeizure,
)
from contracts.dead_letter import DeadLetterRecorded
from contracts.envelope import IntegrationEvent
from contracts.registry import ALL_EVENTS, SERVICES, command_subject, subject_for

DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "schemas"
ASYNCAPI_FILE = "asyncapi.json"
COMMANDS_DIRECTORY = "commands"

# The version of the published contract document (AsyncAPI ``info.version``). Kept here rather
# than read from the installed package metadata, so that the output never depends on whether an
# editable install has been refreshed.
API_VERSION = "0.1.0"
API_TITLE = "CHB: Clear, Hold, Build"
API_DESCRIPTION = (
    "Integration events published by the clear, hold and build services on JetStream "
    "(subjects chb.<service>.<event>), each service's history checkpoints "
    "(audit.<service>.checkpoint), and the commands the clear service answers over NATS "
    "request/reply (subjects cmd.clear.<command>, each replying with a CommandReply)."
)


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _key(cls: type[IntegrationEvent]) -> tuple[str, int]:
    fields = cls.model_fields
    return fields["event_type"].default, fields["schema_version"].default


def command_models() -> list[type[BaseModel]]:
    """Every model defined in ``contracts.commands`` and ``contracts.build_commands``, in
    name order."""
    found = [
        obj
        for module in (commands, build_commands)
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__ == module.__name__
    ]
    return sorted(found, key=lambda cls: cls.__name__)


# The clear service's request/reply commands and the model each one takes.
CLEAR_COMMANDS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("plan_operation", PlanOperation, "Plan an operation: 201 with result.operation_id."),
    ("launch_operation", LaunchOperation, "Launch a planned operation: 200, 404 or 409."),
    ("record_arrest", RecordArrest, "Record an arrest: 201 with result.arrest_id, 404 or 409."),
    ("record_seizure", RecordSeizure, "Record a seizure: 201 with result.seizure_id, 404 or 409."),
    ("conclude_operation", ConcludeOperation, "Conclude a launched operation: 200, 404 or 409."),
    ("get_operation", GetOperation, "Read an operation's current state: 200 or 404."),
)


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI document FastStream generates for every subject the services use.

    Built on a throwaway broker that never connects: one publisher per integration event on its
    subject (dead letters on each service's own subject), and one subscriber per clear command.
    """
    # Imported here so that reading contracts never needs faststream.
    from faststream.nats import NatsBroker
    from faststream.specification import AsyncAPI

    broker = NatsBroker()
    for cls in ALL_EVENTS:
        event_type, version = _key(cls)
        if cls is DeadLetterRecorded:
            sources: Sequence[str] = SERVICES
        else:
            sources = (cls.source,)
        for service in sources:
            subject = subject_for(service, event_type)
            broker.publisher(
                subject,
                schema=cls,
                title=subject,
                description=f"{event_type} v{version}, published by {service}.",
            )

    for service in SERVICES:
        subject = f"audit.{service}.checkpoint"
        broker.publisher(
            subject,
            schema=HistoryCheckpoint,
            title=subject,
            description=f"The hash chain of {service}'s history, checkpointed (stream CHB_AUDIT).",
        )

    for name, model, description in CLEAR_COMMANDS:
        subject = command_subject("clear", name)
        _document_command(broker, subject, model, f"Replies with a CommandReply. {description}")

    spec = AsyncAPI(
        broker, title=API_TITLE, version=API_VERSION, description=API_DESCRIPTION
    ).to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document


def _document_command(broker: Any, subject: str, model: type[BaseModel], description: str) -> None:
    """A subscriber whose only job is to put the command's payload schema in the document."""

    async def handler(body: Any) -> CommandReply:  # never called: the broker never starts
        raise NotImplementedError

    handler.__annotations__ = {"body": model, "return": CommandReply}
    handler.__name__ = handler.__qualname__ = subject.replace(".", "_")
    broker.subscriber(subject, title=subject, description=description)(handler)


def render() -> dict[str, str]:
    """Every file the contracts produce, by path relative to the schema directory."""
    files: dict[str, str] = {}
    for cls in ALL_EVENTS:
        event_type, version = _key(cls)
        files[f"{event_type}.v{version}.json"] = _dump(cls.model_json_schema())
    files[
        f"audit/HistoryCheckpoint.v{HistoryCheckpoint.model_fields['schema_version'].default}.json"
    ] = _dump(HistoryCheckpoint.model_json_schema())
    for model in command_models():
        files[f"{COMMANDS_DIRECTORY}/{model.__name__}.json"] = _dump(model.model_json_schema())
    files[ASYNCAPI_FILE] = _dump(asyncapi_document())
    return dict(sorted(files.items()))


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema file under ``directory``; returns the paths written."""
    written = []
    for name, text in render().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_schemas(directory: Path) -> list[str]:
    """Names (relative to ``directory``) of files that are missing or differ from the code's.

    Files the code would not write (for example a removed event's schema) are not reported.
    """
    stale = []
    for name, text in render().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contracts.export",
        description="Write the contracts' JSON Schemas and AsyncAPI document.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any file is missing or differs",
    )
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIRECTORY)
    args = parser.parse_args(argv)
    if args.check:
        stale = check_schemas(args.directory)
        for name in stale:
            print(f"out of date: {args.directory / name}", file=sys.stderr)
        if stale:
            print("run `chb contracts export` to rewrite them", file=sys.stderr)
            return 1
        print(f"schemas in {args.directory} are up to date")
        return 0
    for path in write_schemas(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
