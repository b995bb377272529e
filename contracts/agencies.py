"""The agency register's shape and its seed: the kinds of agency, and the agencies every system
starts with (the ROCC leadership groups' members and the agencies the playbooks name).

One place, importable by everyone: hold records the seeded agencies in its store at start-up,
the front door counts them before it has read hold's stream, and the command line checks
tokens and playbooks against them offline.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, field_validator

from contracts.envelope import Code, Contract

AgencyKind = Literal[
    "police",
    "government_agency",
    "iwi",
    "community_provider",
    "council",
    "oversight",
    "leadership_group",
]
AGENCY_KINDS: tuple[AgencyKind, ...] = get_args(AgencyKind)

# The system's own code: the administrator's and the services' (services/runtime/meta.py). It is
# no agency, so it cannot be registered, and only an administrator's token may name it.
SYSTEM_AGENCY = "chb"

PlaceName = Annotated[str, Field(min_length=1, max_length=100)]


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


# Something other than spaces, said in the schema too (``pattern``), so that a client (and the
# fuzzing, tests/api/test_fuzz.py) knows a blank value is refused before sending one.
SAYS_SOMETHING = r"\S"
# Why someone added or changed an agency: kept on the record, so it must say something.
Reason = Annotated[
    str, Field(min_length=1, max_length=1000, pattern=SAYS_SOMETHING), AfterValidator(_not_blank)
]
AgencyName = Annotated[
    str, Field(min_length=1, max_length=200, pattern=SAYS_SOMETHING), AfterValidator(_not_blank)
]


class AgencyDetails(Contract):
    """An agency as the register holds it. ``places`` are the places it serves (none: national).
    Contact points (for notifications) are a later addition, as events of their own."""

    code: Code
    name: AgencyName
    kind: AgencyKind
    places: tuple[PlaceName, ...] = Field(default=(), max_length=100)

    @field_validator("code")
    @classmethod
    def _not_the_system(cls, code: str) -> str:
        if code == SYSTEM_AGENCY:
            raise ValueError(f"{SYSTEM_AGENCY!r} is reserved for the system and its administrator")
        return code


# The West Coast's three districts' main towns: what Poutini Ngāi Tahu and the councils serve.
_BULLER = ("Westport", "Reefton", "Karamea")
_GREY = ("Greymouth", "Runanga", "Blackball")
_WESTLAND = ("Hokitika", "Ross", "Haast")


def _agency(code: str, name: str, kind: AgencyKind, places: tuple[str, ...] = ()) -> AgencyDetails:
    return AgencyDetails(code=code, name=name, kind=kind, places=places)


SEEDED_AGENCIES: tuple[AgencyDetails, ...] = (
    _agency("police", "New Zealand Police", "police"),
    _agency("customs", "New Zealand Customs Service", "government_agency"),
    _agency("oranga_tamariki", "Oranga Tamariki, Ministry for Children", "government_agency"),
    _agency("msd", "Ministry of Social Development", "government_agency"),
    _agency("health_nz", "Health New Zealand, Te Whatu Ora", "government_agency"),
    _agency("corrections", "Ara Poutama Aotearoa, Department of Corrections", "government_agency"),
    _agency("justice", "Ministry of Justice", "government_agency"),
    _agency("education", "Ministry of Education", "government_agency"),
    # The chair of the West Coast group is the Regional Public Service Commissioner.
    _agency(
        "public_service_commission",
        "Te Kawa Mataaho Public Service Commission",
        "government_agency",
    ),
    # The West Coast's iwi; `iwi` is the agency the Hold-to-Build gate requires.
    _agency("iwi", "Poutini Ngāi Tahu", "iwi", _BULLER + _GREY + _WESTLAND),
    _agency("iwi_provider", "Iwi and Māori health and social providers", "iwi"),
    _agency("victim_support", "Victim Support", "community_provider"),
    _agency("grey_district_council", "Grey District Council", "council", _GREY),
    _agency("buller_district_council", "Buller District Council", "council", _BULLER),
    _agency("westland_district_council", "Westland District Council", "council", _WESTLAND),
    # The local leadership group itself: it owns the resilience plan's own milestones.
    _agency("rocc_leadership_group", "ROCC local leadership group", "leadership_group"),
    # Auditors' and oversight bodies' staff act for this.
    _agency("oversight", "Independent oversight and audit", "oversight"),
)
SEEDED_CODES: frozenset[str] = frozenset(a.code for a in SEEDED_AGENCIES)


def closest(code: str, codes: Iterable[str]) -> str | None:
    """The registered code ``code`` was most likely meant to be, if one is close."""
    found = difflib.get_close_matches(code, sorted(codes), n=1, cutoff=0.6)
    return found[0] if found else None


def not_registered(code: str, codes: Iterable[str]) -> str:
    """Why ``code`` is refused, with the closest registered code where there is one."""
    near = closest(code, codes)
    hint = f" (did you mean {near}?)" if near else ""
    return f"{code!r} is not a registered agency{hint}"
