"""Playbooks: what an enforcement event sets in motion, as a versioned, validated document.

Regions tailor their response, so the rules are data, not code. A playbook that does not
validate is refused with every error listed; the one in force stays in force.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.agencies import SEEDED_CODES, not_registered
from contracts.envelope import Code
from services.hold.domain import ESCALATION_LEVELS
from services.runtime.errors import Invalid

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
# As contracts.envelope.Code: a malformed code is the schema's error, not the register's.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as '90m', '2h' or '3d'")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(**{_UNITS[unit]: amount})


def _duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Facts:
    """What happened, as far as the playbook's conditions are concerned."""

    event: str  # arrest | seizure | witness_registered
    # One per child; None where the age is not known (staged support, or sealed ages that can
    # no longer be opened): such a child counts as younger than any age a rule names.
    children_ages: tuple[int | None, ...] = ()
    only_carer_present: bool = False
    person_age: int | None = None  # the arrested person's, where known
    seizure_kind: str | None = None
    # The arrest's ages were given but cannot be read (the household's key was erased before
    # Hold saw the arrest): the arrested person may be young, so rules on that hold too.
    ages_unreadable: bool = False


class When(_Strict):
    """Conditions on the event; all those given must hold."""

    event: Literal["arrest", "seizure", "witness_registered"]
    children: bool | None = None
    only_carer_present: bool | None = None
    youngest_under: int | None = Field(default=None, ge=1, le=18)
    # arrest: the arrested person is younger than this (a young person under 18, say)
    arrested_under: int | None = Field(default=None, ge=10, le=25)
    seizure_kind: Literal["drugs", "firearm", "cash"] | None = None

    @model_validator(mode="after")
    def _conditions_fit_the_event(self) -> When:
        if self.event != "arrest" and (
            self.only_carer_present is not None or self.arrested_under is not None
        ):
            raise ValueError("only_carer_present and arrested_under apply to arrests only")
        if self.event != "seizure" and self.seizure_kind is not None:
            raise ValueError("seizure_kind applies to seizures only")
        return self

    def matches(self, facts: Facts) -> bool:
        ages = facts.children_ages
        return (
            self.event == facts.event
            and (self.children is None or self.children == bool(ages))
            and (
                self.only_carer_present is None
                or self.only_carer_present == facts.only_carer_present
            )
            and (
                self.youngest_under is None
                or any(a is None or a < self.youngest_under for a in ages)
            )
            and (
                self.arrested_under is None
                or facts.ages_unreadable
                or (facts.person_age is not None and facts.person_age < self.arrested_under)
            )
            and (self.seizure_kind is None or self.seizure_kind == facts.seizure_kind)
        )


class TaskTemplate(_Strict):
    kind: Code
    lead_agency: Code
    fallback_agencies: list[Code] = Field(default_factory=list, max_length=10)
    due_within: Duration
    reminders: list[Duration] = Field(default_factory=list, max_length=5)
    escalations: list[Duration] = Field(default_factory=list, max_length=len(ESCALATION_LEVELS))

    @model_validator(mode="after")
    def _agencies_and_steps(self) -> TaskTemplate:
        chain = [self.lead_agency, *self.fallback_agencies]
        if len(set(chain)) != len(chain):
            raise ValueError("an agency appears twice in lead_agency and fallback_agencies")
        due = parse_duration(self.due_within)
        for reminder in self.reminders:
            if parse_duration(reminder) >= due:
                raise ValueError(f"reminder {reminder!r} is not before the due time")
        steps = [parse_duration(e) for e in self.escalations]
        if steps != sorted(steps) or len(set(steps)) != len(steps):
            raise ValueError("escalations must be in increasing order")
        return self

    @property
    def due(self) -> timedelta:
        return parse_duration(self.due_within)


class Rule(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    description: str = ""
    when: When
    task: TaskTemplate


class Playbook(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    version: int = Field(ge=1)
    description: str = ""
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Playbook:
        message = _duplicate_rule_ids([rule.id for rule in self.rules])
        if message:
            raise ValueError(message)
        return self

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}"

    def tasks_for(self, facts: Facts) -> dict[str, tuple[Rule, TaskTemplate]]:
        """One task per kind: where several rules ask for the same kind, the soonest due wins."""
        chosen: dict[str, tuple[Rule, TaskTemplate]] = {}
        for rule in self.rules:
            if rule.when.matches(facts):
                held = chosen.get(rule.task.kind)
                if held is None or rule.task.due < held[1].due:
                    chosen[rule.task.kind] = (rule, rule.task)
        return chosen


def _duplicate_rule_ids(ids: list[Any]) -> str | None:
    duplicates = sorted({str(i) for i in ids if ids.count(i) > 1})
    return f"rule ids must be unique: {', '.join(duplicates)}" if duplicates else None


class PlaybookInvalid(Invalid, ValueError):
    """The document does not validate; ``errors`` lists every problem, one line each."""

    errors: list[str]

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"playbook refused: {len(errors)} error(s): " + "; ".join(errors))
        self.errors = errors


def _where(loc: tuple[Any, ...], document: dict[str, Any]) -> str:
    """rules.2.task.due_within -> rules[2] (id 'x').task.due_within"""
    parts: list[str] = []
    node: Any = document
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node) and isinstance(node[key], dict):
                rule_id = node[key].get("id")
                if rule_id:
                    label += f" (id {rule_id!r})"
            parts.append(label)
        else:
            parts.append(f".{key}" if parts else str(key))
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return "".join(parts) or "document"


def parse_playbook(document: dict[str, Any], agencies: Container[str] | None = None) -> Playbook:
    """The playbook, or ``PlaybookInvalid`` listing every error. With ``agencies`` (the
    register), each lead or fallback agency it does not hold is an error too; without, the
    agencies are not looked up (a playbook already adopted is read back as it was)."""
    errors = _unknown_agencies(document, agencies) if agencies is not None else []
    try:
        playbook = Playbook.model_validate(document)
    except ValidationError as error:
        errors = [f"{_where(e['loc'], document)}: {e['msg']}" for e in error.errors()] + errors
    else:
        if not errors:
            return playbook
    # Whole-document checks run only once every field is valid; say them now too, so the
    # author sees every problem at once.
    rules = document.get("rules")
    if isinstance(rules, list):
        message = _duplicate_rule_ids([r.get("id") for r in rules if isinstance(r, dict)])
        if message and not any(message in e for e in errors):
            errors.append(f"rules: {message}")
    raise PlaybookInvalid(errors)


def _unknown_agencies(document: dict[str, Any], agencies: Container[str]) -> list[str]:
    """One error per lead or fallback agency (a well-formed code) the register does not hold."""
    suggestions = list(agencies) if isinstance(agencies, Iterable) else sorted(SEEDED_CODES)
    rules = document.get("rules")
    named: list[tuple[tuple[Any, ...], Any]] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        task = rule.get("task") if isinstance(rule, dict) else None
        if not isinstance(task, dict):
            continue
        named.append((("rules", i, "task", "lead_agency"), task.get("lead_agency")))
        fallback = task.get("fallback_agencies")
        for j, code in enumerate(fallback if isinstance(fallback, list) else []):
            named.append((("rules", i, "task", "fallback_agencies", j), code))
    return [
        f"{_where(loc, document)}: {not_registered(code, suggestions)}"
        for loc, code in named
        if isinstance(code, str) and _CODE.fullmatch(code) and code not in agencies
    ]


def load_playbook_text(text: str, agencies: Container[str] | None = None) -> Playbook:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlaybookInvalid([f"not valid TOML: {error}"]) from None
    return parse_playbook(document, agencies)


def load_playbook_file(path: Path, agencies: Container[str] | None = None) -> Playbook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlaybookInvalid([f"cannot read {path}: {error.strerror}"]) from None
    return load_playbook_text(text, agencies)


@cache
def national_playbook() -> Playbook:
    """The default that ships with the project, in force until another is adopted."""
    text = resources.files("services.hold.playbooks").joinpath("national.toml").read_text("utf-8")
    return load_playbook_text(text)
