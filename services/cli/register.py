"""What ``chb`` checks an agency code against, offline and online: the seeded register, a
register given as a file, and the running API's ``/agencies`` when one answers.

Kept apart from the commands (``agencies.py``, ``tokens.py``, ``hold.py``) so they stay
thin; nothing here prints or exits.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx

from contracts.agencies import SEEDED_CODES, SYSTEM_AGENCY, not_registered

# As contracts.envelope.Code.
CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# How long `chb token issue` waits for a running API's register before going on without it.
API_TIMEOUT_SECONDS = 2.0


class RegisterFileInvalid(ValueError):
    """The file given as a register cannot be read as one (the message says why, one line)."""


def read_register_file(path: Path) -> frozenset[str]:
    """A register given as a JSON file: a list of codes (``["police", "msd"]``), or the list
    ``chb agency list --json`` prints (objects with a ``code``). It replaces the seeded one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RegisterFileInvalid(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise RegisterFileInvalid(f"{path}: not JSON: {error}") from None
    items = data if isinstance(data, list) else None
    if items is None:
        raise RegisterFileInvalid(f"{path}: not a JSON list of agency codes")
    codes = [item.get("code") if isinstance(item, dict) else item for item in items]
    bad = [c for c in codes if not isinstance(c, str) or not CODE.fullmatch(c)]
    if bad:
        raise RegisterFileInvalid(f"{path}: not agency codes: {', '.join(map(repr, bad[:5]))}")
    return frozenset(c for c in codes if isinstance(c, str))


def running_register(api: str, key: str, issuer: str) -> frozenset[str] | None:
    """The codes a running API's register holds, or None when none answers. Asked with a
    one-minute administrator token signed with ``key`` (whoever holds the key may mint any)."""
    from services.api.identity import ADMINISTRATOR, issue_token

    token = issue_token(key, issuer, ADMINISTRATOR, ttl=timedelta(minutes=1))
    try:
        response = httpx.get(
            f"{api.rstrip('/')}/agencies",
            params={"limit": 10_000},
            headers={"Authorization": f"Bearer {token}"},
            timeout=API_TIMEOUT_SECONDS,
        )
        if response.status_code != 200:
            return None
        return frozenset(a["code"] for a in response.json())
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def token_agency_problem(role: str, agency: str, api: str, key: str, issuer: str) -> str | None:
    """Why a token for someone in ``role`` at ``agency`` would be refused, or None: the code
    must be in the seeded register or the running API's; the system's own is the
    administrator's alone."""
    if agency == SYSTEM_AGENCY:
        if role == "administrator":
            return None
        return f"--agency {agency!r} is reserved for the administrator"
    if not CODE.fullmatch(agency):
        return (
            f"--agency {agency!r}: not an agency code (lower case letters, digits and _, "
            "at most 64 characters)"
        )
    if agency in SEEDED_CODES:
        return None
    running = running_register(api, key, issuer)
    if running is not None and agency in running:
        return None
    if running is None:
        where = f"the seeded register (no API answered at {api})"
    else:
        where = f"the register of the API at {api}"
    known = running if running is not None else SEEDED_CODES
    return f"--agency {not_registered(agency, known)} in {where}"
