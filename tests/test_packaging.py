"""The package as CI users get it: a wheel built from the checkout, installed into a fresh virtual environment,
run from an empty directory against the bundled reference gateway (the way the CI recipes use it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

INSTALL_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
    (built,) = out.glob("claude_gateway_conformance-*.whl")
    return built


def test_wheel_holds_every_module_schema_and_fixture(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "conformance").rglob("*.py") if "__pycache__" not in p.parts}
    data = {f"conformance/{p.relative_to(REPO).as_posix()}" for folder in ("schemas", "fixtures")
            for p in (REPO / folder).rglob("*") if p.is_file()}
    assert modules - names == set() and data - names == set()
    assert "conformance/requirements.toml" in names


def test_installed_wheel_runs_the_suite_from_an_empty_directory(wheel, tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
    workdir = tmp_path / "empty"
    workdir.mkdir()
    env = {"PATH": f"{environment / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    selection = ["-m", "not streaming and not e2e", "-q"]
    script = subprocess.run([str(environment / "bin" / "claude-gateway-conformance"), *selection], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=300)
    assert script.returncode == 0, script.stdout[-3000:] + script.stderr[-3000:]
    document = json.loads((workdir / "reports" / "conformance.json").read_text())
    assert document["verdict"] == "incomplete" and document["counts"].get("failed", 0) == 0 and document["counts"]["passed"] > 30
    pyargs = subprocess.run([str(python), "-m", "pytest", "--pyargs", "conformance.suite", "--report-dir", "pyargs-reports",
                             *selection], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert pyargs.returncode == 0, pyargs.stdout[-3000:] + pyargs.stderr[-3000:]
    assert json.loads((workdir / "pyargs-reports" / "conformance.json").read_text())["counts"].get("failed", 0) == 0
    # The installed copy ran, not the checkout.
    where = subprocess.run([str(python), "-c", "import conformance; print(conformance.__file__)"], cwd=workdir, env=env,
                           capture_output=True, text=True, check=True)
    assert str(environment) in where.stdout and os.fspath(REPO) not in where.stdout
