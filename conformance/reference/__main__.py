"""Run the reference gateway on its own:

    python -m conformance.reference --listen 127.0.0.1:8080 --upstream http://127.0.0.1:9090 \\
        --client-token-env GATEWAY_TOKEN [--prefix /anthropic] [--fault NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import sys

import uvicorn

from conformance.formats import ANTHROPIC, FORMAT_NAMES, translated
from conformance.reference.faults import FAULTS, get_fault
from conformance.reference.gateway import ReferenceGateway
from conformance.serving import IDLE_CONNECTION_TIMEOUT_S


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8080",
                        help="HOST:PORT to serve on (default 127.0.0.1:8080; port 0: a free one, printed at start)")
    parser.add_argument("--upstream", required=True, help="Anthropic-format upstream base URL, e.g. the recording upstream")
    parser.add_argument("--client-token-env", default="GATEWAY_TOKEN", help="variable holding the token clients must present")
    parser.add_argument("--upstream-key-env", default="", help="variable holding the upstream key (default: a random key)")
    parser.add_argument("--prefix", default="", help="path prefix to serve under, e.g. /anthropic")
    parser.add_argument("--fault", default=None, choices=sorted(FAULTS), help="run with one named fault (self-tests)")
    parser.add_argument("--upstream-format", default=ANTHROPIC, choices=FORMAT_NAMES,
                        help="the upstream's wire format: anthropic relays; any other translates to that provider's format")
    args = parser.parse_args(argv)
    token = os.environ.get(args.client_token_env, "")
    if not token:
        print(f"error: set {args.client_token_env} to the token clients must present", file=sys.stderr)
        return 2
    upstream_key = os.environ.get(args.upstream_key_env, "") if args.upstream_key_env else ""
    gateway = ReferenceGateway(args.upstream, token, upstream_key or "ref-upstream-" + secrets.token_hex(8), args.prefix, get_fault(args.fault),
                               translated(args.upstream_format))
    host, _, port = args.listen.rpartition(":")
    try:
        listener = socket.create_server((host, int(port)))
    except OSError as exc:
        print(f"error: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return 2
    # The bound address, once it is bound: with port 0 the only way to learn it (the self-tests start it so, which
    # leaves no moment where another process could take a port chosen in advance).
    print(f"reference gateway listening on http://{host}:{listener.getsockname()[1]}{args.prefix}", flush=True)
    if gateway.fault.raw_answer is not None:
        asyncio.run(serve_raw(listener, gateway.fault.raw_answer))
        return 0
    config = uvicorn.Config(gateway.app(), log_level="warning", timeout_keep_alive=IDLE_CONNECTION_TIMEOUT_S)
    uvicorn.Server(config).run(sockets=[listener])
    return 0


async def serve_raw(listener: socket.socket, answer: bytes) -> None:
    """A server that is not HTTP: every connection gets `answer`, then is closed."""

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(65536), 5)
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(reply, sock=listener)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
