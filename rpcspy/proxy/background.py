"""A ProxyRunner on a thread of its own, for synchronous callers (the demo, tests, scripts)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import replace
from types import TracebackType

from rpcspy.capture import CallRecord
from rpcspy.proxy.runner import ProxyConfig, ProxyError, ProxyRunner

__all__ = ["BackgroundProxy"]


class BackgroundProxy:
    """Runs a ``ProxyRunner`` in its own event loop on a daemon thread.

    ``start()`` returns once the proxy listens (re-raising whatever stopped it from starting);
    ``stop()`` stops it and drains the capture. Every record is also kept in ``records``.
    """

    def __init__(self, config: ProxyConfig) -> None:
        self.records: list[CallRecord] = []
        self._lock = threading.Lock()
        user_callback = config.on_record

        def on_record(record: CallRecord) -> None:
            with self._lock:
                self.records.append(record)
            if user_callback is not None:
                user_callback(record)

        self.config = replace(config, on_record=on_record)
        self.runner: ProxyRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="rpcspy-proxy", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.runner = ProxyRunner(self.config)
            try:
                await self.runner.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.runner.stop()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = self._error or exc
            self._ready.set()

    def start(self, timeout: float = 30.0) -> BackgroundProxy:
        """Start the proxy and wait until it listens."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ProxyError(f"the proxy did not start within {timeout:.0f} s")
        if self._error is not None:
            self._thread.join(10)
            raise self._error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the proxy; returns once the capture is drained and closed."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise ProxyError(f"the proxy did not stop within {timeout:.0f} s")

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        if self.runner is None:
            raise ProxyError("the proxy is not running")
        return self.runner.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: where reverse-mode clients connect."""
        return f"http://127.0.0.1:{self.port}"

    def snapshot(self) -> list[CallRecord]:
        """The records so far (a copy)."""
        with self._lock:
            return list(self.records)

    def __enter__(self) -> BackgroundProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
