"""``chb playbook check``: offline validation with every error, one per line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app

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
        app, ["indicators", "import", str(path), "--api", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert "1 problem(s); nothing imported" in result.output
    assert "period_start" in result.output and "3" in result.output
