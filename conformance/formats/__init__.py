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


def translated(name: str) -> UpstreamFormat | None:
    """The format the recording upstream renders its answers in; None for the Anthropic relay."""
    return TRANSLATED.get(name)


__all__ = ["ANTHROPIC", "DIALECT", "FORMAT_NAMES", "OTHER", "RELAY", "TRANSLATED", "Call", "UpstreamFormat", "family", "translated"]
