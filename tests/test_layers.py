"""Layers point one way: contracts <- runtime <- services <- views <- api / audit / cli.

A plain scan of every import (at the top of a module or inside a function alike) in the
packages a rule is about; a rule broken names the module and what it imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
DOMAINS = ("services.clear", "services.hold", "services.build", "services.notify")


def imports_of(package: str) -> set[tuple[str, str]]:
    """(module file, imported module) for every import in ``package`` (a dotted name)."""
    found: set[tuple[str, str]] = set()
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        name = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((name, node.module))
            elif isinstance(node, ast.Import):
                found.update((name, alias.name) for alias in node.names)
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{name} imports {module}"
        for name, module in imports_of(package)
        if any(module == f or module.startswith(f"{f}.") for f in forbidden)
    )


def test_the_api_imports_no_services_domain() -> None:
    """The front door sends commands and reads views; a service's rules reach it through
    services.views."""
    assert offenders("services.api", DOMAINS) == []


def test_the_audit_tools_import_no_services_domain_and_not_the_api() -> None:
    assert offenders("services.audit", (*DOMAINS, "services.api")) == []


def test_the_views_import_neither_the_api_nor_the_audit_tools_nor_the_cli() -> None:
    """Both read the views; the views know neither."""
    above = ("services.api", "services.audit", "services.cli")
    assert offenders("services.views", above) == []


def test_the_runtime_imports_no_service_and_nothing_above_them() -> None:
    """A service process loads its own service only: the store verification it answers with
    comes in as a hook from the wiring (services/factories.py), not from the audit tools."""
    above = (*DOMAINS, "services.views", "services.api", "services.audit", "services.cli")
    assert offenders("services.runtime", above) == []


def test_the_services_reach_each_other_only_through_streams() -> None:
    for service in DOMAINS:
        others = tuple(d for d in DOMAINS if d != service)
        assert offenders(service, others) == []


def test_the_services_import_nothing_above_them() -> None:
    """A service process carries its own domain and the runtime, never the views, the front
    door, the audit tools or the CLI."""
    above = ("services.views", "services.api", "services.audit", "services.cli")
    for service in DOMAINS:
        assert offenders(service, above) == []


def test_contracts_import_nothing_of_the_services() -> None:
    assert offenders("contracts", ("services",)) == []


def test_the_rules_see_a_breach() -> None:
    """The scan itself finds imports (a rule that can never fail proves nothing)."""
    assert offenders("services.views", DOMAINS) != []
