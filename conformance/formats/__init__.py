"""Upstream formats a gateway may translate Claude Code's Anthropic requests to (--upstream-format; spec L2)."""

from __future__ import annotations

from conformance.formats.base import DIALECT, OTHER, RELAY, Call, UpstreamFormat
from conformance.formats.converse import BedrockConverse
from conformance.formats.dialects import BedrockInvoke, Vertex
from conformance.formats.gemini import Gemini
from conformance.formats.openai import OpenAIChat
from conformance.formats.responses import OpenAIResponses

ANTHROPIC = "anthropic"
# Every format the option takes; "anthropic" is the relay the recording upstream has always played.
TRANSLATED: dict[str, UpstreamFormat] = {f.name: f for f in (BedrockInvoke(), BedrockConverse(), Gemini(), OpenAIChat(), OpenAIResponses(), Vertex())}
FORMAT_NAMES = (ANTHROPIC, *TRANSLATED)


def family(name: str) -> str:
    return RELAY if name == ANTHROPIC else TRANSLATED[name].family


def format_of_request(method: str, raw_path: str, body) -> str | None:
    """The format whose Messages endpoint a request to the recording upstream is (None: none the suite plays)."""
    from conformance.upstream.recorder import endpoint_kind  # the relay's paths

    if method == "POST" and endpoint_kind(raw_path.split("?", 1)[0]) == "messages":
        return ANTHROPIC
    return next((name for name, f in TRANSLATED.items() if f.classify(method, raw_path, body).kind == "messages"), None)


def translated(name: str) -> UpstreamFormat | None:
    """The format the recording upstream renders its answers in; None for the Anthropic relay."""
    return TRANSLATED.get(name)


__all__ = ["ANTHROPIC", "DIALECT", "FORMAT_NAMES", "OTHER", "RELAY", "TRANSLATED", "Call", "UpstreamFormat", "family", "translated"]
