"""What build's request bodies accept: no body may claim who signed off or who sat on a panel,
and a gate's evidence must say something."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from contracts.build_commands import (
    EVIDENCE_MIN_MEANINGFUL,
    GateDetails,
    PanelDecisionDetails,
    PanelVoteDetails,
)
from services.build.domain import GATE_EVIDENCE_MIN_MEANINGFUL, meaningful

pytestmark = pytest.mark.contract

CLAIMED = [{"id": "m-1", "agency": "iwi", "role": "leadership_group_chair"}]


def refusal(model: type[Any], body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return [(".".join(map(str, e["loc"])), e["type"]) for e in refused.value.errors()]


def test_a_body_claiming_sign_offs_or_a_panel_is_refused() -> None:
    """The people are those whose own tokens signed off or voted: a list of them in a body is
    an unknown field."""
    evidence = ["wastewater meth load halved"]
    assert refusal(GateDetails, {"evidence": evidence, "signed_off_by": CLAIMED}) == [
        ("signed_off_by", "extra_forbidden")
    ]
    decision = {"decision": "approved", "amount": "2000000.00", "panel": CLAIMED}
    assert refusal(PanelDecisionDetails, decision) == [("panel", "extra_forbidden")]
    assert refusal(PanelVoteDetails, decision) == [("panel", "extra_forbidden")]


@pytest.mark.parametrize("item", [".", "   ", "n/a", "-- . --", "ok!"])
def test_evidence_without_a_few_letters_or_digits_is_refused_naming_the_item(item: str) -> None:
    assert refusal(GateDetails, {"evidence": ["minutes of 3 March", item]}) == [
        ("evidence.1", "value_error")
    ]
    assert refusal(GateDetails, {"evidence": []}) == [("evidence", "too_short")]


def test_the_front_door_and_build_hold_the_same_evidence_rule() -> None:
    """The contract refuses at the door what the plan itself would refuse, and trims."""
    assert EVIDENCE_MIN_MEANINGFUL == GATE_EVIDENCE_MIN_MEANINGFUL
    for text in (".", "abcde", "abcdef", "  Ōpōtiki  ", "n/a", "12 rangatahi"):
        try:
            GateDetails(evidence=[text])
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == meaningful(text), text
    assert GateDetails(evidence=["  minutes of 3 March "]).evidence == ["minutes of 3 March"]
