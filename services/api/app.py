"""The HTTP front door: one FastAPI app for planners, agencies, leadership groups and auditors.

Commands go to the owning service over NATS request/reply; queries are answered from the read
model the projector builds from the integration events. The front door never opens a store.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import JSONResponse, Response
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from opentelemetry.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, Field

from contracts.clear import AffectedChild, ArrestAges, Child, ChildrenAges
from contracts.commands import (
    AddMilestone,
    AdoptPlaybook,
    ArrestDetails,
    ChangeProgrammeCommand,
    ChangeTask,
    CheckInDetails,
    CheckInMilestone,
    CommandReply,
    ConcludeOperation,
    DecideGate,
    EraseHousehold,
    ErasureDetails,
    GateDetails,
    GetOperation,
    GetStagedSupport,
    ImportIndicatorsCommand,
    IndicatorRowsChunk,
    LaunchOperation,
    MilestoneDetails,
    OperationDetails,
    PanelDecisionDetails,
    PlanOperation,
    ProgrammeDetails,
    RecordArrest,
    RecordPersonalRead,
    RecordSeizure,
    RegisterProgramme,
    RegisterWitness,
    ResultDetails,
    SeizureDetails,
    SpendDetails,
    StagedSupportDetails,
    StageSupport,
    StartIndicatorImport,
    TaskAction,
    TaskActionDetails,
    WitnessDetails,
)
from contracts.envelope import REF_PATTERN
from services.api.access import (
    FIELDS,
    Caller,
    authorize,
    in_planning_cell,
    sees_personal_details,
    sees_planned_operation,
)
from services.api.idempotency import CommandId, IdempotencyMiddleware, IdempotencyStore
from services.api.identity import Identity
from services.api.observability import ApiCollector, ServerSpans
from services.api.paging import Page
from services.api.problems import Refused, problem
from services.api.problems import install as install_problems
from services.api.projector import Projector
from services.api.read_model import ReadModel
from services.audit.compare import differences, rebuilt_lists
from services.audit.figures import figures
from services.audit.index import AuditIndex, catch_up_from_streams
from services.audit.point_in_time import state_at
from services.audit.timeline import Entry, replay, stream_histories, to_csv, to_jsonl
from services.audit.verification import summary as verification_summary
from services.build.indicators import before_after
from services.hold.playbook import PlaybookInvalid, load_playbook_text
from services.runtime.nats_access import broker as nats_broker
from services.runtime.process import broker_middlewares, status_subject
from services.runtime.provisioning import wait_for_stream
from services.runtime.sealing import HouseholdKeys, is_sealed
from services.runtime.settings import Settings
from services.runtime.topology import SERVICES, command_subject, stream_name, verify_subject
from services.runtime.tracing import tracer_of

log = structlog.get_logger()


TASK_STATUSES = "^(offered|accepted|assigned|in_progress|completed|closed|unplaced)$"


class PlaybookAdoptionBody(BaseModel):
    toml: str = Field(min_length=1, max_length=200_000, description="the playbook, as TOML")
    place: str | None = Field(default=None, min_length=1, max_length=100)
    operation_id: UUID | None = None
    reason: str | None = Field(default=None, max_length=1000)


API_INDEX_FILE = "api-audit-index.sqlite"
IDEMPOTENCY_FILE = "api-idempotency.sqlite"


class ServiceUnavailable(Exception):
    pass


class FrontDoor:
    """What the routes need: the broker for commands, the read model for queries."""

    def __init__(self, settings: Settings, tracer_provider: TracerProvider | None = None) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.broker = nats_broker(
            settings,
            logger=structlog.get_logger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            middlewares=broker_middlewares(self.registry, "api", tracer_provider),
        )
        self.read_model = ReadModel()
        self.index_path = settings.data_dir / API_INDEX_FILE
        # The one connection that writes the index; readers open their own (WAL mode).
        self.index: AuditIndex | None = None
        self._indexing = asyncio.Lock()
        self.idempotency: IdempotencyStore | None = None
        self.household_keys: HouseholdKeys | None = None
        self.projector = Projector(self.read_model)
        self._stopping = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None
        self.started = False
        self.registry.register(ApiCollector(self.ready, lambda: self.projector.positions))

    @property
    def connected(self) -> bool:
        return self.broker._connection is not None and self.broker._connection.is_connected

    def ready(self) -> bool:
        """The API's own part of readiness: NATS, the streams found, the read model caught up."""
        return self.connected and self.started and self.projector.caught_up

    async def start(self) -> None:
        # Files are opened here, not when the app is made: making one must touch no disk.
        self.idempotency = IdempotencyStore(self.settings.data_dir / IDEMPOTENCY_FILE)
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        # Each service creates its own stream (the API's NATS user may only read them); the
        # API may start first, so it waits for them, and is not ready until it has them.
        for service in SERVICES:
            await wait_for_stream(js, stream_name(service))
        self.index = AuditIndex(self.index_path)
        self.household_keys = await HouseholdKeys.open(js, self.settings.stream_replicas)
        await self.projector.start(self.broker.connection)
        self._watching = asyncio.create_task(
            self.projector.watch(self.broker.connection, self._stopping), name="api:projector"
        )
        self.started = True

    async def stop(self) -> None:
        self._stopping.set()
        if self._watching is not None:
            await self._watching
        await self.projector.stop()
        await self.broker.stop()
        if self.index is not None:
            self.index.close()
        if self.idempotency is not None:
            self.idempotency.close()

    async def catch_up_index(self) -> None:
        """Index what the streams hold beyond what was indexed: on an audit question only."""
        assert self.index is not None
        async with self._indexing:
            js = self.broker.connection.jetstream()
            await catch_up_from_streams(self.index, js)

    @contextmanager
    def reading_index(self) -> Iterator[AuditIndex]:
        """The audit index on a connection of its own (it is in WAL mode), for a worker
        thread; callers bring it up to date first (``catch_up_index``)."""
        index = AuditIndex(self.index_path)
        try:
            yield index
        finally:
            index.close()

    def timeline(self, operation_id: str | None, place: str | None) -> list[Entry]:
        with self.reading_index() as index:
            return list(index.entries(operation_id, place))

    def as_of(self, at: datetime, operation_id: UUID | None, place: str | None) -> dict[str, Any]:
        with self.reading_index() as index:
            return state_at(index, at, operation_id, place)

    @property
    def keys(self) -> HouseholdKeys:
        assert self.household_keys is not None, "the front door has not started"
        return self.household_keys

    async def send(self, service: str, name: str, command: BaseModel) -> CommandReply:
        try:
            response = await self.broker.request(
                command,
                command_subject(service, name),
                timeout=self.settings.command_timeout_seconds,
            )
        except (NoRespondersError, NatsTimeoutError, TimeoutError) as error:
            raise ServiceUnavailable(f"{service} service did not answer: {error!r}") from None
        return CommandReply.model_validate_json(response.body)

    async def verify(self, service: str) -> dict[str, Any]:
        try:
            response = await self.broker.request(
                None, verify_subject(service), timeout=self.settings.verify_timeout_seconds
            )
        except (NoRespondersError, NatsTimeoutError, TimeoutError) as error:
            raise ServiceUnavailable(f"{service} did not verify its history: {error!r}") from None
        report: dict[str, Any] = json.loads(response.body)
        return report

    async def stream_positions(self) -> dict[str, int]:
        js = self.broker.connection.jetstream()
        return {
            stream_name(s): (await js.stream_info(stream_name(s))).state.last_seq for s in SERVICES
        }

    async def service_status(self, service: str) -> dict[str, Any]:
        try:
            response = await self.broker.request(None, status_subject(service), timeout=1.0)
        except (NoRespondersError, NatsTimeoutError, TimeoutError) as error:
            return {"service": service, "ready": False, "error": repr(error)}
        status: dict[str, Any] = json.loads(response.body)
        return status


def create_app(settings: Settings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The front door. ``tracer_provider``: where its spans go (none: no traces at all)."""
    if not settings.jwt_key:
        # There is no unauthenticated mode: without a key no token could be checked.
        raise ValueError("CHB_JWT_KEY is not set: the API needs a key to check bearer tokens")
    door = FrontDoor(settings, tracer_provider)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await door.start()
        log.info("api started", nats_url=settings.nats_url)
        yield
        await door.stop()

    app = FastAPI(
        title="Clear, Hold, Build",
        version="0.1.0",
        description="Coordinates Police operations (Clear) with whanau support (Hold) and "
        "community rebuilding (Build), every step on a replayable audit trail.",
        lifespan=lifespan,
        dependencies=[Depends(authorize)],
    )
    app.state.door = door
    app.state.settings = settings

    install_problems(app)

    # A POST with Idempotency-Key is answered once; a retry gets that answer.
    app.add_middleware(IdempotencyMiddleware, store=lambda: door.idempotency, settings=settings)
    if tracer_provider is not None:
        # Added last, so outermost: the span covers all the request does (idempotency too).
        app.add_middleware(ServerSpans, tracer=tracer_of(tracer_provider))

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: ServiceUnavailable) -> JSONResponse:
        return problem(request, 503, str(error))

    def reply(result: CommandReply) -> JSONResponse:
        if result.status >= 400:
            # e.g. a refused playbook lists every error it has
            raise Refused(result.status, result.error or "refused", **(result.result or {}))
        return JSONResponse(status_code=result.status, content=result.result)

    def out_of_scope(who: Identity, what: str) -> HTTPException:
        limits = [*(f"place {p}" for p in who.places), *(f"operation {o}" for o in who.operations)]
        return HTTPException(
            status_code=403, detail=f"{what} is outside your token's scope ({', '.join(limits)})"
        )

    async def held_by_clear(operation_id: UUID) -> dict[str, Any]:
        result = await door.send("clear", "get_operation", GetOperation(operation_id=operation_id))
        if result.status >= 400:
            raise HTTPException(status_code=result.status, detail=result.error)
        return result.result

    def check_visible(who: Identity, operation: dict[str, Any], operation_id: UUID) -> None:
        """404 for a planned operation outside the caller's planning cell (its existence is
        not revealed); 403 for one outside the token's scope."""
        if operation.get("status") == "planned" and not sees_planned_operation(who, operation):
            raise HTTPException(status_code=404, detail=f"no operation {operation_id}")
        if not who.covers(operation):
            raise out_of_scope(who, f"operation {operation_id}")

    async def operation_for(who: Identity, operation_id: UUID) -> dict[str, Any]:
        """The operation as the caller may see it (see ``check_visible``)."""
        # The read model may trail clear by a few milliseconds: then ask clear.
        operation = door.read_model.operations.get(operation_id) or await held_by_clear(
            operation_id
        )
        check_visible(who, operation, operation_id)
        return operation

    async def check_operation(who: Identity, operation_id: UUID) -> None:
        """A command about an operation: within the token's places and operations. Costs
        nothing for a token not limited to any (the usual case on the arrest path)."""
        if who.places or who.operations:
            await operation_for(who, operation_id)

    def check_item(who: Identity, item: dict[str, Any] | None, what: str) -> None:
        if item is not None and not who.covers(item):
            raise out_of_scope(who, what)

    def scoped(who: Identity, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [i for i in items if who.covers(i)]

    @app.post("/operations", status_code=201)
    async def plan_operation(
        body: OperationDetails,
        who: Caller,
        command_id: CommandId,
    ) -> JSONResponse:
        if who.operations:
            raise HTTPException(
                status_code=403,
                detail="your token is limited to existing operations; planning a new one needs "
                "a token that is not",
            )
        if not who.covers_place(body.place):
            raise out_of_scope(who, f"place {body.place}")
        command = PlanOperation(**body.model_dump(), actor=who.actor, command_id=command_id)
        return reply(await door.send("clear", "plan_operation", command))

    @app.post("/operations/{operation_id}/launch")
    async def launch_operation(
        operation_id: UUID,
        who: Caller,
    ) -> JSONResponse:
        await check_operation(who, operation_id)
        command = LaunchOperation(operation_id=operation_id, actor=who.actor)
        return reply(await door.send("clear", "launch_operation", command))

    @app.post("/operations/{operation_id}/conclude")
    async def conclude_operation(
        operation_id: UUID,
        who: Caller,
    ) -> JSONResponse:
        await check_operation(who, operation_id)
        command = ConcludeOperation(operation_id=operation_id, actor=who.actor)
        return reply(await door.send("clear", "conclude_operation", command))

    @app.post("/operations/{operation_id}/arrests", status_code=201)
    async def record_arrest(
        operation_id: UUID,
        body: ArrestDetails,
        who: Caller,
        command_id: CommandId,
    ) -> JSONResponse:
        """An arrest. Personal details (names, address, notes) and ages are sealed with the
        household's key here, before they go anywhere: no service, stream or store holds them
        readable. The children travel on as references only."""
        await check_operation(who, operation_id)
        personal = ages = None
        if body.personal is not None:
            personal = await door.keys.seal(body.household_ref, body.personal)
        if body.children or body.person_age is not None:
            given = ArrestAges(person_age=body.person_age, children=tuple(body.children))
            ages = await door.keys.seal(body.household_ref, given)
        facts = body.model_dump(exclude={"personal", "children", "person_age"})
        children = [AffectedChild(child_ref=child.child_ref) for child in body.children]
        command = RecordArrest(
            operation_id=operation_id,
            **facts,
            children=children,
            ages=ages,
            personal=personal,
            actor=who.actor,
            command_id=command_id,
        )
        return reply(await door.send("clear", "record_arrest", command))

    @app.post("/operations/{operation_id}/seizures", status_code=201)
    async def record_seizure(
        operation_id: UUID,
        body: SeizureDetails,
        who: Caller,
        command_id: CommandId,
    ) -> JSONResponse:
        """A seizure, and where it was made in a home, the household and its children. The
        children's ages are sealed with the household's key here; they travel on as references."""
        await check_operation(who, operation_id)
        children, ages = await sealed_children(body.household_ref, body.children)
        command = RecordSeizure(
            operation_id=operation_id,
            **body.model_dump(exclude={"children"}),
            children=children,
            ages=ages,
            actor=who.actor,
            command_id=command_id,
        )
        return reply(await door.send("clear", "record_seizure", command))

    @app.post("/operations/{operation_id}/witnesses", status_code=201)
    async def register_witness(
        operation_id: UUID,
        body: WitnessDetails,
        who: Caller,
        command_id: CommandId,
    ) -> JSONResponse:
        """Register a key witness (an opaque reference) and their household for support; the
        children's ages are sealed with the household's key here, as for an arrest."""
        await check_operation(who, operation_id)
        children, ages = await sealed_children(body.household_ref, body.children)
        command = RegisterWitness(
            operation_id=operation_id,
            **body.model_dump(exclude={"children"}),
            children=children,
            ages=ages,
            actor=who.actor,
            command_id=command_id,
        )
        return reply(await door.send("clear", "register_witness", command))

    async def sealed_children(
        household_ref: str | None, children: list[Child]
    ) -> tuple[list[AffectedChild], str | None]:
        """Children as they travel on: references, and their ages sealed with the household's
        key (None when there are no children)."""
        if not children:
            return [], None
        if household_ref is None:  # SeizureDetails refuses children without a household
            raise Refused(422, "children need the household_ref of the home they live in")
        ages = await door.keys.seal(household_ref, ChildrenAges(children=tuple(children)))
        return [AffectedChild(child_ref=child.child_ref) for child in children], ages

    def require_planning_cell(who: Identity, reading: bool = False) -> None:
        # The matrix admits planners and commanders; the planning cell is Police's. Auditors
        # (and the administrator) may read what was staged, never stage it.
        if who.role == "administrator" or (reading and who.role == "auditor"):
            return
        if not in_planning_cell(who):
            raise HTTPException(
                status_code=403,
                detail="staged support is visible only to the operation's planning cell "
                f"(police planner or operation_commander), not to {who.agency} {who.role}",
            )

    @app.post("/operations/{operation_id}/staged-support", status_code=201)
    async def stage_support(
        operation_id: UUID,
        body: StagedSupportDetails,
        who: Caller,
    ) -> JSONResponse:
        """Before launch, the planning cell stages the support it expects to need; agencies
        see nothing of it until the operation launches, then it is theirs at once."""
        require_planning_cell(who)
        await check_operation(who, operation_id)
        details = body.model_dump()
        if body.note is not None:
            # A note may name people: sealed with the household's key, like a task's note, and
            # read only through the household's case once the operation launches.
            details["note"] = await door.keys.seal(body.household_ref, body.note)
        command = StageSupport(operation_id=operation_id, **details, actor=who.actor)
        return reply(await door.send("clear", "stage_support", command))

    @app.get("/operations/{operation_id}/staged-support")
    async def staged_support(
        operation_id: UUID,
        who: Caller,
    ) -> dict[str, Any]:
        require_planning_cell(who, reading=True)
        await check_operation(who, operation_id)
        query = GetStagedSupport(operation_id=operation_id)
        result = await door.send("clear", "get_staged_support", query)
        if result.status >= 400:
            raise HTTPException(status_code=result.status, detail=result.error)
        where = "the household's case, /cases/{case_id}/personal, once the operation launches"
        staged = [
            {**s, "note": {"withheld": "personal details", "read_at": where}}
            if s.get("note")
            else s
            for s in result.result.get("staged", [])
        ]
        return {**result.result, "staged": staged}

    @app.get("/operations")
    async def list_operations(page: Page, who: Caller) -> list[dict[str, Any]]:
        """The operations the caller may see: a planned one only by its planning cell."""
        operations = door.read_model.operations.values()
        return page.apply([op for op in operations if sees_planned_operation(who, op)])

    @app.get("/operations/{operation_id}")
    async def get_operation(operation_id: UUID, who: Caller) -> dict[str, Any]:
        """The operation as clear holds it now, with the trace of the event that planned it."""
        operation = await held_by_clear(operation_id)
        check_visible(who, operation, operation_id)
        projected = door.read_model.operations.get(operation_id, {})
        trace = {k: projected.get(k) for k in ("event_id", "causation_id")}
        return {**operation, **trace, "correlation_id": str(operation_id)}

    @app.get("/cases")
    async def list_cases(
        page: Page, who: Caller, operation_id: UUID | None = None
    ) -> list[dict[str, Any]]:
        """Households' cases: counts and statuses (personal details: ``/cases/{id}/personal``)."""
        return page.apply(scoped(who, door.read_model.list_cases(operation_id)))

    @app.get("/tasks")
    async def list_tasks(
        page: Page,
        who: Caller,
        operation_id: UUID | None = None,
        agency: str | None = None,
        status: Annotated[str | None, Query(pattern=TASK_STATUSES)] = None,
        case_id: UUID | None = None,
        place: str | None = None,
        overdue: bool = False,
    ) -> list[dict[str, Any]]:
        """The task board: filter by operation, the agency holding the task, status, case,
        place, and overdue (unfinished and past its due time)."""
        now = datetime.now(UTC) if overdue else None
        tasks = door.read_model.list_tasks(operation_id, agency, status, case_id, place, now)
        return page.apply(scoped(who, tasks))

    @app.get("/tasks/{task_id}")
    async def get_task(task_id: UUID, who: Caller) -> dict[str, Any]:
        """A task and its whole history: each step with who, when, why and its causation."""
        task = door.read_model.tasks.get(task_id)
        if task is None:
            raise HTTPException(status_code=404, detail=f"no task {task_id}")
        check_item(who, task, f"task {task_id}")
        history = [
            withheld(step, task["case_id"])
            for step in door.read_model.task_history.get(task_id, [])
        ]
        return {**task, "history": history}

    def withheld(step: dict[str, Any], case_id: str) -> dict[str, Any]:
        """A note's text is personal: here it is only said to exist, and where to read it."""
        detail = step["detail"]
        if not any(is_sealed(v) for v in detail.values()):
            return step
        where = f"/cases/{case_id}/personal"
        shown = {
            k: {"withheld": "personal details", "read_at": where} if is_sealed(v) else v
            for k, v in detail.items()
        }
        return {**step, "detail": shown}

    @app.get("/cases/{case_id}/personal")
    async def read_personal_details(
        case_id: UUID,
        who: Caller,
        reason: Annotated[
            str, Query(min_length=5, max_length=500, description="why you are reading")
        ],
    ) -> dict[str, Any]:
        """A household's personal details (names, ages, address, notes, the planning cell's
        staged note, its tasks' notes, and its children's ages from seizures in its home and
        from a key witness living there): only for staff of an agency holding one of its
        tasks, and auditors. The read is recorded in Hold's history (who, what, when, why)
        before anything is shown; if it cannot be recorded, nothing is shown."""
        case = door.read_model.cases.get(case_id)
        if case is None:
            raise HTTPException(status_code=404, detail=f"no case {case_id}")
        check_item(who, case, f"case {case_id}")
        if not sees_personal_details(who, door.read_model.holding_agencies(case_id)):
            raise HTTPException(
                status_code=403,
                detail="a household's personal details are for "
                f"{FIELDS['household_personal_details']}; "
                f"{who.agency} {who.role} may not read them here",
            )
        recorded = await door.send(
            "hold",
            "record_personal_read",
            RecordPersonalRead(case_id=case_id, actor=who.actor, reason=reason),
        )
        if recorded.status >= 400:
            raise Refused(recorded.status, recorded.error or "the read could not be recorded")
        return await personal_view(case)

    async def personal_view(case: dict[str, Any]) -> dict[str, Any]:
        model = door.read_model
        opener = door.keys.opener()
        household = (case["operation_id"], case["household_ref"])
        arrests = model.household_arrests.get(household, [])
        staged_note = model.staged_notes.get(household)
        notes = [
            {
                "task_id": str(task_id),
                "at": step["at"],
                "actor": step["actor"],
                "text": await opener.text(step["detail"]["text"]),
            }
            for task_id in model.case_tasks.get(case["case_id"], [])
            for step in model.task_history.get(task_id, [])
            if is_sealed(step["detail"].get("text"))
        ]
        return {
            "case_id": case["case_id"],
            "household_ref": case["household_ref"],
            "operation_id": case["operation_id"],
            "erased": model.erasures.get(case["household_ref"]),
            "staged_note": await opener.text(staged_note) if staged_note else None,
            "arrests": [
                {
                    **a,
                    "ages": await opener.details(a["ages"]),
                    "personal": await opener.details(a["personal"]),
                }
                for a in arrests
            ],
            "seizures": [
                {**z, "ages": await opener.details(z["ages"])}
                for z in model.household_seizures.get(household, [])
            ],
            "witnesses": [
                {**w, "ages": await opener.details(w["ages"])}
                for w in model.household_witnesses.get(household, [])
            ],
            "task_notes": notes,
        }

    @app.get("/cases/{case_id}/reads")
    async def list_personal_reads(case_id: UUID, page: Page, who: Caller) -> list[dict[str, Any]]:
        """Who read this household's personal details, when and why (from Hold's history)."""
        case = door.read_model.cases.get(case_id)
        if case is None:
            raise HTTPException(status_code=404, detail=f"no case {case_id}")
        check_item(who, case, f"case {case_id}")
        return page.apply(door.read_model.personal_reads.get(str(case_id), []))

    @app.post("/households/{household_ref}/erasure")
    async def erase_household(
        household_ref: Annotated[
            str, FastApiPath(min_length=1, max_length=128, pattern=REF_PATTERN)
        ],
        body: ErasureDetails,
        who: Caller,
    ) -> dict[str, Any]:
        """Erase a household's personal details: Hold records the erasure (who, why), then its
        key is destroyed, so every sealed copy (stores, streams, exports) becomes unreadable
        while the rest of the history, and its hash chain, stay as they were. Idempotent: a
        retry after a failure finishes the job."""
        command = EraseHousehold(household_ref=household_ref, actor=who.actor, reason=body.reason)
        result = await door.send("hold", "erase_household", command)
        if result.status >= 400:
            raise Refused(result.status, result.error or "refused")
        await door.keys.erase(household_ref)
        return {**result.result, "key_destroyed": True}

    @app.post("/tasks/{task_id}/{action}")
    async def change_task(
        task_id: UUID,
        action: TaskAction,
        who: Caller,
        body: TaskActionDetails | None = None,
    ) -> JSONResponse:
        """A step in the task's life, by someone at the agency their token names."""
        task = door.read_model.tasks.get(task_id)
        check_item(who, task, f"task {task_id}")
        details = body.model_dump() if body else {}
        if details.get("text") is not None:
            # A note may name people: it is sealed with the household's key, like the rest.
            if action != "note":
                reason = "only a note takes text"
                field = {"field": "text", "reason": reason, "loc": ["body", "text"]}
                raise Refused(422, f"text: {reason}", errors=[field])
            household = door.read_model.cases.get(UUID(task["case_id"])) if task else None
            if household is None:
                raise HTTPException(status_code=404, detail=f"no task {task_id}")
            details["text"] = await door.keys.seal(household["household_ref"], details["text"])
        command = ChangeTask(task_id=task_id, action=action, **details, actor=who.actor)
        return reply(await door.send("hold", "change_task", command))

    @app.post("/playbooks", status_code=201)
    async def adopt_playbook(
        body: PlaybookAdoptionBody,
        who: Caller,
    ) -> JSONResponse:
        """Adopt a playbook (TOML text) nationally, for a place, or for one operation. An
        invalid one is refused with every error listed, and the one in force stays."""
        if body.operation_id is not None:
            await check_operation(who, body.operation_id)
        elif body.place is not None:
            check_item(who, {"place": body.place}, f"place {body.place}")
        elif who.places or who.operations:
            raise out_of_scope(who, "a national playbook")
        try:
            playbook = load_playbook_text(body.toml)
        except PlaybookInvalid as error:
            return JSONResponse(
                status_code=422, content={"detail": str(error), "errors": error.errors}
            )
        command = AdoptPlaybook(
            place=body.place,
            operation_id=body.operation_id,
            document=playbook.model_dump(),
            actor=who.actor,
            reason=body.reason,
        )
        return reply(await door.send("hold", "adopt_playbook", command))

    @app.get("/playbooks")
    async def list_playbooks(
        page: Page,
    ) -> list[dict[str, Any]]:
        """The playbooks adopted, by scope; where none is, the national default is in force."""
        return page.apply(list(door.read_model.playbooks.values()))

    @app.get("/operations/{operation_id}/hold")
    async def hold_summary(operation_id: UUID, who: Caller) -> dict[str, Any]:
        """Households, children, tasks by status, share done within due time, overdue tasks
        and open escalations for one operation."""
        await operation_for(who, operation_id)
        return door.read_model.hold_summary(operation_id, datetime.now(UTC))

    @app.get("/milestones")
    async def list_milestones(
        page: Page, who: Caller, operation_id: UUID | None = None, place: str | None = None
    ) -> list[dict[str, Any]]:
        return page.apply(scoped(who, door.read_model.list_milestones(operation_id, place)))

    @app.post("/programmes", status_code=201)
    async def register_programme(
        body: ProgrammeDetails,
        who: Caller,
    ) -> JSONResponse:
        """A funded programme: provider, focus area, funding source, kind of agreement."""
        check_item(who, body.model_dump(), f"place {body.place}")
        command = RegisterProgramme(programme_id=uuid4(), **body.model_dump(), actor=who.actor)
        return reply(await door.send("build", "register_programme", command))

    async def change_programme(
        programme_id: UUID, action: str, details: dict[str, Any], who: Identity
    ) -> JSONResponse:
        programme = door.read_model.programmes.get(programme_id)
        check_item(who, programme, f"programme {programme_id}")
        command = ChangeProgrammeCommand(
            programme_id=programme_id, action=action, **details, actor=who.actor
        )
        return reply(await door.send("build", "change_programme", command))

    @app.post("/programmes/{programme_id}/panel-decisions")
    async def panel_decision(
        programme_id: UUID,
        body: PanelDecisionDetails,
        who: Caller,
    ) -> JSONResponse:
        """A commissioning-panel decision; an approval commits its amount (exact decimal)."""
        return await change_programme(programme_id, "decide", body.model_dump(), who)

    @app.post("/programmes/{programme_id}/spend")
    async def record_spend(
        programme_id: UUID,
        body: SpendDetails,
        who: Caller,
    ) -> JSONResponse:
        """Money spent; refused (409) if it would pass what the panel committed."""
        return await change_programme(programme_id, "spend", body.model_dump(), who)

    @app.post("/programmes/{programme_id}/results")
    async def report_result(
        programme_id: UUID,
        body: ResultDetails,
        who: Caller,
    ) -> JSONResponse:
        """Reported results: people engaged, and cost with outcome value for the social return."""
        return await change_programme(programme_id, "report", body.model_dump(), who)

    @app.get("/programmes")
    async def list_programmes(
        page: Page, who: Caller, place: str | None = None
    ) -> list[dict[str, Any]]:
        return page.apply(
            [
                p
                for p in scoped(who, door.read_model.programmes.values())
                if place is None or p["place"].casefold() == place.casefold()
            ]
        )

    @app.post("/indicator-imports", status_code=201)
    async def start_import(
        body: StartIndicatorImport,
        who: Caller,
    ) -> JSONResponse:
        """Start an indicator import; send its rows in chunks, then commit it. Until it is
        committed none of its rows count (nothing is half imported)."""
        if who.operations:
            raise HTTPException(
                status_code=403,
                detail="your token is limited to operations; importing a place's indicators "
                "needs a token that is not",
            )
        command = ImportIndicatorsCommand(
            import_id=uuid4(), step="start", **body.model_dump(), actor=who.actor
        )
        result = await door.send("build", "import_indicators", command)
        if result.status >= 400:
            raise HTTPException(status_code=result.status, detail=result.error)
        return JSONResponse(status_code=201, content=result.result)

    @app.post("/indicator-imports/{import_id}/rows")
    async def add_import_rows(
        import_id: UUID,
        body: IndicatorRowsChunk,
        who: Caller,
    ) -> JSONResponse:
        if who.places:  # a token limited to places imports readings for those places only
            outside = sorted({r.place for r in body.rows if not who.covers_place(r.place)})
            if outside:
                raise out_of_scope(who, f"rows for {', '.join(outside)}")
        command = ImportIndicatorsCommand(
            import_id=import_id, step="rows", rows=body.rows, actor=who.actor
        )
        return reply(await door.send("build", "import_indicators", command))

    @app.post("/indicator-imports/{import_id}/commit")
    async def commit_import(
        import_id: UUID,
        who: Caller,
    ) -> JSONResponse:
        command = ImportIndicatorsCommand(import_id=import_id, step="commit", actor=who.actor)
        return reply(await door.send("build", "import_indicators", command))

    @app.get("/indicator-imports")
    async def list_imports(
        page: Page,
    ) -> list[dict[str, Any]]:
        """The committed imports: file, rows, when and by whom it was recorded."""
        return page.apply(door.read_model.imports)

    @app.get("/indicators")
    async def list_indicators(
        page: Page, place: str, indicator: str | None = None, series: str | None = None
    ) -> list[dict[str, Any]]:
        """A place's committed indicator readings, oldest first."""
        readings = door.read_model.indicator_readings(place, indicator, series)
        return page.apply([r.model_dump(mode="json") for r in readings])

    @app.get("/places/{place}/outcomes")
    async def outcomes(
        place: str,
        indicator: str,
        series: str | None = None,
        before_months: Annotated[int, Query(ge=1, le=60)] = 6,
    ) -> dict[str, Any]:
        """For each operation in the place: the indicator's mean in the months before it
        launched against 3, 6 and 12 months after it concluded; and the place's programmes'
        social return where they report cost and outcome value."""
        readings = [
            (r.period_start, r.value)
            for r in door.read_model.indicator_readings(place, indicator, series)
        ]
        operations = []
        for op in door.read_model.operations.values():
            if op["place"].casefold() != place.casefold() or "concluded_at" not in op:
                continue
            launched = datetime.fromisoformat(op.get("launched_at", op["planned_start"])).date()
            concluded = datetime.fromisoformat(op["concluded_at"]).date()
            comparison = before_after(readings, launched, concluded, before_months)
            operations.append(
                {
                    "operation_id": op["operation_id"],
                    "name": op["name"],
                    "launched": launched.isoformat(),
                    "concluded": concluded.isoformat(),
                    **comparison,
                }
            )
        programmes = [
            {
                "programme_id": p["programme_id"],
                "name": p["name"],
                "social_return": p["social_return"],
            }
            for p in door.read_model.programmes.values()
            if p["place"].casefold() == place.casefold()
        ]
        return {
            "place": place,
            "indicator": indicator,
            "series": series,
            "operations": operations,
            "programmes": programmes,
        }

    @app.get("/plans")
    async def list_plans(page: Page, who: Caller) -> list[dict[str, Any]]:
        return page.apply(scoped(who, door.read_model.plans.values()))

    @app.get("/plans/{place}")
    async def get_plan(place: str, who: Caller) -> dict[str, Any]:
        """A place's resilience plan: its phase, the gate decision, and its milestones."""
        check_item(who, {"place": place}, f"place {place}")
        plan = door.read_model.plans.get(place.casefold())
        if plan is None:
            raise HTTPException(status_code=404, detail=f"no resilience plan for {place}")
        return {**plan, "milestones": door.read_model.list_milestones(place=place)}

    @app.post("/plans/{place}/gate")
    async def decide_gate(
        place: str,
        body: GateDetails,
        who: Caller,
    ) -> JSONResponse:
        """The leadership group moves the plan from Hold to Build: refused (409, naming what
        is missing) without the chair's sign-off, three agencies including iwi, and evidence."""
        check_item(who, {"place": place}, f"place {place}")
        command = DecideGate(place=place, **body.model_dump(), actor=who.actor)
        return reply(await door.send("build", "decide_gate", command))

    @app.post("/plans/{place}/milestones", status_code=201)
    async def add_milestone(
        place: str,
        body: MilestoneDetails,
        who: Caller,
    ) -> JSONResponse:
        check_item(who, {"place": place}, f"place {place}")
        command = AddMilestone(place=place, **body.model_dump(), actor=who.actor)
        return reply(await door.send("build", "add_milestone", command))

    @app.post("/milestones/{milestone_id}/check-ins")
    async def check_in_milestone(
        milestone_id: UUID,
        body: CheckInDetails,
        who: Caller,
    ) -> JSONResponse:
        milestone = door.read_model.milestones.get(milestone_id)
        check_item(who, milestone, f"milestone {milestone_id}")
        command = CheckInMilestone(milestone_id=milestone_id, **body.model_dump(), actor=who.actor)
        return reply(await door.send("build", "check_in_milestone", command))

    @app.get("/dead-letters")
    async def list_dead_letters(
        page: Page,
    ) -> list[dict[str, Any]]:
        return page.apply(door.read_model.dead_letters)

    async def indexed_timeline(operation_id: UUID | None, place: str | None) -> list[Entry]:
        await door.catch_up_index()
        operation = str(operation_id) if operation_id else None
        return await asyncio.to_thread(door.timeline, operation, place)

    @app.get("/audit/timeline")
    async def audit_timeline(
        page: Page, operation_id: UUID | None = None, place: str | None = None
    ) -> list[dict[str, Any]]:
        """Every service's published history merged by time, per operation or place: who,
        why, what caused each entry and what it caused (from the API's index of the streams)."""
        entries = await indexed_timeline(operation_id, place)
        return page.apply([asdict(e) for e in entries])

    @app.get("/audit/as-of")
    async def audit_as_of(
        at: datetime, operation_id: UUID | None = None, place: str | None = None
    ) -> dict[str, Any]:
        """The operation, its cases, task board and milestones, and the place's resilience
        plan, as they stood at ``at`` (from the audit index: each costs its own events)."""
        if at.tzinfo is None:
            raise HTTPException(status_code=422, detail="at: give the time zone, e.g. +13:00")
        await door.catch_up_index()
        return await asyncio.to_thread(door.as_of, at, operation_id, place)

    @app.get("/audit/figures")
    async def audit_figures(
        operation_id: UUID | None = None, place: str | None = None
    ) -> dict[str, Any]:
        """Accountability figures computed from the events (replay gives the same)."""
        entries = await indexed_timeline(operation_id, place)
        scope = {"operation_id": str(operation_id) if operation_id else None, "place": place}
        return {**scope, **figures(entries)}

    @app.get("/audit/verify")
    async def audit_verify() -> dict[str, Any]:
        """Each service walks its own store against its hash-chain checkpoints on NATS; the
        first event altered, removed, inserted or reordered is named (``ok`` false). Events
        not yet checkpointed are no reason for ``ok`` false: their count is
        ``not_yet_checkpointed``, named per service in ``warnings``."""
        reports = await asyncio.gather(*(door.verify(s) for s in SERVICES))
        return verification_summary(reports)

    @app.get("/audit/rebuild")
    async def audit_rebuild() -> dict[str, Any]:
        """Every list this API serves, rebuilt from the streams alone and compared with the
        live one at the same stream positions: identical, or every difference named."""
        targets = await door.stream_positions()
        try:
            async with asyncio.timeout(10.0):
                await door.projector.wait_for(targets)
        except TimeoutError:
            raise HTTPException(
                status_code=503, detail="the read model is still catching up"
            ) from None
        # No await between these two lines: the copy is exactly the state at these positions.
        positions = door.projector.positions
        live = json.loads(json.dumps(rebuilt_lists(door.read_model), default=str))
        histories = await stream_histories(settings, until=positions)
        model = await asyncio.to_thread(replay, settings, None, lambda n: None, histories)
        found = differences(live, json.loads(json.dumps(rebuilt_lists(model), default=str)))
        return {
            "identical": not found,
            "items": sum(len(v) for v in live.values()),
            "stream_positions": positions,
            "differences": found,
        }

    @app.get("/audit/export")
    async def audit_export(
        operation_id: UUID | None = None,
        place: str | None = None,
        format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    ) -> Response:
        """The timeline (everything, an operation or a place) as JSONL or CSV, with its
        SHA-256 in the ``Repr-Digest`` header."""
        entries = await indexed_timeline(operation_id, place)
        body = (to_jsonl(entries) if format == "jsonl" else to_csv(entries)).encode("utf-8")
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        return Response(
            body,
            media_type="application/x-ndjson" if format == "jsonl" else "text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="timeline.{format}"',
                "Repr-Digest": f"sha-256=:{digest}:",
                "X-Entries": str(len(entries)),
            },
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus text format: FastStream's broker metrics and the API's readiness (each
        service serves its pipeline figures on its own ``CHB_METRICS_PORT``)."""
        return Response(generate_latest(door.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/ready")
    async def ready() -> JSONResponse:
        statuses = await asyncio.gather(*(door.service_status(s) for s in SERVICES))
        body = {
            "ready": door.ready() and all(s.get("ready") for s in statuses),
            "nats_connected": door.connected,
            "read_model_caught_up": door.projector.caught_up,
            "services": {s["service"]: s for s in statuses},
        }
        return JSONResponse(status_code=200 if body["ready"] else 503, content=body)

    return app
