"""The secondary indexes a views' store has (SQLite or PostgreSQL), and the ones it must have."""

from __future__ import annotations

from typing import Any

from services.views.store import ViewRecorder

# Written out here, not read from the code: the indexes the users' questions are answered by.
EVERY_INDEX = {
    "view_rows_seq",
    "view_rows_agency",
    "view_rows_place",
    "view_rows_operation",
    "view_rows_case",
    "view_rows_overdue_seq",
    "view_rows_open_due",
    "view_rows_board",
    "view_rows_agency_due",
    "view_rows_worker",
}


def indexes(recorder: ViewRecorder) -> set[str]:
    """The named secondary indexes of the rows table (not its primary key's)."""
    if getattr(recorder.datastore, "schema", None) is None:
        rows: Any = recorder.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'view_rows'"
            " AND sql IS NOT NULL"
        )
    else:
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s"
                " AND tablename = 'view_rows' AND indexname NOT LIKE '%%pkey'",
                (recorder.datastore.schema,),
            )
            rows = [tuple(r.values()) for r in c.fetchall()]
    return {name for (name,) in rows}
