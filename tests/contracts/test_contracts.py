"""The integration events: what survives the wire, what is refused, and the committed
schemas."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from contracts import (
    AffectedChild,
    AgencyChanged,
    AgencyRegistered,
    ArrestAges,
    ArrestLinkedToCase,
    ArrestRecorded,
    CaseTasksAttached,
    ChildrenAges,
    ContactPointChanged,
    DeadLetterRecorded,
    HouseholdCaseJoined,
    HouseholdErased,
    IntegrationEvent,
    MalformedEvent,
    MilestoneChanged,
    MilestoneScheduled,
    NotificationChanged,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    PersonalDetailsRead,
    PlanGateDecided,
    PlanGateSignedOff,
    PlaybookAdopted,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
    SeizureRecorded,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    UnknownEventType,
    UnsupportedVersion,
    WhanauCaseOpened,
    WitnessRegistered,
    parse_event,
    subject_for,
)
from contracts.build import SignedBy
from contracts.commands import RecordSeizure, RegisterWitness, SeizureDetails, WitnessDetails
from contracts.envelope import Actor
from contracts.export import DEFAULT_DIRECTORY, check_schemas, render, write_schemas
from contracts.indicators import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRow,
    IndicatorRowsAdded,
)
from contracts.registry import ALL_EVENTS, REGISTRY, SERVICES

pytestmark = pytest.mark.contract

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
OPERATION_ID = UUID("6b1f6f1e-8a53-4c38-9a8e-0b7c1d2e3f40")
CASE_ID = UUID("0f0e0d0c-0b0a-4908-8706-050403020100")
PLAN_ID = UUID("11111111-2222-4333-8444-555555555555")
SEALED = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"


def envelope(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": uuid4(),
        "occurred_at": AT,
        "recorded_at": AT + timedelta(milliseconds=3),
        "operation_id": OPERATION_ID,
        "causation_id": uuid4(),
        "actor": Actor(id="officer-0042", agency="police", role="planner"),
        "reason": "warrant 2026/17",
    }
    return fields | overrides


SAMPLES: dict[type[IntegrationEvent], IntegrationEvent] = {
    OperationPlanned: OperationPlanned(
        **envelope(causation_id=None),
        name="Operation Highwater",
        district="Eastern",
        place="Ōpōtiki",
        target_group="gang chapter",
        planned_start=AT + timedelta(days=7),
    ),
    OperationLaunched: OperationLaunched(**envelope(reason=None), place="Ōpōtiki"),
    ArrestRecorded: ArrestRecorded(
        **envelope(),
        arrest_id=uuid4(),
        place="Ōpōtiki",
        person_ref="person-1",
        household_ref="household-1",
        charges=("supply methamphetamine", "possession of a firearm"),
        children=(AffectedChild(child_ref="child-1"), AffectedChild(child_ref="child-2")),
        only_carer_present=True,
        ages=SEALED,
    ),
    SeizureRecorded: SeizureRecorded(
        **envelope(),
        seizure_id=uuid4(),
        place="Ōpōtiki",
        kind="cash",
        description="cash in a safe",
        quantity=48250.5,
        unit="NZD",
        household_ref="household-1",
        children=(AffectedChild(child_ref="child-1"),),
        ages=SEALED,
    ),
    OperationConcluded: OperationConcluded(
        **envelope(), place="Ōpōtiki", arrests=39, concluded_at=AT + timedelta(days=9)
    ),
    WhanauCaseOpened: WhanauCaseOpened(
        **envelope(), case_id=CASE_ID, household_ref="household-1", place="Ōpōtiki"
    ),
    ArrestLinkedToCase: ArrestLinkedToCase(
        **envelope(), case_id=CASE_ID, arrest_id=uuid4(), children_total=2, only_carer_present=True
    ),
    SupportTaskOpened: SupportTaskOpened(
        **envelope(),
        task_id=uuid4(),
        case_id=CASE_ID,
        kind="child_safety_check",
        lead_agency="oranga_tamariki",
        fallback_agencies=("iwi_provider", "police"),
        due_at=AT + timedelta(hours=2),
        reminders_before_seconds=(3600,),
        escalations_after_seconds=(900, 3600, 7200),
        playbook="national@v1",
        rule_id="child-safety-no-carer-left",
    ),
    SupportTaskChanged: SupportTaskChanged(
        **envelope(),
        task_id=uuid4(),
        change="declined",
        status=None,
        agency="oranga_tamariki",
        detail={"reason": "no staff on tonight"},
    ),
    WitnessRegistered: WitnessRegistered(
        **envelope(),
        witness_id=uuid4(),
        place="Mataura",
        witness_ref="W-17",
        household_ref="HH-9",
        children=(AffectedChild(child_ref="C-9"),),
        ages=SEALED,
    ),
    PlanGateSignedOff: PlanGateSignedOff(**envelope(), plan_id=PLAN_ID, place="Ōpōtiki"),
    PlanGateDecided: PlanGateDecided(
        **envelope(),
        plan_id=PLAN_ID,
        place="Ōpōtiki",
        to_phase="build",
        signed_off_by=(
            SignedBy(id="m-1", agency="iwi", role="leadership_group_chair", at=AT),
            SignedBy(id="m-2", agency="police", role="leadership_group_member", at=AT),
        ),
        evidence=("wastewater meth load halved",),
    ),
    MilestoneChanged: MilestoneChanged(
        **envelope(),
        milestone_id=uuid4(),
        change="checked_in",
        status="at_risk",
        detail={"note": "provider not chosen", "evidence_link": None},
    ),
    ProgrammeRegistered: ProgrammeRegistered(
        **envelope(),
        programme_id=uuid4(),
        name="Rangatahi mentoring",
        provider="Te Rūnanga",
        place="West Coast",
        focus_area="rangatahi_pathway",
        funding_source="CRWS fund",
        agreement_kind="outcome_agreement",
    ),
    ProgrammeChanged: ProgrammeChanged(
        **envelope(),
        programme_id=uuid4(),
        change="spend_recorded",
        spent=Decimal("1300000.10"),
        amount=Decimal("0.10"),
        period="Q1",
    ),
    IndicatorImportStarted: IndicatorImportStarted(
        **envelope(),
        import_id=uuid4(),
        file_name="loads.csv",
        rows_expected=13,
        starter_agency="msd",
    ),
    IndicatorRowsAdded: IndicatorRowsAdded(
        **envelope(),
        import_id=uuid4(),
        rows=(
            IndicatorRow(
                place="Ōpōtiki",
                indicator="wastewater_drug_load",
                series="meth",
                period_start=date(2026, 1, 1),
                value=Decimal("120.5"),
                unit="mg/1000 people/day",
            ),
        ),
    ),
    IndicatorImportCommitted: IndicatorImportCommitted(
        **envelope(), import_id=uuid4(), file_name="loads.csv", rows=1
    ),
    PlaybookAdopted: PlaybookAdopted(
        **envelope(), scope="place:mataura", name="southland", version=3, rules=4
    ),
    PersonalDetailsRead: PersonalDetailsRead(
        **envelope(), case_id=CASE_ID, household_ref="HH-1", fields=("person_name", "notes")
    ),
    HouseholdErased: HouseholdErased(**envelope(), household_ref="HH-1"),
    CaseTasksAttached: CaseTasksAttached(**envelope(), case_id=CASE_ID, task_ids=(uuid4(),)),
    HouseholdCaseJoined: HouseholdCaseJoined(
        **envelope(), household_ref="HH-1", case_id=CASE_ID, place="Mataura"
    ),
    AgencyRegistered: AgencyRegistered(
        **envelope(causation_id=None),
        code="te_runanga_o_makaawhio",
        name="Te Rūnanga o Makaawhio",
        kind="iwi",
        places=("Hokitika",),
    ),
    AgencyChanged: AgencyChanged(
        **envelope(causation_id=None),
        code="te_runanga_o_makaawhio",
        name="Te Rūnanga o Makaawhio",
        kind="iwi",
        places=(),
        changed=("places",),
    ),
    SupportTaskRescheduled: SupportTaskRescheduled(
        **envelope(), task_id=uuid4(), case_id=CASE_ID, due_at=AT + timedelta(hours=1)
    ),
    ResiliencePlanOpened: ResiliencePlanOpened(**envelope(), plan_id=PLAN_ID, place="Ōpōtiki"),
    MilestoneScheduled: MilestoneScheduled(
        **envelope(),
        milestone_id=uuid4(),
        plan_id=PLAN_ID,
        place="Ōpōtiki",
        label="Hold review",
        days_after_conclusion=30,
        owner_agency="rocc_leadership_group",
        due_at=AT + timedelta(days=30),
    ),
    DeadLetterRecorded: DeadLetterRecorded(
        **envelope(operation_id=UUID(int=0)),
        consumer="hold_from_clear",
        subject="chb.clear.arrest_recorded",
        stream_sequence=None,
        notification_id=None,
        error="body is not JSON",
        body="\x00not json ✗",
    ),
    ContactPointChanged: ContactPointChanged(
        **envelope(operation_id=UUID(int=0)),
        agency="oranga_tamariki",
        contact_id=UUID(int=7),
        change="added",
        channel="webhook",
        purpose="intake",
        label="cases.example.nz",
    ),
    NotificationChanged: NotificationChanged(
        **envelope(),
        notification_id=UUID(int=8),
        change="queued",
        kind="offered",
        agency="oranga_tamariki",
        purpose="intake",
        channel="email",
        contact_id=UUID(int=7),
        item_id=UUID(int=9),
        facts={"event": "offered", "task_kind": "child_safety_check", "place": "Mataura"},
    ),
}


def wire(event: IntegrationEvent, **changes: Any) -> str:
    """The event's JSON with some fields changed (``...`` removes one)."""
    data = json.loads(event.model_dump_json())
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


def test_every_event_has_a_sample():
    """Adding an event to the registry without a sample here fails, so none goes untested."""
    assert set(SAMPLES) == set(ALL_EVENTS)
    assert len(REGISTRY) == len(ALL_EVENTS)


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_every_event_round_trips_json(cls: type[IntegrationEvent]):
    """model_validate_json(model_dump_json()) gives back an equal event, and parse_event reads
    the same bytes as the same type."""
    event = SAMPLES[cls]
    assert type(event).model_validate_json(event.model_dump_json()) == event
    parsed = parse_event(event.model_dump_json().encode())
    assert type(parsed) is cls
    assert parsed == event


def test_parse_event_refuses_a_body_that_is_not_json():
    """A body that is not JSON (or not UTF-8) is malformed."""
    with pytest.raises(MalformedEvent, match="not JSON"):
        parse_event(b"{not json")
    with pytest.raises(MalformedEvent, match="not JSON"):
        parse_event(b"\xff\xfe\x00")


@pytest.mark.parametrize("body", ["[]", '"OperationPlanned"', "42", "null"])
def test_parse_event_refuses_a_body_that_is_not_an_object(body: str):
    """A JSON body that is not an object is malformed."""
    with pytest.raises(MalformedEvent, match="not a JSON object"):
        parse_event(body)


def test_parse_event_refuses_an_unknown_event_type():
    """An event_type no service publishes is refused as unknown."""
    body = wire(SAMPLES[OperationLaunched], event_type="OperationAbandoned")
    with pytest.raises(UnknownEventType, match="OperationAbandoned"):
        parse_event(body)


@pytest.mark.parametrize("version", [0, 1, 99])
def test_parse_event_refuses_an_unsupported_version(version: int):
    """A known event_type at a schema_version this code does not know is refused, naming the
    versions it does know."""
    body = wire(SAMPLES[ArrestRecorded], schema_version=version)
    with pytest.raises(UnsupportedVersion, match=r"known: \[2\]"):
        parse_event(body)


@pytest.mark.parametrize(
    "field, value",
    [
        ("event_type", None),
        ("schema_version", "1"),
        ("schema_version", True),
        ("schema_version", ...),
    ],
)
def test_parse_event_refuses_a_missing_or_mistyped_type_or_version(field: str, value: Any):
    """event_type must be a string and schema_version an integer (not a string, not a bool)."""
    with pytest.raises(MalformedEvent, match=field):
        parse_event(wire(SAMPLES[OperationLaunched], **{field: value}))


def test_parse_event_refuses_an_extra_field_and_names_it():
    """A field the contract does not have is refused, and the error names it."""
    body = wire(SAMPLES[ArrestRecorded], person_name="Jane Doe")
    with pytest.raises(MalformedEvent, match=r"ArrestRecorded v2: person_name: Extra inputs"):
        parse_event(body)


@pytest.mark.parametrize("field", ["event_id", "operation_id", "actor", "household_ref"])
def test_parse_event_refuses_a_missing_field_and_names_it(field: str):
    """A required field that is missing is refused, and the error names it."""
    with pytest.raises(MalformedEvent, match=rf"ArrestRecorded v2: {field}: Field required"):
        parse_event(wire(SAMPLES[ArrestRecorded], **{field: ...}))


@pytest.mark.parametrize(
    "cls, field, value",
    [
        (OperationPlanned, "occurred_at", "2026-03-01T05:00:00"),
        (OperationConcluded, "concluded_at", "2026-03-10T05:00:00"),
        (SupportTaskOpened, "due_at", "2026-03-01T07:00:00"),
    ],
)
def test_parse_event_refuses_times_without_a_zone(
    cls: type[IntegrationEvent], field: str, value: str
):
    """Every time on the wire carries its offset: a naive time would shift every deadline
    computed from it."""
    with pytest.raises(MalformedEvent, match=field):
        parse_event(wire(SAMPLES[cls], **{field: value}))


def test_parse_event_refuses_a_child_that_is_not_a_child():
    """A child with an empty reference is refused, naming where; so is a child carrying its
    age in the clear (ages travel only sealed); and the ages sealed inside refuse a child
    aged 18."""
    body = json.loads(SAMPLES[ArrestRecorded].model_dump_json())
    body["children"][1]["child_ref"] = ""
    with pytest.raises(MalformedEvent, match=r"children\.1\.child_ref"):
        parse_event(json.dumps(body))
    body["children"][1] = {"child_ref": "child-2", "age": 7}
    with pytest.raises(MalformedEvent, match=r"children\.1\.age: Extra inputs") as refused:
        parse_event(json.dumps(body))
    assert "7" not in str(refused.value)
    with pytest.raises(ValidationError, match=r"children\.0\.age"):
        ArrestAges.model_validate({"children": [{"child_ref": "child-1", "age": 18}]})


@pytest.mark.parametrize("cls", [SeizureRecorded, WitnessRegistered], ids=lambda c: c.__name__)
def test_a_seizure_or_witness_carries_children_as_references_and_ages_only_sealed(
    cls: type[IntegrationEvent],
):
    """Version 2 of SeizureRecorded and WitnessRegistered: the children are references and
    their ages travel only sealed; a child with its age in the clear, or ages that are not
    sealed text, is refused without echoing the age; version 1 is no longer read."""
    sample = SAMPLES[cls]
    name = cls.__name__
    read = parse_event(sample.model_dump_json())
    assert read == sample and read.schema_version == 2
    assert read.ages == SEALED and [c.model_dump() for c in read.children] == [
        c.model_dump() for c in sample.children
    ]
    body = json.loads(sample.model_dump_json())
    assert "age" not in json.dumps(body["children"])
    body["children"][0]["age"] = 7
    with pytest.raises(MalformedEvent, match=r"children\.0\.age: Extra inputs") as refused:
        parse_event(json.dumps(body))
    assert "7" not in str(refused.value).replace(name, "")
    plain = json.dumps({"children": [{"child_ref": "C-1", "age": 7}]})
    with pytest.raises(MalformedEvent, match=f"{name} v2: ages: String should match"):
        parse_event(wire(sample, ages=plain))
    with pytest.raises(UnsupportedVersion, match="schema_version 1 is not supported"):
        parse_event(wire(sample, schema_version=1))
    with pytest.raises(ValidationError, match=r"children\.0\.age"):
        ChildrenAges.model_validate({"children": [{"child_ref": "C-1", "age": 18}]})


def test_seizure_and_witness_commands_carry_references_and_sealed_ages_only():
    """The commands the front door sends clear refuse a child's age in the clear and ages that
    are not sealed; the request bodies keep the ages in the clear (the front door seals them),
    and a seizure's children need the household they live in."""
    actor = Actor(id="officer-0042", agency="police", role="planner")
    seizure = {
        "actor": actor,
        "operation_id": OPERATION_ID,
        "kind": "firearm",
        "description": "pistol",
        "quantity": 1,
        "unit": "item",
        "household_ref": "HH-1",
    }
    witness = {"actor": actor, "operation_id": OPERATION_ID, "witness_ref": "W-1"}
    witness["household_ref"] = "HH-1"
    for cls, fields in ((RecordSeizure, seizure), (RegisterWitness, witness)):
        made = cls.model_validate({**fields, "children": [{"child_ref": "C-1"}], "ages": SEALED})
        assert made.model_dump()["children"] == [{"child_ref": "C-1"}]
        with pytest.raises(ValidationError, match=r"children\.0\.age"):
            cls.model_validate({**fields, "children": [{"child_ref": "C-1", "age": 4}]})
        with pytest.raises(ValidationError, match="ages"):
            cls.model_validate({**fields, "ages": '{"children": [{"child_ref": "C-1", "age": 4}]}'})
    child = {"child_ref": "C-1", "age": 4}
    command_only = ("actor", "operation_id")
    seizure = {k: v for k, v in seizure.items() if k not in command_only}
    witness = {k: v for k, v in witness.items() if k not in command_only}
    assert SeizureDetails.model_validate({**seizure, "children": [child]}).children[0].age == 4
    assert WitnessDetails.model_validate({**witness, "children": [child]}).children[0].age == 4
    homeless = {k: v for k, v in seizure.items() if k != "household_ref"}
    with pytest.raises(ValidationError, match="household_ref"):
        SeizureDetails.model_validate({**homeless, "children": [child]})


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_events_are_frozen(cls: type[IntegrationEvent]):
    """An event cannot be changed after it is made."""
    event = SAMPLES[cls]
    with pytest.raises(ValidationError, match="frozen"):
        event.operation_id = uuid4()  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        event.actor.id = "someone-else"  # type: ignore[misc]


def test_the_model_refuses_extra_fields_directly():
    """Constructing an event with an unknown keyword fails too (extra="forbid")."""
    with pytest.raises(ValidationError, match="extra"):
        OperationLaunched(**envelope(), place="Gore", surprise=1)  # type: ignore[call-arg]


SUBJECT = re.compile(r"^chb\.(clear|hold|build|notify)\.[a-z]+(_[a-z]+)*$")
UUID_LIKE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}", re.IGNORECASE)


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_subjects_never_carry_ids_or_names(cls: type[IntegrationEvent]):
    """A subject is chb.<service>.<event in snake case> and nothing else: no id, no place, no
    person, whatever the event holds."""
    event = SAMPLES[cls]
    services = SERVICES if cls is DeadLetterRecorded else (cls.source,)
    for service in services:
        subject = subject_for(service, event.event_type)
        assert SUBJECT.match(subject), subject
        assert not UUID_LIKE.search(subject)
        for field, value in json.loads(event.model_dump_json()).items():
            if field.endswith(("_id", "_ref")) or field == "place":
                assert str(value).lower() not in subject
    assert subject_for("clear", "OperationPlanned") == "chb.clear.operation_planned"


def test_subject_for_refuses_an_unknown_service():
    """Only the three services have subjects."""
    with pytest.raises(ValueError, match="unknown service"):
        subject_for("police", "OperationPlanned")


def test_committed_schemas_match_the_code():
    """The JSON Schemas and AsyncAPI document committed in contracts/schemas are exactly what
    the contracts produce, so a change to a contract cannot slip through review unseen."""
    stale = check_schemas(DEFAULT_DIRECTORY)
    assert stale == [], (
        f"contracts/schemas is out of date ({', '.join(stale)}): run `chb contracts export` "
        "(or `python -m contracts.export`) and commit the result"
    )


def test_export_writes_what_check_expects(tmp_path):
    """write_schemas writes one schema per event version and per command model, and the
    AsyncAPI document; check_schemas then finds nothing to report, and reports a file that
    was changed or removed."""
    written = write_schemas(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert names == set(render())
    assert {
        f"{cls.__name__}.v{cls.model_fields['schema_version'].default}.json" for cls in ALL_EVENTS
    } <= names
    assert {"asyncapi.json", "commands/PlanOperation.json", "commands/CommandReply.json"} <= names
    assert check_schemas(tmp_path) == []

    (tmp_path / "ArrestRecorded.v2.json").write_text("{}\n")
    (tmp_path / "commands" / "PlanOperation.json").unlink()
    assert check_schemas(tmp_path) == ["ArrestRecorded.v2.json", "commands/PlanOperation.json"]


def test_the_asyncapi_document_lists_every_subject():
    """The AsyncAPI document has a channel for every published subject (dead letters on each
    service's own, and each service's history checkpoints) and for each clear command, with the
    contract as payload."""
    document = json.loads(render()["asyncapi.json"])
    addresses = {channel["address"] for channel in document["channels"].values()}
    published = {
        subject_for(service, cls.__name__)
        for cls in ALL_EVENTS
        for service in (SERVICES if cls is DeadLetterRecorded else (cls.source,))
    }
    commands = {
        f"cmd.clear.{name}"
        for name in (
            "plan_operation",
            "launch_operation",
            "record_arrest",
            "record_seizure",
            "conclude_operation",
            "get_operation",
        )
    }
    checkpoints = {f"audit.{service}.checkpoint" for service in SERVICES}
    assert addresses == published | commands | checkpoints
    schemas = document["components"]["schemas"]
    assert {cls.__name__ for cls in ALL_EVENTS} <= set(schemas)
    assert schemas["ArrestRecorded"]["additionalProperties"] is False
    assert {"PlanOperation", "RecordArrest", "GetOperation"} <= set(schemas)


def test_a_history_checkpoint_round_trips_and_refuses_a_bad_digest():
    """Checkpoints are evidence: a digest that is not 64 hex digits is refused outright."""
    from contracts.audit import HistoryCheckpoint

    checkpoint = HistoryCheckpoint(
        service="hold",
        first_notification_id=1,
        last_notification_id=2,
        count=2,
        previous_head="0" * 64,
        head="a" * 64,
        checkpointed_at=datetime(2026, 3, 1, tzinfo=UTC),
        leaves=[(1, "b" * 64), (2, "c" * 64)],
    )
    assert HistoryCheckpoint.model_validate_json(checkpoint.model_dump_json()) == checkpoint
    with pytest.raises(ValidationError, match="leaves"):
        HistoryCheckpoint.model_validate({**checkpoint.model_dump(), "leaves": [(1, "xyz")]})


def test_personal_details_cross_the_wire_only_sealed():
    """Where a contract carries personal details it takes sealed text and refuses plaintext,
    without echoing what it refused."""
    sealed = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"
    assert parse_event(wire(SAMPLES[ArrestRecorded], personal=sealed)).personal == sealed
    with pytest.raises(
        MalformedEvent, match="ArrestRecorded v2: personal: String should match"
    ) as refused:
        parse_event(wire(SAMPLES[ArrestRecorded], personal="Jane Doe, 1 High St"))
    assert "Jane" not in str(refused.value)


def test_an_indicator_fraction_comes_as_text_and_a_whole_number_may_come_as_a_number() -> None:
    """A binary float cannot say how many places it has: 5.25 as a JSON number is refused with
    the reason, "5.25" as text and 5 as a number are read exactly."""
    from contracts.indicators import IndicatorRow

    row = {"place": "Gore", "indicator": "recorded_crime", "period_start": "2026-01-01"}
    row["unit"] = "offences"
    assert IndicatorRow.model_validate_json(json.dumps({**row, "value": 5})).value == 5
    assert (
        str(IndicatorRow.model_validate_json(json.dumps({**row, "value": "5.25"})).value) == "5.25"
    )
    with pytest.raises(ValidationError, match="sent as text"):
        IndicatorRow.model_validate_json(json.dumps({**row, "value": 5.25}))
