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


GATEWAY_RECIPES = sorted((EXAMPLES / "gateways").glob("*/run.sh"))


@pytest.mark.parametrize("script", GATEWAY_RECIPES, ids=lambda p: p.parent.name)
def test_gateway_recipe_is_valid_bash_using_documented_options(script):
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    suite_call = text.split("run_suite ", 1)[1]
    options = set(re.findall(r"(--[a-z-]+)", suite_call))
    assert options <= documented_options()
    assert re.search(r"^VERSION=\S+", text, re.M), "each recipe pins the gateway version"


def test_gateway_configs_parse():
    import json

    configs = list((EXAMPLES / "gateways").glob("*/*.json")) + list((EXAMPLES / "gateways").glob("*/*.yaml"))
    assert configs
    for config in configs:
        loaded = json.loads(config.read_text()) if config.suffix == ".json" else yaml.safe_load(config.read_text())
        assert isinstance(loaded, dict), config
