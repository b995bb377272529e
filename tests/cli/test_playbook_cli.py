"""``chb playbook check``: offline validation with every error, one per line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from tests.support.clear import launch_operation, plan_operation

pytestmark = pytest.mark.application


def test_the_national_playbook_checks_clean() -> None:
    """The shipped default validates, and the command says which version it is."""
    path = Path(__file__).parents[2] / "services/hold/playbooks/national.toml"
    result = CliRunner().invoke(app, ["playbook", "check", str(path)])
    assert result.exit_code == 0
    assert "valid: national@v2, 9 rules" in result.output


def test_an_invalid_playbook_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    """Each problem is named with where it is; the exit code is 1."""
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "x"\nversion = 0\n'
        '[[rules]]\nid = "a"\nwhen = { event = "arrest" }\n'
        'task = { kind = "k", lead_agency = "msd", due_within = "2q" }\n'
        '[[rules]]\nid = "a"\nwhen = { event = "arrest" }\n'
        'task = { kind = "j", lead_agency = "msd", due_within = "2h" }\n'
    )
    result = CliRunner().invoke(app, ["playbook", "check", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert len(lines) == 3
    assert any("version" in line for line in lines)
    assert any("rules[0] (id 'a').task.due_within" in line for line in lines)
    assert any("rule ids must be unique: a" in line for line in lines)


def test_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["playbook", "check", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_an_indicator_file_with_bad_rows_imports_nothing_and_says_why(tmp_path: Path) -> None:
    """The file is refused before anything is sent (no API is even running here): each bad row
    by row, column and reason; exit 1."""
    path = tmp_path / "loads.csv"
    path.write_text(
        "place,indicator,series,period_start,value,unit,source\n"
        "Ōpōtiki,wastewater_drug_load,meth,2025-09-01,120,mg,ESR\n"
        "Ōpōtiki,wastewater_drug_load,meth,2025-09-31,110,mg,ESR\n"
    )
    result = CliRunner().invoke(
        app, ["--api", "http://127.0.0.1:9", "indicators", "import", str(path)]
    )
    assert result.exit_code == 1
    assert "1 problem(s); nothing imported" in result.output
    assert "period_start" in result.output and "3" in result.output


def test_audit_export_writes_the_record_with_a_manifest_of_hashes(tmp_path: Path) -> None:
    """From a data directory alone: JSONL and CSV of the record, and a manifest whose SHA-256
    matches each file."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from services.clear.application import ClearApplication
    from services.runtime.meta import Actor

    stores = tmp_path / "data"
    stores.mkdir()
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(stores / "clear.sqlite"),
    }
    clear = ClearApplication(env=env)
    actor = Actor("p", "police", "planner")
    op = plan_operation(clear, "Pakari", "Southland", "Mataura", "g", datetime.now(UTC), actor)
    launch_operation(clear, op, actor)
    clear.close()

    out = tmp_path / "export"
    result = CliRunner().invoke(
        app, ["audit", "export", "--out", str(out), "--data-dir", str(stores)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["entries"] == 2 and manifest["by_service"]["clear"] == 2
    for name, facts in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == facts["sha256"]
    lines = (out / "timeline.jsonl").read_text().splitlines()
    assert [json.loads(line)["event_type"] for line in lines] == [
        "OperationPlanned",
        "OperationLaunched",
    ]
