"""The README's walk-through as steps: each command of its ``sh`` blocks (continuation lines
and quoted bodies joined) with the ``#>`` lines after it: what it prints, in order (lines
between them may be left out). ``…`` stands for anything, an id written ``5fcf55ff-…`` for
any id, ``(exit N)`` for the exit code, and runs of spaces for any spacing (tables). A block
after ``<!-- not run … -->`` is skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SKIP_MARK = "<!-- not run"
EXIT = re.compile(r"\(exit (\d+)\)")
ANY_ID = re.compile(r"[0-9a-f]{8}-…")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


@dataclass
class Step:
    line: int  # where the command starts in the README
    command: str
    printed: list[str] = field(default_factory=list)  # its `#>` lines

    @property
    def exit_code(self) -> int:
        codes = [int(m.group(1)) for line in self.printed if (m := EXIT.fullmatch(line))]
        return codes[0] if codes else 0

    @property
    def assigns(self) -> str | None:
        """The variable the command sets (``OP=$(…)``), if that is all it does."""
        found = ASSIGNMENT.fullmatch(self.command)
        return found.group(1) if found else None

    def pattern(self) -> re.Pattern[str]:
        lines = [line for line in self.printed if not EXIT.fullmatch(line)]
        # Each line in order, with anything between (a #> line may leave lines out).
        return re.compile(".*?".join(map(line_pattern, lines)), re.DOTALL)


def line_pattern(line: str) -> str:
    regex = ""
    for part in re.split(r"([0-9a-f]{8}-…|…|\s+)", line):
        if not part:
            continue
        if ANY_ID.fullmatch(part):
            regex += UUID
        elif part == "…":
            regex += ".*?"
        elif part.isspace():
            regex += r"\s*"
        else:
            regex += re.escape(part)
    return regex


def unfinished(command: str) -> bool:
    """Whether a shell command continues on the next line: a trailing backslash, or a quote
    left open (outside comments)."""
    quote: str | None = None
    previous = " "
    for char in command:
        if quote is None and char == "#" and previous.isspace():
            break
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        previous = char
    return quote is not None or command.rstrip().endswith("\\")


def walk_through(markdown: str) -> list[Step]:
    steps: list[Step] = []
    lines = markdown.splitlines()
    in_block = skipping = marked = False
    number = 0
    while number < len(lines):
        line = lines[number]
        stripped = line.strip()
        number += 1
        if not in_block:
            if stripped.startswith(SKIP_MARK):
                marked = True
            elif stripped == "```sh":
                in_block, skipping, marked = True, marked, False
            elif stripped:
                marked = False
            continue
        if stripped == "```":
            in_block = False
        elif skipping:
            continue
        elif stripped.startswith("#>"):
            steps[-1].printed.append(stripped[2:].strip())
        elif stripped and not stripped.startswith("#"):
            step = Step(number, line)
            while unfinished(step.command) and number < len(lines):
                step.command += "\n" + lines[number]
                number += 1
            steps.append(step)
    return steps
