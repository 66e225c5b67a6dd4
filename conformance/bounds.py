"""The stated bound on a whole run's wall time (README "Performance"), whatever the gateway does.

Every read waits at most --timeout and every whole answer twice that; after a few hanging answers of one kind
the rest of that kind are not sent (client.StallGuard); after one stream that does not end, later streams wait
only a short grace (streaming.stream_through); the real CLI is stopped when it and its scenario stay silent.
Measured worst cases (scripts/benchmark.py): a gateway that trickles JSON a byte at a time, about 6 x --timeout
plus 20 s; one that answers headers and then nothing, about 5 x --timeout plus 10 s."""

from __future__ import annotations

BOUND_TIMEOUTS = 6  # how many --timeout a run may spend on a hostile gateway, at most
BOUND_FIXED_S = 60.0  # plus this: start-up, the tests that still run, the CLI's own start, reports


def run_bound_s(timeout_s: float) -> float:
    """The most a run may take against any gateway, with this --timeout."""
    return BOUND_TIMEOUTS * timeout_s + BOUND_FIXED_S
