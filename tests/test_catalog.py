"""The requirement catalogue: well-formed, in step with the protocol contract, and used by the suite."""

from __future__ import annotations

import ast
import re

import pytest

from conformance.catalog import SUITE_DIR, Catalog, Requirement, UnknownRequirement, catalog, suite_requirement_ids
from tests.conftest import REPO

SPEC = REPO.parent / "shared" / "spec" / "protocol-contract.md"
SECTIONS_A_TO_J = ("PATH", "AUTH", "SSE", "MSG", "HDR", "BODY", "DISC", "TOK", "ERR", "ATTR")
SECTIONS_L_L2 = ("PROV", "TRN")
# Gateways that Claude Code reaches in Bedrock or Vertex format (CLAUDE_CODE_USE_BEDROCK / _VERTEX) rather than
# through ANTHROPIC_BASE_URL: outside this suite, which tests what Claude Code sends to ANTHROPIC_BASE_URL.
CLIENT_IN_PROVIDER_FORMAT = ("PROV-1", "PROV-2")


def spec_levels() -> dict[str, str]:
    """Requirement ID -> level, read from the spec's headings and its feature table."""
    text = SPEC.read_text(encoding="utf-8")
    levels = {m[0]: m[1] for m in re.findall(r"^\*\*([A-Z]+-\d+) · ((?:MUST|SHOULD|MAY|informative)[^·]*?) ·", text, re.M)}
    levels |= {m[0]: m[1] for m in re.findall(r"^\| ([A-Z]+-\d+) \((MUST|SHOULD|MAY)\) \|", text, re.M)}
    return {rid: level for rid, level in levels.items()
            if rid.split("-")[0] in SECTIONS_A_TO_J + SECTIONS_L_L2 and rid not in CLIENT_IN_PROVIDER_FORMAT}


@pytest.mark.skipif(not SPEC.exists(), reason=f"the protocol contract is not beside the checkout ({SPEC})")
def test_catalogue_holds_every_must_and_should_of_sections_a_to_j_l_and_l2_at_the_spec_level():
    expected = {rid: level.split()[0] for rid, level in spec_levels().items() if level.startswith(("MUST", "SHOULD"))}
    assert {r.id: r.level for r in catalog() if r.area != "e2e"} == expected


def test_ids_are_unique_and_fields_complete():
    for r in catalog():
        # The end-to-end area is the suite's own: its source is the capture of the real CLI, not a URL.
        source_ok = r.source.startswith("shared/claude-code-capture/") if r.area == "e2e" else r.source.startswith("http")
        assert r.title and r.first_fix and source_ok, r.id


def test_duplicate_ids_are_refused():
    r = catalog()["PATH-1"]
    with pytest.raises(ValueError, match="duplicate"):
        Catalog((r, r))


def test_unknown_id_lookup_raises():
    with pytest.raises(UnknownRequirement):
        catalog()["NOPE-1"]


def test_bad_level_is_refused():
    with pytest.raises(ValueError):
        Catalog((Requirement("X-1", "MAYBE", "paths", "t", "http://s", "f", "breaks"),))


def test_every_requirement_named_by_the_suite_is_in_the_catalogue():
    ids = suite_requirement_ids()
    assert ids and ids <= {r.id for r in catalog()}


def test_source_scan_finds_exactly_the_req_markers_of_the_suite_modules():
    # The scan is a pattern for speed; the modules' syntax trees are the truth.
    named = set()
    for module in SUITE_DIR.glob("test_*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "req":
                named |= {arg.value for arg in node.args if isinstance(arg, ast.Constant)}
    assert named and suite_requirement_ids() == named


def test_source_scan_finds_every_requirement_the_collected_suite_tests(reference_run):
    # The scan decides "not run" versus "not covered"; it must see every ID that collected tests declare.
    declared_by_tests = {r["id"] for r in reference_run.document["requirements"] if r["tests"]}
    assert declared_by_tests and declared_by_tests <= suite_requirement_ids()
