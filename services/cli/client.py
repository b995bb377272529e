"""The one way ``chb`` talks to a running API: which API (the root ``--api`` option or
``CHB_API``, else the one the running ``chb up`` of the data directory wrote down, else
``http://127.0.0.1:8080``), which token, and what a refusal prints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from services.cli.output import err, fail

# Files `chb up` keeps in its data directory while it runs (the token stays after it stops).
API_URL_FILE = "api.url"
NATS_URL_FILE = "nats.url"
ADMIN_TOKEN_FILE = "admin.token"
DEFAULT_API = "http://127.0.0.1:8080"
TIMEOUT_SECONDS = 10.0


def data_dir() -> Path:
    """The data directory of the local `chb up` (``CHB_DATA_DIR``, default ``data``)."""
    from services.runtime.settings import Settings

    return Settings().data_dir


# The root ``--api`` (or ``CHB_API``) of the command being run, and where it came from: set by
# the root command before any other runs.
_given: dict[str, str] = {}


def choose_api(url: str | None, source: str) -> None:
    _given.clear()
    if url:
        _given.update(url=url, source=source)


def api_target() -> tuple[str, str]:
    """The API's base URL and how it was found (for the error when nothing answers there)."""
    if _given:
        return _given["url"].rstrip("/"), _given["source"]
    written = data_dir() / API_URL_FILE
    if written.exists():
        url = written.read_text(encoding="utf-8").strip()
        if url:
            return url.rstrip("/"), f"written by `chb up` in {written}"
    return DEFAULT_API, f"the default: no --api, no CHB_API, no {written}"


def api_url() -> str:
    return api_target()[0]


def bearer_token() -> str:
    """``CHB_TOKEN``, else the administrator token the local `chb up` keeps in its data
    directory (``CHB_DATA_DIR``, default ``data``)."""
    token = os.environ.get("CHB_TOKEN", "").strip()
    if token:
        return token
    kept = data_dir() / ADMIN_TOKEN_FILE
    if kept.exists():
        return kept.read_text(encoding="utf-8").strip()
    fail(f"no token: set CHB_TOKEN (see `chb token issue`) or run `chb up` here ({kept} absent)", 2)


def unreachable(url: str, how: str, error: httpx.HTTPError) -> str:
    reason = str(error) or type(error).__name__
    return (
        f"no API answers at {url} ({how}): {reason}. Start one with `chb up` (or `make run`), "
        "or point chb at a running one with `chb --api URL …` or CHB_API=URL"
    )


def call(
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """``method path`` on the API, as the caller's token; the JSON answer, or a refusal
    printed as one line (a body with several problems lists each first) and exit 1."""
    base, how = api_target()
    url = f"{base}{path}"
    headers = dict(headers or {})
    if "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {bearer_token()}"
    try:
        response = httpx.request(
            method, url, json=body, params=params, headers=headers, timeout=TIMEOUT_SECONDS
        )
    except httpx.HTTPError as error:
        fail(unreachable(base, how, error))
    if response.status_code >= 400:
        fail(refusal(response))
    return response.json()


def refusal(response: httpx.Response) -> str:
    """The line for a refused request: its status and the problem document's ``detail``.
    When the problem lists several errors, each is printed first, one a line."""
    try:
        problem = response.json()
    except ValueError:
        return f"{response.status_code}: {response.text.strip() or response.reason_phrase}"
    if not isinstance(problem, dict):
        return f"{response.status_code}: {problem}"
    detail = problem.get("detail") or problem.get("title") or response.reason_phrase
    errors = problem.get("errors") or []
    if len(errors) > 1:
        for e in errors:
            line = f"{e['field']}: {e['reason']}" if isinstance(e, dict) else str(e)
            err.print(line, highlight=False, markup=False, soft_wrap=True)
        return f"{response.status_code}: {len(errors)} problems (listed above)"
    return f"{response.status_code}: {detail}"
