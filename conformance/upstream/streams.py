"""Scripted upstream streams and messages from fixtures/ (data, not code)."""

from __future__ import annotations

from typing import Any

from conformance.resources import fixture
from conformance.upstream.script import Close, Event, Raw, Script, Sleep, Step, json_script, sse_script


def stream_steps(name: str) -> list[Step]:
    """fixtures/streams/NAME.json as script steps. Step forms: {"event": data} (the SSE event name is
    data["type"]), {"comment": text}, {"raw": text}, {"sleep": seconds}, {"close": true}."""
    steps: list[Step] = []
    for step in fixture(f"streams/{name}.json")["steps"]:
        if "event" in step:
            steps.append(Event(step["event"]["type"], step["event"]))
        elif "comment" in step:
            steps.append(Raw(f": {step['comment']}\n\n".encode()))
        elif "raw" in step:
            steps.append(Raw(step["raw"].encode()))
        elif "sleep" in step:
            steps.append(Sleep(step["sleep"]))
        elif step.get("close"):
            steps.append(Close())
        else:
            raise ValueError(f"streams/{name}.json: unknown step {step!r}")
    return steps


def stream_script(name: str) -> Script:
    return sse_script(stream_steps(name))


def upstream_events(name: str) -> list[dict[str, Any]]:
    """The event data the upstream sends for a stream fixture, in order."""
    return [step.data for step in stream_steps(name) if isinstance(step, Event)]


def fixture_message(name: str) -> dict[str, Any]:
    return fixture(f"messages/{name}.json")["message"]


def message_script(name: str) -> Script:
    return json_script(fixture_message(name))
