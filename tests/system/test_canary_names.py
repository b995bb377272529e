"""Names never leak: canary names seeded in every personal field, in a refused request and in
two bad messages, then searched for in every log line (all four processes at DEBUG), every
NATS subject and header, every dead letter, and every store, with real processes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from services.notify.mail_sink import MailSink
from services.runtime.embedded_nats import free_port
from services.runtime.settings import Settings
from services.runtime.store import postgres_conninfo
from services.runtime.topology import (
    ALL_SERVICES,
    H_NOTIFICATION_ID,
    H_PREVIOUS_ID,
    stream_name,
)
from tests.support.flows import START
from tests.support.nats_users import connect_as, every_message
from tests.support.processes import Processes
from tests.support.receivers import WebhookReceiver
from tests.support.system import eventually, signed

pytestmark = pytest.mark.system

CANARY = "Kanarie"  # appears in nothing this system writes except where a test puts it
WEBHOOK_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"


async def _async(value: Any) -> Any:
    return value


async def test_canary_names_appear_in_no_log_subject_header_dead_letter_or_store(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    processes = Processes(settings, tmp_path / "logs")
    for name in ("clear", "hold", "build"):
        processes.start(name, CHB_LOG_LEVEL="debug")
    processes.start("api", CHB_LOG_LEVEL="debug", CHB_API_PORT=str(port))
    # The notifier, with a real SMTP server and a real webhook receiver: what they are sent is
    # searched too (e-mail bodies, webhook bodies and their headers).
    sink = MailSink(tmp_path / "mail").start()
    receiver = await WebhookReceiver(secret=WEBHOOK_SECRET).start()
    processes.start("notify", CHB_LOG_LEVEL="debug", CHB_SMTP_PORT=str(sink.port))
    planner = signed("planner", "police")
    worker = signed("agency_worker", "oranga_tamariki")
    auditor = signed("auditor", "oversight")
    published: list[tuple[str, int]] = []  # the two bad messages this test puts on a stream
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:

            async def ready() -> int:
                try:
                    return (await api.get("/ready")).status_code
                except httpx.TransportError:
                    return 0

            await eventually(ready, lambda s: s == 200, within=60, what="the API ready")
            contacts_by = signed("leadership_group_chair", "rocc_leadership_group")

            async def contact(body: dict[str, Any]) -> int:
                url = "/agencies/oranga_tamariki/contacts"
                body = {**body, "reason": "intake desk"}
                return (await api.post(url, headers=contacts_by, json=body)).status_code

            for body in (
                {"url": receiver.url, "secret": WEBHOOK_SECRET},
                {"address": "intake@ot.example.nz"},
            ):
                await eventually(lambda b=body: contact(b), lambda s: s == 201, within=60)
            op = (
                await api.post(
                    "/operations",
                    headers=planner,
                    json={
                        "name": "Operation Pakari",
                        "district": "Southland",
                        "place": "Mataura",
                        "target_group": "supply",
                        "planned_start": START,
                    },
                )
            ).json()["operation_id"]
            # The planning cell's note on a household it stages before launch.
            staged = {
                "household_ref": "HH-2",
                "expected_children": 1,
                "note": f"Nan {CANARY} minds the children",
            }
            assert (
                await api.post(f"/operations/{op}/staged-support", headers=planner, json=staged)
            ).is_success
            assert (await api.post(f"/operations/{op}/launch", headers=planner)).is_success
            arrest = {
                "person_ref": "P-1",
                "household_ref": "HH-1",
                "charges": ["supply"],
                "children": [{"child_ref": "C-1", "age": 3}],
                "person_age": 16,
                "only_carer_present": True,
                "personal": {
                    "person_name": f"Hemi {CANARY}",
                    "address": f"1 {CANARY} Road",
                    "children": [{"child_ref": "C-1", "name": f"Mere {CANARY}"}],
                    "notes": f"aunt {CANARY} nearby",
                },
            }
            assert (
                await api.post(f"/operations/{op}/arrests", headers=planner, json=arrest)
            ).is_success
            # A firearm seized in a home and a key witness, each with a child's age: sealed too.
            seizure = {
                "kind": "firearm",
                "description": "pistol",
                "quantity": 1,
                "unit": "item",
                "household_ref": "HH-3",
                "children": [{"child_ref": "C-3", "age": 2}],
            }
            assert (
                await api.post(f"/operations/{op}/seizures", headers=planner, json=seizure)
            ).is_success
            witness = {
                "witness_ref": "W-1",
                "household_ref": "HH-4",
                "children": [{"child_ref": "C-4", "age": 9}],
            }
            assert (
                await api.post(f"/operations/{op}/witnesses", headers=planner, json=witness)
            ).is_success
            # A name where an opaque reference belongs is refused without being echoed.
            bad = await api.post(
                f"/operations/{op}/arrests",
                headers=planner,
                json={**arrest, "person_ref": f"Hemi {CANARY}"},
            )
            assert bad.status_code == 422 and CANARY not in bad.text

            tasks = await eventually(
                lambda: api.get("/tasks", headers=auditor, params={"operation_id": op}),
                lambda r: any(t["kind"] == "youth_justice_support" for t in r.json()),
                what="youth justice support: hold read the sealed age of 16",
            )

            cases = await api.get("/cases", headers=auditor, params={"operation_id": op})
            case_of = {c["household_ref"]: c["case_id"] for c in cases.json()}
            task = next(
                t
                for t in tasks.json()
                if t["kind"] == "child_safety_check" and t["case_id"] == case_of["HH-1"]
            )
            tid = task["task_id"]
            await eventually(
                lambda: _async(len(receiver.delivered()) and len(sink.messages())),
                bool,
                what="the offers by webhook and e-mail",
            )
            assert (await api.post(f"/tasks/{tid}/accept", headers=worker)).is_success
            note = {"text": f"with {CANARY} family tonight"}
            assert (await api.post(f"/tasks/{tid}/note", headers=worker, json=note)).is_success
            read = await api.get(
                f"/cases/{task['case_id']}/personal",
                headers=worker,
                params={"reason": "visit tonight"},
            )
            assert read.status_code == 200 and CANARY in read.text  # the one place it may be
            assert read.json()["arrests"][0]["ages"]["person_age"] == 16
            staged_task = next(t for t in tasks.json() if t["case_id"] == case_of["HH-2"])
            staged_worker = signed("agency_worker", staged_task["agency"])
            accepted = await api.post(
                f"/tasks/{staged_task['task_id']}/accept", headers=staged_worker
            )
            assert accepted.is_success, accepted.text  # personal details from acceptance on
            staged_read = await api.get(
                f"/cases/{case_of['HH-2']}/personal",
                headers=staged_worker,
                params={"reason": "visit tonight"},
            )
            assert staged_read.json()["staged_note"] == staged["note"]

            # Erasing the household: its ages are unreadable from then on, like its names.
            chair = signed("leadership_group_chair", "iwi")
            erasure = {"reason": "privacy request PR-2026-0042"}
            assert (
                await api.post("/households/HH-1/erasure", headers=chair, json=erasure)
            ).is_success
            after = await api.get(
                f"/cases/{task['case_id']}/personal",
                headers=auditor,
                params={"reason": "checking the erasure"},
            )
            assert after.json()["arrests"][0]["ages"] == {"erased": True}

            # Two bad messages carrying the name in the clear: one with no place in the chain,
            # and (with clear stopped, so nothing follows it) one in the chain whose personal
            # details are plaintext where the contract insists on sealed text.
            processes.kill("clear")
            nc = await connect_as(settings)
            js = nc.jetstream()
            last = await js.get_last_msg(stream_name("clear"), "chb.clear.>")
            junk = await js.publish("chb.clear.arrest_recorded", f"{CANARY} junk".encode())
            published.append((junk.stream, junk.seq))
            nid = int((last.headers or {})[H_NOTIFICATION_ID])
            forged: dict[str, Any] = json.loads(last.data or b"{}")
            forged = {**forged, "event_id": "00000000-0000-4000-8000-000000000001"}
            forged["personal"] = f"Hemi {CANARY}"
            chained = await js.publish(
                last.subject or "",
                json.dumps(forged).encode(),
                headers={H_NOTIFICATION_ID: str(nid + 1), H_PREVIOUS_ID: str(nid)},
            )
            published.append((chained.stream, chained.seq))
            await nc.close()
            letters = await eventually(
                lambda: api.get("/dead-letters", headers=auditor),
                lambda r: len(r.json()) == 4,
                what="four dead letters (two consumers, two messages)",
            )
            assert CANARY not in letters.text
            assert any("personal" in d["error"] for d in letters.json())
    finally:
        processes.stop_all()
        sink.stop()
        await receiver.stop()

    sent = [r.body + str(r.headers).encode() for r in receiver.received]
    sent += [eml.read_bytes() for eml in sink.messages()]
    assert len(sent) >= 2 and receiver.refused == []
    assert not [m for m in sent if CANARY.encode() in m]
    logs = b"".join(p.read_bytes() for p in sorted((tmp_path / "logs").iterdir()))
    assert b"published" in logs and b"debug" in logs  # the logs are there, at DEBUG
    assert CANARY.encode() not in logs
    searched: set[str] = set()
    for stream, seq, subject, body, headers in await every_message(settings):
        assert CANARY not in subject and CANARY not in str(headers), (stream, seq)
        if (stream, seq) not in published:
            assert CANARY.encode() not in body, (stream, seq, body[:200])
            searched |= _no_plaintext_ages(body)
    assert searched == set(CARRY_AGES), f"searched only {searched}"
    stored = stored_bytes(settings)
    assert CANARY.encode() not in stored
    # Ages are small numbers, so search for where they would be, not for them: no stored
    # event holds an age field (an arrest's, a seizure's and a witness's ages are there only
    # sealed: four sealed ages at least, clear's three events and hold's ArrestLinked).
    assert PLAINTEXT_AGE.search(stored) is None, PLAINTEXT_AGE.search(stored)
    assert stored.replace(b'": "', b'":"').count(b'"ages":"chb-sealed:v1:') >= 4


# A field that would hold an age in the clear: a child's ``age`` or the ``person_age``.
PLAINTEXT_AGE = re.compile(rb'"(?:person_)?age"\s*:')


# The events that concern children whose ages are given: none may carry an age field, and
# those that carry the ages (all but ArrestLinkedToCase) carry them sealed.
CARRY_AGES = ("ArrestRecorded", "ArrestLinkedToCase", "SeizureRecorded", "WitnessRegistered")


def _no_plaintext_ages(body: bytes) -> set[str]:
    """Assert that a message about children carries their ages only sealed; its event type if
    it was one of CARRY_AGES, else nothing (another event, or not JSON: a key)."""
    try:
        message = json.loads(body)
    except ValueError:
        return set()
    if not isinstance(message, dict) or message.get("event_type") not in CARRY_AGES:
        return set()

    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    assert not {"age", "person_age"} & keys(message), message
    if message["event_type"] != "ArrestLinkedToCase":
        assert str(message["ages"]).startswith("chb-sealed:v1:"), message["ages"]
    return {message["event_type"]}


def stored_bytes(settings: Settings) -> bytes:
    """Every byte the stores hold: the SQLite files (and the API's own files beside them), or
    every row of every table in the services' PostgreSQL schemas, bytea columns raw."""
    files = sorted(settings.data_dir.rglob("*")) if settings.data_dir.exists() else []
    found = b"".join(p.read_bytes() for p in files if p.is_file())
    if settings.store != "postgres":
        assert found, "no store files found: the search would prove nothing"
        return found
    rows = 0
    with psycopg.connect(postgres_conninfo(settings)) as conn:
        for service in ALL_SERVICES:
            schema = settings.postgres_schema(service)
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            for (table,) in tables:
                query = sql.SQL("SELECT * FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                for row in conn.execute(query):
                    rows += 1
                    found += b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    assert rows, "no rows found: the search would prove nothing"
    return found
