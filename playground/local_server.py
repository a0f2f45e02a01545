"""Serve an ASGI app on ``127.0.0.1`` inside the running event loop (for the fake services).

uvicorn without signal handling or its fixed shutdown pauses, on a socket bound with
``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on accepted connections (otherwise every
response waits ~40 ms for Nagle/delayed ACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

__all__ = ["LocalServer"]


class _EmbeddedServer(uvicorn.Server):
    """uvicorn server for use inside a running loop: no signal handling, quick to stop."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self._stop_requested = asyncio.Event()

    def request_stop(self) -> None:
        self.should_exit = True
        self._stop_requested.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:  # leave SIGINT to pytest
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)
        await self._stop_requested.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Like uvicorn's, without its fixed 0.1 s pauses (they add up over a test suite)."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        for _ in range(int(self.config.timeout_graceful_shutdown or 3) * 200):
            if not (self.server_state.connections or self.server_state.tasks):
                break
            await asyncio.sleep(0.005)
        for task in list(self.server_state.tasks):
            task.cancel(msg="server stopped")
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


class LocalServer:
    """``app`` served at ``http://127.0.0.1:<port>`` (an OS-chosen port) while started."""

    def __init__(self, app: ASGIApp, name: str = "LocalServer") -> None:
        self.app = app
        self.name = name
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._port

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self.name} is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=3,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        ready = asyncio.create_task(self._server.ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            return
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready
        sock.close()
        task, self._task = self._task, None
        task.result()  # re-raises the startup error
        raise RuntimeError(f"{self.name} stopped during startup")

    async def stop(self) -> None:
        if self._task is None or self._server is None:
            return
        self._server.request_stop()
        task, self._task = self._task, None
        await task
