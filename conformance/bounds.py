"""The stated bound on a whole run's wall time (README "Performance"), whatever the gateway does.

Every read waits at most --timeout and every whole answer twice that; once hanging answers of one endpoint have
cost twice --timeout, the rest of that endpoint's requests are not sent (client.StallGuard), which, over the four
endpoints the suite calls, is the 8; after one stream that does not end, later streams wait only a short grace
(streaming.stream_through); the real CLI is stopped when it and its scenario stay silent. The measured figures
are in README "Performance" (scripts/benchmark.py)."""

from __future__ import annotations

BOUND_TIMEOUTS = 8  # how many --timeout a run may spend on a hostile gateway, at most
BOUND_FIXED_S = 60.0  # plus this: start-up, the tests that still run, the CLI's own start, reports


def run_bound_s(timeout_s: float) -> float:
    """The most a run may take against any gateway, with this --timeout."""
    return BOUND_TIMEOUTS * timeout_s + BOUND_FIXED_S
