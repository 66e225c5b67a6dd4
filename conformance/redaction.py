"""Credential redaction: one place that knows which values must never be stored or printed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Redactor:
    """Replaces each secret value with a named placeholder, e.g. <GATEWAY_TOKEN>."""

    secrets: dict[str, str] = field(default_factory=dict)  # value -> placeholder name

    def add(self, value: str, name: str) -> None:
        if value:
            self.secrets[value] = name

    def redact(self, text: str) -> str:
        # Longest first, so a secret that contains another is replaced whole.
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, f"<{self.secrets[value]}>")
        return text
