"""Run an ASGI app with uvicorn on a background thread, on a socket bound before start-up.

Binding first gives a free port without races (port 0) and fails fast, with the reason, when a
fixed --upstream-listen port is taken.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

STARTUP_TIMEOUT_S = 10.0
# How long an idle keep-alive connection stays open. Longer than any client pool keeps one (httpx 5 s, Node 4 s,
# aiohttp 15 s, Go 90 s): the client closes idle connections first. uvicorn's default, 5 s, equals httpx's: a
# request sent on a pooled connection just as the server closed it fails with a connection error (a gateway's
# "502 could not reach the upstream" on a loaded machine), which the suite must never cause.
IDLE_CONNECTION_TIMEOUT_S = 120


class ServerError(RuntimeError):
    """The server could not bind or start: the suite's environment, not the gateway, is at fault."""


class BackgroundServer:
    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, name: str = "server") -> None:
        self.name = name
        try:
            self._socket = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise ServerError(f"{name}: cannot listen on {host}:{port}: {exc}") from exc
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level="critical", lifespan="on", timeout_graceful_shutdown=1, access_log=False,
            server_header=False, date_header=False, timeout_keep_alive=IDLE_CONNECTION_TIMEOUT_S,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(f"{self.name} did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
