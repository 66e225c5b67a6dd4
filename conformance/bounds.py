"""The stated bound on a whole run's wall time (README "Performance"), whatever the gateway does.

Every read waits at most --timeout and every whole answer twice that; once hanging answers of one endpoint have
cost twice --timeout, the rest of that endpoint's requests are not sent (client.StallGuard), which, over the four
endpoints the suite calls, is the 8; after one stream that does not end, later streams wait only a short grace
(streaming.stream_through); the real CLI is stopped when it and its scenario stay silent. The measured figures
are in README "Performance" (scripts/benchmark.py)."""

from __future__ import annotations

from conformance.streaming import SILENCE_READ_MARGIN_S

BOUND_TIMEOUTS = 8  # how many --timeout a run may spend on a hostile gateway, at most
BOUND_FIXED_S = 60.0  # plus this: start-up, the tests that still run, the CLI's own start, reports
# The upstream silence a translating run watches for SSE-14 (spec: "a shorter one with >= 60 s of upstream silence").
TRANSLATING_SILENCE_S = 61.0


def run_bound_s(timeout_s: float, silence_s: float = 0.0) -> float:
    """The most a run may take against any gateway, with this --timeout. silence_s: the scripted upstream silence a
    translating run watches (SSE-14); its exchange may take the silence plus max(SILENCE_READ_MARGIN_S, --timeout),
    and the heavy tests wait for it (conformance.overlap.Overlap.quiet)."""
    silence = silence_s + max(SILENCE_READ_MARGIN_S, timeout_s) if silence_s else 0.0
    return BOUND_TIMEOUTS * timeout_s + BOUND_FIXED_S + silence
