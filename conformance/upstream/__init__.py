"""The recording upstream: scripted Anthropic-format answers and the record of what the gateway sent."""

from conformance.upstream.recorder import ReceivedRequest, RecordingUpstream, Scenario, endpoint_kind
from conformance.upstream.script import Close, Event, Raw, Respond, Script, Sleep, json_script, sse_script

__all__ = [
    "Close", "Event", "Raw", "Respond", "Script", "Sleep", "json_script", "sse_script",
    "ReceivedRequest", "RecordingUpstream", "Scenario", "endpoint_kind",
]
