"""claude-gateway-conformance: checks an LLM gateway against the Claude Code gateway protocol."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("claude-gateway-conformance")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0+checkout"

# The Claude Code release the fixtures were captured from (shared/claude-code-capture).
CLAUDE_CODE_FIXTURE_VERSION = "2.1.331"

__all__ = ["__version__", "CLAUDE_CODE_FIXTURE_VERSION"]
