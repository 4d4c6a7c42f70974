"""Prometheus metrics of the live runner: counters, gauges, one latency histogram, served as the
plain text exposition format by aiohttp on ``127.0.0.1:PORT/metrics``.

Updating a metric is a dict operation (no locks, loop thread only); rendering happens per scrape.
"""
from __future__ import annotations

import bisect
import math

__all__ = ["Metrics", "Histogram", "serve_metrics", "LATENCY_BUCKETS_S"]

#: reaction latency buckets (seconds): frame received -> order request sent
LATENCY_BUCKETS_S = (25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3, 0.1, 0.5, 1.0, 3.0)


def _esc(v) -> str:
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in sorted(labels.items())) + "}"


class Histogram:
    def __init__(self, buckets=LATENCY_BUCKETS_S):
        self.buckets = tuple(sorted(buckets))
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        if not math.isfinite(value):
            return
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def quantile(self, q: float) -> float:
        """Upper bucket bound holding the q-quantile (inf beyond the last bucket, nan when empty)."""
        if not self.count:
            return math.nan
        target, acc = q * self.count, 0
        for i, c in enumerate(self.counts):
            acc += c
            if acc >= target:
                return self.buckets[i] if i < len(self.buckets) else math.inf
        return math.inf


class Metrics:
    """``inc(name, n=1, **labels)``, ``set(name, value, **labels)``, ``observe(name, seconds)``."""

    HELP = {
        "liqcore_frames_total": "websocket frames received",
        "liqcore_events_total": "normalised events decoded",
        "liqcore_rejects_total": "frames/records dropped, by reason",
        "liqcore_cascades_total": "cascades confirmed",
        "liqcore_decisions_total": "strategy decisions by outcome",
        "liqcore_orders_total": "orders sent",
        "liqcore_order_updates_total": "order updates by status",
        "liqcore_fills_total": "fills",
        "liqcore_gaps_total": "feed gaps (disconnects)",
        "liqcore_connected": "1 when every connection of the venue is up",
        "liqcore_coverage": "connected share of wall time since start",
        "liqcore_equity": "account equity (quote)",
        "liqcore_reaction_seconds": "confirming frame received -> order request sent",
        "liqcore_errors_total": "failures caught, by source (engine, clock, private_ping, private_callback)",
        "liqcore_clock_failures": "clock ticks failed in a row (timeouts are enforced by the clock)",
        "liqcore_entries_halted": "1 while new entries are halted (e.g. the clock keeps failing)",
        "liqcore_halts_total": "times new entries were halted",
        "liqcore_blocked_total": "cascades the shell refused (kill_switch, halted, banned)",
        "liqcore_unknown_orders_total": "orders whose create, cancel or close outcome was unknown, by what",
        "liqcore_protection_events_total": "open positions' exits lost, replaced, closed or failed, by action",
        "liqcore_unprotected_positions": "open positions without their venue-held take-profit and stop-loss now",
        "liqcore_venue_banned": "1 while the venue's host bans this IP",
        "liqcore_venue_ban_seconds_left": "seconds until the venue's ban of this IP ends",
        "liqcore_venue_bans_total": "bans of this IP by the venue's host",
        "liqcore_venue_rate_waits_total": "waits for the venue's rate limit (window full or Retry-After)",
        "liqcore_venue_weight_used": "request weight spent in the venue's current window",
        "liqcore_stream_silent": "1 while a subscribed stream is silent as its venue's other streams flow",
        "liqcore_stream_silences_total": "times a subscribed stream was found silent (re-subscribed, reconnected)",
    }

    def __init__(self):
        self.counters: dict[str, dict[tuple, float]] = {}
        self.gauges: dict[str, dict[tuple, float]] = {}
        self.histograms: dict[str, Histogram] = {}
        #: callables run at scrape time: ``fn(metrics)`` copies hot-path counters kept as plain ints
        self.collectors: list = []

    def set_counter(self, name: str, value: float, **labels) -> None:
        """Set a counter's absolute value (collectors exporting counts kept elsewhere)."""
        self.counters.setdefault(name, {})[tuple(sorted(labels.items()))] = float(value)

    def inc(self, name: str, n: float = 1, **labels) -> None:
        d = self.counters.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        d[key] = d.get(key, 0) + n

    def set(self, name: str, value: float, **labels) -> None:
        self.gauges.setdefault(name, {})[tuple(sorted(labels.items()))] = float(value)

    def observe(self, name: str, value: float) -> None:
        h = self.histograms.get(name)
        if h is None:
            h = self.histograms[name] = Histogram()
        h.observe(value)

    def value(self, name: str, **labels) -> float:
        self.collect()
        key = tuple(sorted(labels.items()))
        for store in (self.counters, self.gauges):
            if name in store:
                if labels:
                    return store[name].get(key, 0.0)
                return sum(store[name].values())
        return 0.0

    def collect(self) -> None:
        for fn in self.collectors:
            fn(self)

    def render(self) -> str:
        self.collect()
        out = []
        for kind, store in (("counter", self.counters), ("gauge", self.gauges)):
            for name in sorted(store):
                out.append(f"# HELP {name} {self.HELP.get(name, name)}")
                out.append(f"# TYPE {name} {kind}")
                for key, v in sorted(store[name].items()):
                    out.append(f"{name}{_labels(dict(key))} {v:g}")
        for name in sorted(self.histograms):
            h = self.histograms[name]
            out.append(f"# HELP {name} {self.HELP.get(name, name)}")
            out.append(f"# TYPE {name} histogram")
            acc = 0
            for b, c in zip(h.buckets, h.counts):
                acc += c
                out.append(f'{name}_bucket{{le="{b:g}"}} {acc}')
            out.append(f'{name}_bucket{{le="+Inf"}} {h.count}')
            out.append(f"{name}_sum {h.sum:g}")
            out.append(f"{name}_count {h.count}")
        return "\n".join(out) + "\n"


async def serve_metrics(metrics: Metrics, port: int, host: str = "127.0.0.1"):
    """Start the ``/metrics`` endpoint; returns the aiohttp runner (``await runner.cleanup()``)."""
    from aiohttp import web

    async def handle(request):
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    app.router.add_get("/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, int(port))
    await site.start()
    return runner
