"""The README stays true: its option table is the list `pytest --help` shows, and CI runs its commands."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def documented_options() -> set[str]:
    section = README.split("## Options", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(--[a-z-]+)", section, re.M))


def test_option_table_matches_the_plugin_options(pytestconfig):
    group = next(g for g in pytestconfig._parser._groups if g.name == "claude-gateway-conformance")
    assert documented_options() == {name for option in group.options for name in option.names()}


def test_ci_runs_the_two_quick_start_commands():
    commands = re.findall(r"```\n(.*?)\n```", README.split("## Quick start", 1)[1].split("\n## ", 1)[0])
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text()
    assert all(command in ci.splitlines() for command in commands)
