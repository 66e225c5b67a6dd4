"""Where the data files live: the checkout's top-level folders, or the installed package."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the `schemas` or `fixtures` folder, in a checkout or in an installed wheel."""
    # The package's own copy first: in site-packages, a folder of that name beside the package may be another's.
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"conformance data folder {name!r} not found next to {_PACKAGE}")


@cache
def schema(name: str) -> dict[str, Any]:
    """Load a JSON Schema from schemas/ by file stem, e.g. schema("message")."""
    return json.loads((data_dir("schemas") / f"{name}.schema.json").read_text(encoding="utf-8"))


@cache
def fixture(relative: str) -> Any:
    """Load a JSON fixture from fixtures/."""
    return json.loads((data_dir("fixtures") / relative).read_text(encoding="utf-8"))
