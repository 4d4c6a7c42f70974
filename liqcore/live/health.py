"""The engine's health: failures caught, standing alarms, and the halt of new entries.

:class:`Health` counts every failure the engine and its parts catch (``error``), keeps the standing alarms
(what is wrong and what the engine does about it: shown by the dashboard, exported as
``liqcore_alarm{alarm=..}``, logged when raised and cleared, in the session summary), and decides the halts
of new entries: a clock that keeps failing (the clock enforces the entry and hold timeouts) and a journal
that cannot commit (an order must not go out without its journal rows).  The fill-rate alarm (the guide's
"fill rate below 40 % -> reduce size") is fed here by the order manager.
"""
from __future__ import annotations

import collections
import logging
import math
import time

from liqcore.live.transport import OWN_STOP
from liqcore.types import Venue

__all__ = ["Health"]

log = logging.getLogger("liqcore.engine")


class Health:
    """Failures, alarms and halts (see the module docstring).

    Given at construction (never rebound): ``params`` (``fill_alarm``, ``fill_alarm_entries``), ``journal`` (or
    None: its intent-log fallback is an alarm too) and ``gateway`` (its private stream's failure counts).

    Calls back: nothing.

    Exposes: ``errors`` (every failure caught), ``clock_errors``, ``clock_failures`` (in a row),
    ``clock_failure_limit``, ``halted`` ("" or why new entries are halted), ``halts``, ``journal_errors``,
    ``alarms`` (name -> text); :meth:`error`, :meth:`alarm`, :meth:`clear_alarm`, :meth:`all_alarms`,
    :meth:`alarm_names`, :meth:`error_counts`, :meth:`entry_ended`, :meth:`clock_ok`, :meth:`clock_failed`,
    :meth:`journal_failed`, :meth:`journal_ok`, :meth:`feed_gap`."""

    def __init__(self, params, journal, gateway):
        self.params = params
        self.journal = journal
        self.gateway = gateway
        self.errors = 0  # every failure caught (callbacks, bookkeeping, unconfirmed orders, clock ticks)
        self.clock_errors = 0  # failed clock ticks (of errors)
        self.clock_failures = 0  # consecutive failed clock ticks
        #: consecutive failed clock ticks that halt new entries (the clock enforces entry/hold timeouts)
        self.clock_failure_limit = 5
        self.halted = ""  # why new entries are halted ("" = they are not)
        self.halts = 0
        self.journal_errors = 0  # failed batched journal commits (clock ticks; see journal_failed)
        self._journal_said = self._journal_resumed = -math.inf
        #: standing alarms by name (what is wrong, what the engine does about it)
        self.alarms: dict[str, str] = {}
        #: the last ``fill-alarm-entries`` ended entries (True: filled), for the fill-rate alarm
        self._fill_window: collections.deque = collections.deque(maxlen=max(1, int(params.fill_alarm_entries)))
        self._alarm_names: set[str] = set()

    def error(self) -> None:
        """A failure was caught (and logged by whoever caught it)."""
        self.errors += 1

    def feed_gap(self, events, reason: str, metrics) -> None:
        """A feed's GAP events (``reason``: why it went down): counted (``liqcore_gaps_total``) and journaled as a
        ``gap``.  The feeds' own stop (``OWN_STOP``) ends the open cascades too but is no gap: journaled as
        ``feed_stop`` and not counted, so the journal's gap count is the run's ``gaps=``."""
        own = reason == OWN_STOP
        if not own:
            metrics.inc("liqcore_gaps_total", venue=Venue(int(events["venue"][0])).name.lower() if len(events) else "?")
        if self.journal is not None and len(events):
            self.journal.note("feed_stop" if own else "gap", {"reason": reason, "symbols": events["symbol_id"].tolist()},
                              int(events["ts_recv"][0]))

    def error_counts(self) -> dict[str, int]:
        """Failures caught so far, by source: ``engine`` (callbacks, bookkeeping, orders not confirmed),
        ``clock`` (failed clock ticks) and, with a venue gateway, its private stream's ``private_ping``
        (pings that could not be sent: the connection is replaced) and ``private_callback``."""
        out = {"engine": self.errors - self.clock_errors, "clock": self.clock_errors}
        st = self.gateway.stream.stats if self.gateway.stream is not None else None
        if isinstance(st, dict):
            out["private_ping"] = int(st.get("ping_failures", 0))
            out["private_callback"] = int(st.get("callback_errors", 0))
        return out

    # ------------------------------------------------------------------ alarms
    def alarm(self, name: str, text: str) -> None:
        """Raise (or update) the alarm ``name``; logged when it is new or its text changes."""
        if self.alarms.get(name) != text:
            self.alarms[name] = text
            self._alarm_names.add(name)
            log.warning("ALARM %s: %s", name, text)

    def clear_alarm(self, name: str, why: str = "") -> None:
        if self.alarms.pop(name, None) is not None:
            log.warning("alarm %s cleared%s", name, f": {why}" if why else "")

    def all_alarms(self) -> dict[str, str]:
        """The standing alarms, with the journal's (an intent log left for plain writes)."""
        fb = self.journal.intent_log_fallback if self.journal is not None else ""
        return {**self.alarms, "intent_log": fb} if fb else dict(self.alarms)

    def alarm_names(self, current) -> set[str]:
        """Every alarm name raised this session (the metrics keep exporting a cleared one as 0)."""
        self._alarm_names.update(current)
        return self._alarm_names

    def entry_ended(self, filled: bool) -> None:
        """An entry ended (any fill, or cancelled / rejected unfilled): the guide's "fill rate below 40 %
        -> reduce size" as the standing alarm ``fill_rate`` over the last ``fill-alarm-entries`` ended
        entries (raised below ``fill-alarm``, cleared at or above it; nothing before that many ended)."""
        q = self._fill_window
        q.append(bool(filled))
        p = self.params
        if not p.fill_alarm > 0 or len(q) < p.fill_alarm_entries:
            return
        rate = sum(q) / len(q)
        if rate < p.fill_alarm:
            self.alarm("fill_rate", f"fill rate {rate:.0%} of the last {len(q)} entries is below {p.fill_alarm:.0%}: "
                                    f"reduce size (the market may be crowded, or the offset too wide)")
        else:
            self.clear_alarm("fill_rate", f"fill rate {rate:.0%} of the last {len(q)} entries")

    # ------------------------------------------------------------------ clock health
    def clock_ok(self) -> None:
        """A clock tick succeeded: the failure streak ends; a halt it caused is lifted."""
        if self.clock_failures:
            self.clock_failures = 0
            if self.halted.startswith("clock"):
                log.warning("clock ticks succeed again: new entries resume")
                self.halted = ""

    def clock_failed(self, exc: BaseException) -> None:
        """A clock tick raised: counted; after :attr:`clock_failure_limit` in a row new entries halt (the
        clock enforces the entry and hold timeouts), until a tick succeeds again."""
        self.errors += 1
        self.clock_errors += 1
        self.clock_failures += 1
        if self.clock_failures >= self.clock_failure_limit and not self.halted:
            self.halted = f"clock failing ({self.clock_failures} ticks in a row): {type(exc).__name__}: {exc}"
            self.halts += 1
            log.error("new entries halted: %s", self.halted)

    # ------------------------------------------------------------------ journal health
    def journal_failed(self, exc: Exception) -> None:
        """A batched journal commit failed (e.g. its disk is full): new entries halt until it commits again
        (an order must not go out without its journal rows); said once, then counted."""
        self.errors += 1
        self.journal_errors += 1
        if not self.halted:
            self.halted = f"journal failing: {exc}"
            self.halts += 1
        text = f"{exc}: new entries halted until it commits again"
        if self.alarms.get("journal") != text:
            now = time.monotonic()
            if now - self._journal_said >= 60.0:  # (a disk on the edge of full flaps: said once a minute)
                self._journal_said = now
                log.error("new entries halted: %s (the rows are kept and committed once it can; failed commits "
                          "are counted in liqcore_journal_errors_total)", exc)
            self.alarms["journal"] = text
            self._alarm_names.add("journal")

    def flush_journal(self) -> None:
        """The clock tick's batched journal commit, when one is due: a failure (a full disk: the rows stay pending
        and are committed once it can) is :meth:`journal_failed`, a success :meth:`journal_ok`."""
        if self.journal is None:
            return
        import sqlite3

        try:
            self.journal.maybe_flush()
        except sqlite3.Error as exc:
            self.journal_failed(exc)
        else:
            self.journal_ok()

    def journal_ok(self) -> None:
        """A batched commit went through: a halt the journal caused is lifted once no rows wait."""
        if self.halted.startswith("journal") and not self.journal.pending_rows:
            self.halted = ""
            if self.alarms.pop("journal", None) is not None and self._journal_said > self._journal_resumed:
                self._journal_resumed = time.monotonic()  # (once per halt that was said)
                log.warning("the journal commits again: new entries resume")
