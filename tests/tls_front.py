"""A gateway served over TLS with a private CA's certificate, as many in-house gateways are: a TLS-terminating TCP
relay on 127.0.0.1 in front of the reference gateway's plain HTTP port (the certificate comes from trustme)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import trustme

START_TIMEOUT_S = 10


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def tls_front(backend_url: str, ca_bundle: Path) -> Iterator[str]:
    """https://127.0.0.1:PORT relaying to backend_url; the private CA's certificate is written to ca_bundle."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(ca_bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    backend = urlsplit(backend_url)
    loop = asyncio.new_event_loop()

    async def relay(client_reader, client_writer) -> None:
        try:
            backend_reader, backend_writer = await asyncio.open_connection(backend.hostname, backend.port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, backend_writer), _pipe(backend_reader, client_writer))

    async def serve() -> asyncio.Server:
        return await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)

    async def shut_down() -> None:
        server.close()
        relays = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in relays:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(serve(), loop).result(START_TIMEOUT_S)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}{backend.path}"
    finally:
        asyncio.run_coroutine_threadsafe(shut_down(), loop).result(START_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
        loop.close()
