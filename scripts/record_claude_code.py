"""Re-record Claude Code's requests with the real CLI and re-export the replay fixtures.

Installs the pinned CLI from npm (or uses --claude-cli), runs it in print mode against a stdlib
recording server on 127.0.0.1 that keeps header names in the case and order they arrived, writes the
recordings in the format of shared/claude-code-capture (tokens replaced by placeholders, body strings
over 200 characters replaced by "<redacted N chars>"), then runs export_capture_fixtures.py over them.
Scenarios that need a terminal (interactive mode, /context's count_tokens) are taken from the shared
captures.

    python scripts/record_claude_code.py [--claude-cli PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_capture_fixtures  # noqa: E402

CLAUDE_CODE_VERSION = "2.1.331"
NPM_PACKAGE = f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"
FAKE_TOKENS = {"tok-bearer-123": "<ANTHROPIC_AUTH_TOKEN>", "tok-xapi-456": "<ANTHROPIC_API_KEY>"}
MAX_STRING = 200
RUN_TIMEOUT_S = 90
# name -> (extra environment, CLI arguments); print mode only: these need no terminal.
SCENARIOS = {
    "a-auth-token": ({"ANTHROPIC_AUTH_TOKEN": "tok-bearer-123"}, ["-p", "say ok", "--model", "claude-sonnet-4-6"]),
    "d1-discovery": ({"ANTHROPIC_AUTH_TOKEN": "tok-bearer-123", "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"},
                     ["-p", "say ok", "--model", "claude-sonnet-4-6"]),
    "m2-model-gpt-4o": ({"ANTHROPIC_AUTH_TOKEN": "tok-bearer-123"}, ["-p", "say ok", "--model", "gpt-4o"]),
}
SSE_OK = "".join(f"event: {t}\ndata: {json.dumps(d)}\n\n" for t, d in [
    ("message_start", {"type": "message_start", "message": {"id": "msg_rec", "type": "message", "role": "assistant", "model": "m",
                                                             "content": [], "stop_reason": None, "stop_sequence": None,
                                                             "usage": {"input_tokens": 1, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 1}}),
    ("message_stop", {"type": "message_stop"}),
])


def scrub(text: str) -> str:
    for token, placeholder in FAKE_TOKENS.items():
        text = text.replace(token, placeholder)
    return text


def redact(value):
    if isinstance(value, str):
        return f"<redacted {len(value)} chars>" if len(value) > MAX_STRING else scrub(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        return {scrub(k): redact(v) for k, v in value.items()}
    return value


class Recorder(BaseHTTPRequestHandler):
    recorded: list[dict] = []

    def log_message(self, *args) -> None:
        pass

    def _record(self) -> dict:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        entry = {"method": self.command, "raw_path": self.path, "path": path, "query": query, "http_version": self.request_version,
                 "headers": [[k, scrub(v)] for k, v in self.headers.items()], "body": redact(json.loads(raw)) if raw else None}
        Recorder.recorded.append(entry)
        return entry

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        entry = self._record()
        if entry["path"] == "/v1/models":
            self._send(200, "application/json", json.dumps({"data": [{"id": "claude-sonnet-4-6", "display_name": "Sonnet via recorder"}],
                                                            "has_more": False}))
        else:
            self._send(404, "application/json", '{"type":"error","error":{"type":"not_found_error","message":"no"}}')

    def do_POST(self) -> None:
        entry = self._record()
        if entry["path"].endswith("/count_tokens"):
            self._send(200, "application/json", '{"input_tokens": 42}')
        elif entry["body"] and entry["body"].get("stream"):
            self._send(200, "text/event-stream", SSE_OK)
        else:
            self._send(200, "application/json", json.dumps({"id": "msg_rec", "type": "message", "role": "assistant", "model": "m",
                                                            "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                                                            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}))


def install_cli(directory: Path) -> Path:
    binary = directory / "node_modules" / ".bin" / "claude"
    if not binary.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(directory), NPM_PACKAGE], check=True)
    return binary


def record(cli: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    if not version.startswith(CLAUDE_CODE_VERSION):
        raise SystemExit(f"{cli} is {version!r}, not {CLAUDE_CODE_VERSION}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name, (extra_env, args) in SCENARIOS.items():
            Recorder.recorded = []
            with tempfile.TemporaryDirectory() as home:
                env = {"PATH": os.environ["PATH"], "HOME": home, "TERM": "dumb", "LANG": "C.UTF-8",
                       "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
                       "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", **extra_env}
                started = time.monotonic()
                result = subprocess.run([str(cli), *args], env=env, cwd=home, stdin=subprocess.DEVNULL, capture_output=True,
                                        text=True, timeout=RUN_TIMEOUT_S)
            (out / f"{name}.json").write_text(json.dumps(Recorder.recorded, indent=1, ensure_ascii=False) + "\n")
            print(f"{name}: {len(Recorder.recorded)} request(s), CLI exit {result.returncode}, "
                  f"{time.monotonic() - started:.1f} s, stdout {result.stdout.strip()[:60]!r} ({version})")
    finally:
        server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claude-cli", type=Path, help="a Claude Code binary (default: install the pinned version from npm)")
    parser.add_argument("--install-dir", type=Path, default=Path(".cache/claude-code"), help="where the pinned CLI is installed")
    parser.add_argument("--out", type=Path, default=Path(".cache/claude-code-capture"), help="where the recordings go")
    args = parser.parse_args()
    if not shutil.which("npm") and not args.claude_cli:
        raise SystemExit("npm is needed to install the pinned Claude Code CLI (or pass --claude-cli)")
    cli = args.claude_cli or install_cli(args.install_dir.resolve())
    record(cli, args.out)
    export_capture_fixtures.export([args.out, export_capture_fixtures.DEFAULT_CAPTURES])
    return 0


if __name__ == "__main__":
    sys.exit(main())
