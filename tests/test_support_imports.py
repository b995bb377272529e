"""Shared test helpers live in tests/support/: no test module imports another test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module() -> None:
    """A helper another test needs belongs in tests/support/, where it can be found and kept."""
    offenders = {
        f"{path.relative_to(TESTS)} imports {module}"
        for path in TESTS.rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_")
    }
    assert offenders == set()


def test_support_modules_hold_no_tests() -> None:
    """tests/support/ is collected by nobody: a test written there would silently never run."""
    support = TESTS / "support"
    assert [p.name for p in support.glob("test_*.py")] == []
