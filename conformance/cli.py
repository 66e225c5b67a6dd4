"""Console script: `claude-gateway-conformance [pytest args]` runs the installed suite from anywhere.

`claude-gateway-conformance --gateway-url URL` is `pytest --pyargs conformance.suite --gateway-url URL`.
"""

from __future__ import annotations

import sys

import pytest


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # This module is imported before pytest starts, so pytest cannot assert-rewrite the package: say so once, quietly.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning", "-o", "asyncio_default_fixture_loop_scope=function"]
    return int(pytest.main(["--pyargs", "conformance.suite", "-p", "no:cacheprovider", *quiet, *args]))


if __name__ == "__main__":
    sys.exit(main())
