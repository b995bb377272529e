"""Who may see which of build's items in the views, and the answer a hidden one gets.

These are build's own rules (``services/build/access.py``), which its aggregates apply to the
same items: taken from there, not written again, so the front door and build decide alike.
The front door reaches them here, never in build itself."""

from __future__ import annotations

from services.build.access import (
    import_relation,
    import_visible,
    milestone_relation,
    milestone_visible,
    no_import,
    no_milestone,
    no_plan,
    no_programme,
    outside_scope,
    place_visible,
    programme_relation,
)

__all__ = [
    "import_relation",
    "import_visible",
    "milestone_relation",
    "milestone_visible",
    "no_import",
    "no_milestone",
    "no_plan",
    "no_programme",
    "outside_scope",
    "place_visible",
    "programme_relation",
]
