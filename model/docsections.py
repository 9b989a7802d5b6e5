"""Generated sections of the documentation, kept in step with the code.

Each section lies between two marker comments in a Markdown file and is
rendered from a declaration in the code: the phase × sub-state table
(docs/ARCHITECTURE.md) from the phases, the metric table (docs/ODD.md §7.21)
from the metric registry, the parameter table (ODD §8.1) from the scenario
schema.  ``python -m model.docsections`` (``make docs``) rewrites them;
``--check`` exits 1 naming any that drifted (the tests run the check).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Section", "SECTIONS", "read_section", "write_section", "splice", "stale"]

DOCS = Path(__file__).resolve().parents[1] / "docs"


@dataclass(frozen=True)
class Section:
    """A generated block of a document: its file, its marker name and how it is rendered."""

    file: str
    name: str
    render: Callable[[], str]

    @property
    def begin(self) -> str:
        return f"<!-- BEGIN generated: {self.name} -->"

    @property
    def end(self) -> str:
        return f"<!-- END generated: {self.name} -->"


def _phase_table() -> str:
    from .phases.table import render
    return render()


def _metric_table() -> str:
    from .metrics import odd_table
    return odd_table()


def _parameter_table() -> str:
    from .scenario.docs import parameter_markdown
    return parameter_markdown()


SECTIONS: tuple[Section, ...] = (
    Section("ARCHITECTURE.md", "phase table", _phase_table),
    Section("ODD.md", "metric table", _metric_table),
    Section("ODD.md", "parameters", _parameter_table),
)


class MissingMarkers(ValueError):
    """A document lacks the BEGIN/END comments of a generated section."""


def _bounds(text: str, sec: Section) -> tuple[int, int]:
    if sec.begin not in text or sec.end not in text:
        raise MissingMarkers(f"{sec.file}: the markers of the generated section '{sec.name}' are missing "
                             f"(expected {sec.begin} … {sec.end})")
    return text.index(sec.begin) + len(sec.begin), text.index(sec.end)


def read_section(sec: Section, docs: Path = DOCS) -> str:
    """The text now between the section's markers."""
    text = (docs / sec.file).read_text(encoding="utf-8")
    a, b = _bounds(text, sec)
    return text[a:b].strip()


def splice(text: str, sec: Section, body: str) -> str:
    """``text`` with the section's body replaced by ``body``."""
    a, b = _bounds(text, sec)
    return text[:a] + "\n" + body.strip() + "\n" + text[b:]


def write_section(sec: Section, docs: Path = DOCS) -> None:
    """Replace the text between the section's markers by a fresh rendering."""
    path = docs / sec.file
    path.write_text(splice(path.read_text(encoding="utf-8"), sec, sec.render()), encoding="utf-8")


def stale(docs: Path = DOCS) -> list[str]:
    """Names of the sections whose text differs from a fresh rendering."""
    return [f"{s.file}: {s.name}" for s in SECTIONS if read_section(s, docs) != s.render().strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a generated section is out of date")
    ap.add_argument("--docs", type=Path, default=DOCS, help="the docs folder (default: the repository's)")
    a = ap.parse_args(argv)
    try:
        if a.check:
            bad = stale(a.docs)
            for b in bad:
                print(f"out of date: {b} (run make docs)", file=sys.stderr)
            return 1 if bad else 0
        for sec in SECTIONS:
            write_section(sec, a.docs)
    except (MissingMarkers, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
