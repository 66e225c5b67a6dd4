"""The requirement catalogue: requirements.toml loaded into frozen records."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEVELS = ("MUST", "SHOULD")
SEVERITIES = ("breaks", "degrades-visibly", "degrades-silently", "no-visible-effect")
AREAS = ("paths", "auth", "streaming", "messages", "forwarding", "discovery", "token_counting", "errors", "usage", "translation", "e2e")

_CATALOG_FILE = Path(__file__).with_name("requirements.toml")


def impact_order(level: str, severity: str, requirement_id: str) -> tuple[bool, int, str]:
    """Sort key for failures: MUST first, then by how hard they hit Claude Code users."""
    return level != "MUST", SEVERITIES.index(severity or "no-visible-effect"), requirement_id


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    area: str
    title: str
    source: str
    first_fix: str
    severity: str
    impact: str = ""
    applies_when: str = ""
    condition: str = "declared"  # declared: the run says whether it applies; upstream-format: --upstream-format does; probed: the tests find out
    # Requirements whose failure explains a failure of this one (it is then listed as their consequence).
    explained_by: tuple[str, ...] = ()

    @property
    def needs_declaration(self) -> bool:
        """A conditional requirement that stays not_applicable unless the run declares its condition."""
        return bool(self.applies_when) and self.condition == "declared"


class UnknownRequirement(KeyError):
    """A test names a requirement ID that is not in the catalogue."""


@dataclass(frozen=True)
class Catalog:
    requirements: tuple[Requirement, ...]

    def __post_init__(self) -> None:
        ids = [r.id for r in self.requirements]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate requirement IDs in catalogue: {sorted(duplicates)}")
        for r in self.requirements:
            unknown = [i for i in r.explained_by if i not in ids]
            if unknown or r.id in r.explained_by:
                raise ValueError(f"{r.id}: explained_by names {unknown or [r.id]}, not other requirements of the catalogue")
            if r.level not in LEVELS or r.severity not in SEVERITIES or r.area not in AREAS:
                raise ValueError(f"{r.id}: bad level, severity or area ({r.level}, {r.severity}, {r.area})")

    def __getitem__(self, requirement_id: str) -> Requirement:
        for r in self.requirements:
            if r.id == requirement_id:
                return r
        raise UnknownRequirement(requirement_id)

    def __contains__(self, requirement_id: object) -> bool:
        return any(r.id == requirement_id for r in self.requirements)

    def __iter__(self):
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)


def load_catalog(path: Path = _CATALOG_FILE) -> Catalog:
    with path.open("rb") as f:
        data = tomllib.load(f)
    return Catalog(tuple(Requirement(**{**entry, "explained_by": tuple(entry.get("explained_by", ()))})
                         for entry in data["requirement"]))


@cache
def catalog() -> Catalog:
    """The packaged catalogue, loaded once."""
    return load_catalog()


SUITE_DIR = Path(__file__).with_name("suite")


@cache
def suite_requirement_ids(suite_dir: Path = SUITE_DIR) -> frozenset[str]:
    """Every requirement ID named by a req marker in the suite's modules, read from their source: what the
    suite covers, whichever of its tests a run selects (a run of one module reports the rest as not run)."""
    # A pattern, not a parse: every run starts with this scan, and walking the modules' syntax trees cost a quarter
    # of a short run's CPU. tests/test_catalog.py proves it finds what the collected suite's markers name.
    return frozenset(requirement for module in suite_dir.glob("test_*.py")
                     for arguments in REQ_MARKER.findall(module.read_text(encoding="utf-8"))
                     for requirement in REQUIREMENT_ARGUMENT.findall(arguments))


REQ_MARKER = re.compile(r"\.req\(([^)]*)\)")
REQUIREMENT_ARGUMENT = re.compile(r"[\"']([A-Z0-9]+-[0-9]+)[\"']")
