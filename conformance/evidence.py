"""Evidence sources a test's report row is built from: each has transcript() -> str (already redacted)."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.redaction import Redactor
from conformance.upstream import RecordingUpstream, Scenario, Script

PREVIEW = 2000


@dataclass
class Notes:
    """Text a test attaches: comparisons, figures, diffs."""

    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, title: str, text: str) -> None:
        self.entries.append((title, text))

    def transcript(self) -> str:
        return "\n\n".join(f"### {title}\n{text}" for title, text in self.entries)


class TestUpstream:
    """The recording upstream as one test sees it: the scenarios it scripted, and what arrived for them."""

    __test__ = False  # not a pytest test class

    def __init__(self, recorder: RecordingUpstream, redactor: Redactor) -> None:
        self.recorder = recorder
        self.redactor = redactor
        self.scenarios: list[Scenario] = []

    def scenario(self, script: Script | None = None, *later: Script, by_turn: bool = False) -> Scenario:
        scenario = self.recorder.scenario(script, *later, by_turn=by_turn)
        self.scenarios.append(scenario)
        return scenario

    def transcript(self) -> str:
        blocks = []
        for scenario in self.scenarios:
            for received in scenario.requests:
                lines = [f"### received by the recording upstream ({scenario.marker})", f"> {received.method} {received.raw_path}"]
                lines += [f"> {k}: {v}" for k, v in received.headers]
                body = received.body[:PREVIEW].decode("utf-8", errors="replace")
                lines.append(f"> ({len(received.body)} bytes) {body}{'…' if len(received.body) > PREVIEW else ''}")
                blocks.append("\n".join(lines))
        return self.redactor.redact("\n\n".join(blocks))
