"""How tests/system/test_readme.py reads the README: commands joined across lines, `#>` lines
as what a command prints, `…` and ids as wildcards, and blocks marked not to be run."""

from __future__ import annotations

import pytest

from tests.support.readme import walk_through

pytestmark = pytest.mark.domain

MARKDOWN = """
Some prose.

```sh
OP=$(chb operation plan --name "Operation Pakari" \\
  --place Mataura)
curl -s -X POST $API/x -d '{
  "a": 1}'                        # the leadership group's body
#> {"operation_id":"5fcf55ff-…","status":"launched"}
# a comment, not output
chb operation conclude $OP
#> error: 409: operation 5fcf55ff-… was concluded at …
#> (exit 1)
```

<!-- not run by tests/system/test_readme.py: production -->
```sh
chb serve clear
```

```
not a shell block
```
"""


def test_commands_their_output_and_exit_codes_are_read_from_sh_blocks() -> None:
    plan, post, conclude = walk_through(MARKDOWN)
    assert plan.assigns == "OP" and plan.command.endswith("--place Mataura)")
    assert post.command.endswith("# the leadership group's body") and post.printed
    assert (post.exit_code, conclude.exit_code) == (0, 1)
    uuid = "0380dc8d-9b71-5e0d-beb7-495d125bfdfe"
    assert post.pattern().search(f'x {{"operation_id":"{uuid}","status":"launched"}}')
    assert not post.pattern().search('{"operation_id":"5fcf55ff-…","status":"planned"}')
    printed = f"error: 409: operation {uuid} was concluded at 2026-03-01\n"
    assert conclude.pattern().search(printed)
    assert not conclude.pattern().search("error: 409: operation 5fcf55ff was concluded at")
