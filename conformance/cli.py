"""Console script.

`claude-gateway-conformance [pytest args]` runs the installed suite from anywhere: it is
`pytest --pyargs conformance.suite [pytest args]`.
`claude-gateway-conformance diff OLD.json NEW.json` lists requirements whose status changed between two runs.
"""

from __future__ import annotations

import sys

import pytest

from conformance.report.diff import EXIT_BAD_INPUT, main as diff


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["diff"]:
        if len(args) != 3:
            print("usage: claude-gateway-conformance diff OLD.json NEW.json", file=sys.stderr)
            return EXIT_BAD_INPUT
        return diff(args[1], args[2])
    # This module is imported before pytest starts, so pytest cannot assert-rewrite the package: say so once, quietly.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning", "-o", "asyncio_default_fixture_loop_scope=function"]
    return int(pytest.main(["--pyargs", "conformance.suite", "-p", "no:cacheprovider", *quiet, *args]))


if __name__ == "__main__":
    sys.exit(main())
