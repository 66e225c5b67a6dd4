"""The CI recipes under examples/ parse and use only the suite's documented options."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from tests.test_readme import documented_options

EXAMPLES = REPO / "examples"


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_yaml_parses(name):
    assert isinstance(yaml.safe_load((EXAMPLES / name).read_text()), dict)


def test_shell_recipe_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(EXAMPLES / "ci.sh")]).returncode == 0


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml", "ci.sh"])
def test_recipes_use_only_documented_options(name):
    used = set(re.findall(r"claude-gateway-conformance[^\n]*", (EXAMPLES / name).read_text()))
    options = {o for line in used for o in re.findall(r"(--[a-z-]+)", line)}
    assert options and options <= documented_options()
