"""Live mode: the proxy and the TUI in one asyncio loop, calls shown as they happen.

This module sits above both ``rpcspy.proxy`` and ``rpcspy.tui`` so that neither imports the
other: the proxy's runner hands each record to the app through its ``on_record`` callback.
``rpcspy proxy --tui`` and the end of ``rpcspy demo`` use ``run_live``.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rpcspy.tui.app import RpcSpyApp

if TYPE_CHECKING:
    from rpcspy.api.model import Api
    from rpcspy.capture.record import CallRecord
    from rpcspy.proxy.runner import ProxyConfig, ProxyRunner

__all__ = ["LiveProxyApp", "run_live"]


class LiveProxyApp(RpcSpyApp):
    """Starts a ``ProxyRunner`` when mounted and shows each exchange as it is recorded.

    ``client``, when given, runs in a worker thread once the proxy listens, with the proxy's URL
    (the demo uses it to drive traffic through the proxy while the user watches).
    """

    def __init__(
        self,
        config: ProxyConfig,
        *,
        client: Callable[[str], Any] | None = None,
        initial_filter: str = "",
        **kwargs: Any,
    ) -> None:
        target = config.target
        super().__init__(
            title=f"rpcspy — live {'→ ' + target if target else '(regular proxy)'}",
            replay_target=target,
            initial_filter=initial_filter,
            **kwargs,
        )
        # Per-call lines would land on the terminal the TUI draws on.
        self.proxy_config = dataclasses.replace(
            config,
            on_record=self._on_proxy_record,
            quiet=True,
            out=io.StringIO(),
            log_level="error",
        )
        self.runner: ProxyRunner | None = None
        self.proxy_error: str | None = None
        #: The proxy once it stopped, for its closing report (None while it runs or never ran).
        self.stopped_runner: ProxyRunner | None = None
        self._client = client
        self.live_text = "starting proxy…"

    def on_mount(self) -> None:
        self.run_worker(self._run_proxy(), group="proxy", exit_on_error=False)

    async def _run_proxy(self) -> None:
        from rpcspy.proxy.runner import ProxyError, ProxyRunner

        runner = ProxyRunner(self.proxy_config)
        try:
            await runner.start()
        except ProxyError as exc:
            self.proxy_error = str(exc)
            self.live_text = "proxy failed"
            self.notify(str(exc), title="the proxy could not start", severity="error", timeout=30)
            return
        self.runner = runner
        target = self.proxy_config.target
        self.live_text = f"live: {runner.url}" + (f" → {target}" if target else "")
        if self._client is not None:
            client = self._client
            url = runner.url
            self.run_worker(lambda: client(url), thread=True, group="client", exit_on_error=False)

    def _on_proxy_record(self, record: CallRecord) -> None:
        # The runner calls this on the loop's thread, which is the app's.
        self.add_record(record)

    def raise_proxy_error(self) -> None:
        """Raise ``ProxyError`` when the proxy could not start; nothing when it ran."""
        from rpcspy.proxy.runner import ProxyError

        if self.proxy_error is not None:
            raise ProxyError(f"the proxy could not start: {self.proxy_error}")

    @property
    def recorded(self) -> int | None:
        """Calls the proxy recorded, known once it stopped (None while it runs or never ran)."""
        return None if self.stopped_runner is None else self.stopped_runner.records

    async def action_quit(self) -> None:
        await self.stop_proxy()
        self.exit(0)

    async def stop_proxy(self) -> None:
        """Stop the proxy (writing pending records); safe to call twice."""
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.stop()
            self.stopped_runner = runner

    async def on_unmount(self) -> None:
        await self.stop_proxy()
        await super().on_unmount()


def run_live(
    config: ProxyConfig,
    *,
    client: Callable[[str], Any] | None = None,
    initial_filter: str = "",
    api: Api | None = None,
    api_label: str | None = None,
) -> int:
    """Run proxy and TUI together until the user quits or a stop signal; returns the exit code.

    ``client``, if given, is called in a worker thread with the proxy's URL once it listens
    (``rpcspy demo`` drives its scripted client through the proxy this way). Once the UI is
    gone it prints ``rpcspy proxy stopped; N calls recorded`` and returns the exit code, as the
    proxy without it does (4 when some calls could not be written to the capture). Raises
    ``rpcspy.proxy.ProxyError`` when the proxy could not start (after the user quits the UI that
    said so); the command turns it into an exit code. ``api`` (named ``api_label``) is merged
    first into the API pane, as ``rpcspy tui --api`` does.
    """
    from rpcspy.stopping import StopSignals, stop_signals

    app = LiveProxyApp(
        config, client=client, initial_filter=initial_filter, api=api, api_label=api_label
    )
    # As the proxy without the UI: SIGINT, SIGTERM and SIGHUP (unless nohup) stop it with every
    # pending record written, and the exit code is the proxy's.
    with StopSignals(stop_signals()) as signals:
        signals.app = app
        app.run()
    app.raise_proxy_error()
    if app.stopped_runner is None:
        return 0
    from rpcspy.proxy.runner import report_stopped

    return report_stopped(app.stopped_runner)
