"""The latency histogram of one method: a bar per bin, each bin labelled with its edges in ms.

The bins are ``rpcspy.capture.stats.histogram``'s (log-spaced, round edges), as many as the
widget's height has rows for; the bars are drawn as ``rpcspy stats`` draws its chart.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

from rpcspy.capture.stats import Bin, MethodStats, bar, bin_label

__all__ = ["LatencyHistogram"]


class LatencyHistogram(Widget):
    """Bars of how many calls of one method took how long."""

    DEFAULT_CSS = """
    LatencyHistogram {
        height: 1fr;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stats: MethodStats | None = None
        #: The bins on screen (empty before a method is shown, or when it has no latency).
        self.bins: list[Bin] = []

    def show(self, stats: MethodStats | None) -> None:
        """Show the histogram of ``stats`` (a method's figures, or all methods')."""
        self.stats = stats
        self._rebin()

    def on_resize(self, _event: events.Resize) -> None:
        self._rebin()

    def _rebin(self) -> None:
        rows = self.size.height - 1  # (a title line above the bars)
        self.bins = [] if self.stats is None else self.stats.histogram(max(1, rows))
        self.refresh()

    def render(self) -> Text:
        s = self.stats
        if s is None:
            return Text("")
        out = Text()
        out.append(f"latency of {s.method}", style="bold")
        if not self.bins:
            out.append(": no call with a response")
            return out
        calls = "call" if s.answered == 1 else "calls"
        out.append(f": {s.answered:,} {calls} with a response", style="dim")
        labels = [bin_label(b) for b in self.bins]
        counts = [f"{b.count:,}" for b in self.bins]
        label_w = max(map(len, labels))
        count_w = max(map(len, counts))
        width = max(1, self.size.width - label_w - count_w - 4)
        top = max(b.count for b in self.bins)
        for label, count, b in zip(labels, counts, self.bins, strict=True):
            out.append(f"\n{label:>{label_w}} {count:>{count_w}} ")
            out.append(bar(b.count, top, width), style="cyan")
        return out
