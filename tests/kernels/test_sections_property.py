"""The compiled layout of a checked file's rows of one read (liqcore._libs.reading) vs its twin
(pysrc.sections: the numpy passes read_checked ran before), byte for byte: rare rows, trades and quote rows
(two events each) with many ties in event and receive time (a trade received before a quote of its event
time, equal times across the sections), empty sections, NaN prices, every flag value; and sections out of
the order the merge needs (a rare row out of time order or of a bulk kind, a trade or quote row out of
(event, receive) order or of another kind, a quote without its ask): None from both."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs.reading import section_events
from liqcore.types import EVENT_DTYPE, Kind
from pysrc import sections as twin

pytestmark = pytest.mark.property

_PRICE = st.one_of(st.floats(0.01, 1e6), st.just(float("nan")), st.just(100.5))


@st.composite
def _section(draw, kind, max_rows, sort2=True):
    n = draw(st.integers(0, max_rows))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    te = np.array(col(st.integers(0, 12)), np.int64) + 1_700_000_000_000_000_000
    tr = te + np.array(col(st.integers(-2, 4)), np.int64)
    o = np.lexsort((tr, te)) if sort2 else np.argsort(te, kind="stable")
    c = {"ts_event_ns": te[o], "ts_recv_ns": tr[o],
         "kind": np.array(col(st.sampled_from([1, 3, 4, 5, 6])) if kind is None else [kind] * n, np.int8),
         "side": np.array(col(st.integers(0, 4)), np.int8),
         "price": np.array(col(_PRICE), np.float64), "qty": np.array(col(st.floats(0.0, 1e3)), np.float64),
         "flags": np.array(col(st.integers(0, 255)), np.uint8)}
    if kind == int(Kind.QUOTE):
        c["ask_price"] = np.array(col(st.floats(0.01, 1e6)), np.float64)
        c["ask_qty"] = np.array(col(st.floats(0.0, 1e3)), np.float64)
    return c


def _same(r, t, q, sid=3, venue=1):
    got, want = section_events(r, t, q, sid, venue), twin.section_events(r, t, q, sid, venue)
    if want is None:
        assert got is None
        return None
    assert got is not None and got.dtype == EVENT_DTYPE and got.tobytes() == want.tobytes()
    return got


@settings(max_examples=500, deadline=None)
@given(r=_section(None, 6, sort2=False), t=_section(int(Kind.TRADE), 25), q=_section(int(Kind.QUOTE), 25))
def test_section_events_match_the_numpy_passes(r, t, q):
    got = _same(r, t, q)
    n_r, n_t, n_q = len(r["kind"]), len(t["kind"]), len(q["kind"])
    assert got is not None and len(got) == n_r + n_t + 2 * n_q
    assert np.all(np.diff(got["ts_event"]) >= 0)  # event-time order
    assert np.count_nonzero(got["kind"] == int(Kind.QUOTE)) == 2 * n_q
    assert np.all(got["symbol_id"] == 3) and np.all(got["venue"] == 1)


@settings(max_examples=300, deadline=None)
@given(r=_section(None, 6, sort2=False), t=_section(int(Kind.TRADE), 12), q=_section(int(Kind.QUOTE), 12),
       which=st.sampled_from(["rare_order", "rare_kind", "trade_order", "trade_kind", "quote_order", "quote_kind",
                              "quote_ask", "none_rare", "none_trades", "none_quotes"]), at=st.integers(0, 100))
def test_section_events_refuse_sections_out_of_order_as_the_twin_does(r, t, q, which, at):
    sec = {"rare": r, "trade": t, "quote": q}[which.split("_")[0] if not which.startswith("none") else "rare"]
    n = len(sec["kind"])
    if which == "none_rare":
        r = None
    elif which == "none_trades":
        t = None
    elif which == "none_quotes":
        q = None
    elif n >= 2 and which.endswith("order"):
        i = at % (n - 1)
        for k in sec:
            sec[k] = sec[k].copy()
        sec["ts_event_ns"][i + 1] = sec["ts_event_ns"][i] - 1  # a row stamped before the one above it
    elif n and which.endswith("kind"):
        sec["kind"] = sec["kind"].copy()
        sec["kind"][at % n] = {"rare": int(Kind.TRADE), "trade": int(Kind.QUOTE), "quote": int(Kind.TRADE)}[
            which.split("_")[0]]
    elif n and which == "quote_ask":
        sec["ask_price"] = sec["ask_price"].copy()
        sec["ask_price"][at % n] = np.nan
    _same(r, t, q)


def test_section_events_place_a_trade_received_before_a_quote_of_its_time_first_and_rare_rows_first_at_ties():
    """A run of one event time: the rare row first, then by receive time (the quote first at a tie)."""
    t0 = 1_700_000_000_000_000_000
    r = {"ts_event_ns": [t0], "ts_recv_ns": [t0 + 9], "kind": [1], "side": [1], "price": [1.0], "qty": [1.0],
         "flags": [0]}
    t = {"ts_event_ns": [t0, t0], "ts_recv_ns": [t0 + 1, t0 + 3], "kind": [2, 2], "side": [3, 4],
         "price": [2.0, 3.0], "qty": [1.0, 1.0], "flags": [0, 0]}
    q = {"ts_event_ns": [t0, t0 - 1], "ts_recv_ns": [t0 + 3, t0], "kind": [7, 7], "side": [3, 3],
         "price": [4.0, 5.0], "qty": [1.0, 1.0], "flags": [0, 0], "ask_price": [6.0, 7.0], "ask_qty": [1.0, 1.0]}
    assert section_events(r, t, q, 0, 0) is None  # the quotes out of event-time order
    q = {k: v[::-1] for k, v in q.items()}
    got = _same(r, t, q, 0, 0)
    assert got["price"].tolist() == [5.0, 7.0, 1.0, 2.0, 4.0, 6.0, 3.0]


@st.composite
def _events_nearly_in_receive_order(draw):
    n = draw(st.integers(0, 60))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = np.arange(n) + 1_700_000_000_000_000_000
    far = draw(st.sampled_from([0, 2, 6, 60]))  # how far a row's receive time may lie from its event time's
    ev["ts_recv"] = ev["ts_event"] + np.array(col(st.integers(0, far)), np.int64)
    ev["price"] = np.array(col(_PRICE), np.float64)
    ev["kind"] = np.array(col(st.sampled_from([1, 2, 7])), np.int8)
    ev["flags"] = np.array(col(st.integers(0, 255)), np.uint8)
    if draw(st.booleans()):
        ev = ev[::-1].copy()  # far from sorted: every row moves
    return ev


@settings(max_examples=500, deadline=None)
@given(ev=_events_nearly_in_receive_order())
def test_sort_recv_matches_the_stable_sort_and_its_twin(ev):
    """In place, byte for byte the twin's (done or not); done, numpy's stable sort and gather; not done, the
    numpy sort of what it leaves gives numpy's order of the input."""
    from liqcore._libs.reading import sort_recv
    from liqcore.execution.events import prepare_events

    want_events = prepare_events(ev).copy()
    got, mine = ev.copy(), ev.copy()
    done, twin_done = sort_recv(got), twin.sort_recv(mine)
    assert done == twin_done and got.tobytes() == mine.tobytes()
    if done:
        assert got.tobytes() == want_events.tobytes()
    else:
        assert prepare_events(got).tobytes() == want_events.tobytes()


def test_sort_recv_gives_up_on_rows_far_from_their_place_and_refuses_other_arrays():
    from liqcore._libs.reading import sort_recv

    ev = np.zeros(200, EVENT_DTYPE)
    ev["ts_recv"] = np.arange(200)[::-1]  # reversed: ~100 moves a row, past the bound
    assert sort_recv(ev.copy()) is False and twin.sort_recv(ev.copy()) is False
    ev["ts_recv"][:] = np.arange(200)
    ev["ts_recv"][[10, 11]] = ev["ts_recv"][[11, 10]]
    assert sort_recv(ev) is True and ev["ts_recv"].tolist() == list(range(200))
    with pytest.raises(ValueError):
        sort_recv(np.zeros(3, np.int64))
    with pytest.raises(ValueError):
        sort_recv(ev[::2])


_I64 = st.integers(-(2**63), 2**63 - 1)
_NEAR = st.integers(1_700_000_000_000_000_000 - 20, 1_700_000_000_000_000_000 + 20)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_bulk_keep_matches_the_twin(data):
    """The rows of a bulk group a read keeps: the compiled pass equals the numpy passes (run or mask), with times
    near each other (ties at every bound) and anywhere in int64 (differences that wrap)."""
    from liqcore._libs.reading import bulk_keep

    n = data.draw(st.integers(0, 40))
    ts = _I64 if data.draw(st.booleans()) else _NEAR
    te = np.array(data.draw(st.lists(ts, min_size=n, max_size=n)), np.int64)
    tr = np.array(data.draw(st.lists(ts, min_size=n, max_size=n)), np.int64)
    lo, hi, start, end = (data.draw(ts) for _ in range(4))
    flags = [data.draw(st.booleans()) for _ in range(3)]
    skew, clock_min = data.draw(st.one_of(_I64, st.integers(-5, 5))), data.draw(ts)
    args = (lo, hi, flags[0], start, flags[1], end, flags[2], skew, clock_min)
    got, want = bulk_keep(te, tr, *args), twin.bulk_keep(te, tr, *args)
    assert got[:2] == want[:2] and (got[2] is None) == (want[2] is None)
    if got[2] is not None:
        assert got[2].dtype == np.bool_ and np.array_equal(got[2], want[2])
        assert not (int(np.flatnonzero(got[2])[-1]) - int(np.flatnonzero(got[2])[0]) + 1
                    == np.count_nonzero(got[2]))  # (a mask only for rows that are not one run)


def test_bulk_keep_tells_a_run_from_a_mask():
    """Negative control: rows kept with a hole are a mask, not the run around them; a skew that wraps counts."""
    from liqcore._libs.reading import bulk_keep

    te = np.arange(10, dtype=np.int64) + 100
    tr = te + 1
    assert bulk_keep(te, tr, 103, 107, False, 0, False, 0, False, 0, 0)[:2] == (2, 6)
    tr[4] = 200  # (received later: out of the range)
    i0, i1, m = bulk_keep(te, tr, 103, 107, False, 0, False, 0, False, 0, 0)
    assert (i0, i1) == (0, 0) and np.flatnonzero(m).tolist() == [2, 3, 5]
    te2 = np.array([2**63 - 1, 0], np.int64)
    tr2 = np.array([-(2**63), 0], np.int64)  # te - tr wraps to -1: not ahead
    assert bulk_keep(te2, tr2, -(2**63), 2**63 - 1, False, 0, False, 0, True, 0, -(2**63))[:2] == (0, 2)


_ODD = st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, -1.0, 5e-324, 1e308])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_step_scan_matches_the_twin(data):
    """A window step's scan: bad prints and funding rates, rare positions, counts and the cheapest print equal to
    the numpy passes', with every kind, odd prices and sizes (NaN, infinities, zero, negative, overflowing
    products) and ties of notional."""
    from liqcore._libs.reading import step_scan

    n = data.draw(st.integers(0, 30))
    ev = np.zeros(n, EVENT_DTYPE)
    ev["kind"] = data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    ev["price"] = data.draw(st.lists(st.one_of(st.sampled_from([1.0, 2.0, 100.0]), _ODD), min_size=n, max_size=n))
    ev["qty"] = data.draw(st.lists(st.one_of(st.sampled_from([1.0, 0.5, 2.0]), _ODD), min_size=n, max_size=n))
    got, want = step_scan(ev), twin.step_scan(ev)
    assert got[:2] == want[:2] and got[3:] == want[3:], (got, want)
    assert got[2].dtype == np.int64 and np.array_equal(got[2], want[2])


def test_step_scan_finds_the_first_cheapest_and_the_first_nan():
    """Negative control: the first of two equal cheapest prints, a NaN product before a smaller one, a print of
    +inf notional only: the first print (not the row before it)."""
    from liqcore._libs.reading import step_scan

    ev = np.zeros(5, EVENT_DTYPE)
    ev["kind"] = [3, 2, 2, 7, 2]
    ev["price"], ev["qty"] = [1.0, 2.0, 1.0, 1.0, 1.0], [1.0, 1.0, 2.0, 1.0, 3.0]
    assert step_scan(ev)[5] == 1 and step_scan(ev)[3:5] == (3, 1) and step_scan(ev)[2].tolist() == [0]
    ev["qty"][4] = float("nan")
    assert step_scan(ev)[5] == 4
    ev["qty"][1:] = float("inf")
    assert step_scan(ev)[5] == 1


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_last_rows_matches_the_twin(data):
    """The last print (a finite, positive price), best bid and best ask of a read's events equal to the numpy
    masks', with every kind and side, odd prices and rows of none of them."""
    from liqcore._libs.reading import last_rows

    n = data.draw(st.integers(0, 30))
    ev = np.zeros(n, EVENT_DTYPE)
    ev["kind"] = data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    ev["side"] = data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    ev["price"] = data.draw(st.lists(st.one_of(st.sampled_from([1.0, 2.0, 100.0]), _ODD), min_size=n, max_size=n))
    assert last_rows(ev) == twin.last_rows(ev)
    with pytest.raises(ValueError, match="contiguous"):
        last_rows(np.zeros(4, EVENT_DTYPE)[::2])


def test_last_rows_skips_a_bad_last_print_and_tells_the_sides_apart():
    """Negative control: a last print of price NaN, 0 or below is no print; a quote of side SELL (or any side but
    BUY) is the ask, of side BUY the bid; none of a kind: -1."""
    from liqcore._libs.reading import last_rows

    ev = np.zeros(6, EVENT_DTYPE)
    ev["kind"] = [2, 7, 7, 2, 2, 1]
    ev["side"] = [0, 3, 4, 0, 0, 0]
    ev["price"] = [5.0, 4.0, 6.0, float("nan"), 0.0, 1.0]
    assert last_rows(ev) == (0, 1, 2)
    ev["side"][2] = 0  # (a quote row of no side: the ask, as the simulator reads it)
    assert last_rows(ev) == (0, 1, 2)
    ev["side"][2] = 3
    assert last_rows(ev) == (0, 2, -1)
    ev["price"][3] = 5.5
    assert last_rows(ev)[0] == 3
    assert last_rows(ev[:0]) == (-1, -1, -1)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_trade_delays_matches_the_twin(data):
    """The feed-latency note's sample of a step's trades: the delays at the global positions that are multiples of
    the stride (counted across steps), the recorded and the estimated trades counted, as the numpy passes'."""
    from liqcore._libs.reading import trade_delays
    from liqcore.types import Flag

    n = data.draw(st.integers(0, 40))
    ev = np.zeros(n, EVENT_DTYPE)
    ev["kind"] = data.draw(st.lists(st.sampled_from([1, 2, 2, 2, 7]), min_size=n, max_size=n))
    ev["flags"] = data.draw(st.lists(st.sampled_from([0, 0, 4, 5, 1, 255]), min_size=n, max_size=n))
    ev["ts_event"] = data.draw(st.lists(st.integers(-2**40, 2**40), min_size=n, max_size=n))
    ev["ts_recv"] = ev["ts_event"] + np.array(data.draw(st.lists(st.integers(-10**9, 10**10), min_size=n,
                                                                  max_size=n)), np.int64)
    seen, stride = data.draw(st.integers(0, 100)), data.draw(st.sampled_from([1, 2, 3, 4, 8, 64]))
    got, want = trade_delays(ev, seen, stride, int(Flag.RECV_ESTIMATED)), twin.trade_delays(
        ev, seen, stride, int(Flag.RECV_ESTIMATED))
    assert got[1:] == want[1:] and got[0].dtype == np.int64 and np.array_equal(got[0], want[0])


def test_trade_delays_counts_positions_across_steps():
    """Negative control: the stride's positions run on from the rows seen before (a sample that restarted at each
    step would take other rows), and an estimated receive time is counted, not sampled."""
    from liqcore._libs.reading import trade_delays

    ev = np.zeros(6, EVENT_DTYPE)
    ev["kind"], ev["ts_recv"] = 2, np.arange(6) * 10
    assert trade_delays(ev, 0, 2, 4)[0].tolist() == [0, 20, 40]
    assert trade_delays(ev, 1, 2, 4)[0].tolist() == [10, 30, 50]
    ev["flags"][1] = 4
    assert trade_delays(ev, 0, 2, 4)[1:] == (5, 1) and trade_delays(ev, 0, 2, 4)[0].tolist() == [0, 30, 50]
    with pytest.raises(ValueError, match="stride"):
        trade_delays(ev, 0, 0, 4)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_same_rare_matches_the_twin(data):
    """A step's rare rows against the detection pass's: the compiled test equal to the twin's gather and field
    comparisons, on rows drawn from few values (so that equal and unequal rows both occur), NaN and signed zero
    prices and sizes, positions of any length and a detection span anywhere."""
    from liqcore._libs.reading import same_rare

    def rows(n):
        ev = np.zeros(n, EVENT_DTYPE)
        for f, vals in (("ts_event", [0, 1]), ("ts_recv", [0, 1]), ("kind", [1, 2]), ("side", [0, 1]),
                        ("price", [1.0, float("nan"), 0.0, -0.0]), ("qty", [1.0, float("nan")]),
                        ("symbol_id", [0, 5])):
            ev[f] = data.draw(st.lists(st.sampled_from(vals), min_size=n, max_size=n))
        return ev

    ev, det = rows(data.draw(st.integers(1, 12))), rows(data.draw(st.integers(0, 8)))
    pos = np.array(data.draw(st.lists(st.integers(0, len(ev) - 1), max_size=6)), np.int64)
    p0 = data.draw(st.integers(0, len(det)))
    p1 = data.draw(st.integers(p0, len(det)))
    if data.draw(st.booleans()) and p1 - p0 <= len(ev):  # (often the same rows: a copy of the detection span)
        pos = np.sort(np.array(data.draw(st.lists(st.integers(0, len(ev) - 1), min_size=p1 - p0, max_size=p1 - p0,
                                                  unique=True)), np.int64))
        ev[pos] = det[p0:p1]
    assert same_rare(ev, pos, det, p0, p1) == twin.same_rare(ev, pos, det, p0, p1)


def test_same_rare_tells_a_changed_field_and_refuses_what_it_cannot_test():
    """Negative control: each compared field changed in one row makes the rows differ (the symbol id, not compared,
    does not); a NaN price equals a NaN price, not a number; a count short of the span differs; a position outside
    the events or a span outside the detection rows is an error, as a strided array is."""
    from liqcore._libs.reading import same_rare

    det = np.zeros(3, EVENT_DTYPE)
    det["ts_event"], det["ts_recv"], det["kind"], det["price"], det["qty"] = [1, 2, 3], [4, 5, 6], 1, float("nan"), 2.0
    ev = np.zeros(5, EVENT_DTYPE)
    pos = np.array([0, 2, 4], np.int64)
    ev[pos] = det
    for f in (same_rare, twin.same_rare):
        assert f(ev, pos, det, 0, 3)
        assert not f(ev, pos[:2], det, 0, 3) and f(ev, pos[:2], det, 0, 2)
        for name, v in (("ts_event", 9), ("ts_recv", 9), ("kind", 2), ("side", 1), ("price", 1.0), ("qty", 3.0)):
            x = ev.copy()
            x[name][2] = v
            assert not f(x, pos, det, 0, 3), name
        x = ev.copy()
        x["symbol_id"] = 7
        assert f(x, pos, det, 0, 3)
        with pytest.raises(ValueError, match="outside"):
            f(ev, np.array([0, 2, 5], np.int64), det, 0, 3)
        with pytest.raises(ValueError, match="outside"):
            f(ev, pos, det, 1, 4)
        with pytest.raises(ValueError, match="contiguous"):
            f(np.zeros(10, EVENT_DTYPE)[::2], pos, det, 0, 3)


# ------------------------------------------------------------------------------ several files' events merged
@st.composite
def _pieces(draw):
    """Up to 6 pieces of events (a read's files), each sorted by event time or not (a file's two sections, rows
    in no order), many equal times across and within them, empty ones."""
    out = []
    for _ in range(draw(st.integers(0, 6))):
        n = draw(st.integers(0, 30))
        ev = np.zeros(n, EVENT_DTYPE)
        te = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), np.int64)
        ev["ts_event"] = np.sort(te) if draw(st.booleans()) else te
        ev["ts_recv"] = np.arange(n) + 100 * len(out)  # (each row told apart)
        ev["price"] = np.array(draw(st.lists(_PRICE, min_size=n, max_size=n)), np.float64)
        ev["kind"] = draw(st.sampled_from([1, 2, 7]))
        ev["symbol_id"] = len(out)
        out.append(ev)
    return out


@settings(max_examples=500, deadline=None)
@given(pieces=_pieces())
def test_merge_events_is_the_stable_sort_of_the_pieces_end_to_end(pieces):
    from liqcore._libs.reading import merge_events

    got, want = merge_events(pieces), twin.merge_events(pieces)
    assert got is not None and want is not None and got.dtype == EVENT_DTYPE
    assert got.tobytes() == want.tobytes()
    whole = np.concatenate(pieces) if pieces else np.zeros(0, EVENT_DTYPE)
    assert got.tobytes() == whole[np.argsort(whole["ts_event"], kind="stable")].tobytes()


def test_merge_events_gives_way_past_its_runs_and_refuses_other_rows(monkeypatch):
    """Negative control: rows far from sorted (more runs than it merges) give None, from the kernel and the twin, at
    the same count; a piece of another dtype is an error; no piece (or empty ones) is no row."""
    from liqcore._libs import reading

    assert reading.MERGE_MAX_RUNS == twin.MERGE_MAX_RUNS
    ev = np.zeros(20, EVENT_DTYPE)
    ev["ts_event"] = np.arange(20)[::-1]  # 20 runs of one row
    for mod in (reading, twin):
        monkeypatch.setattr(mod, "MERGE_MAX_RUNS", 20)
        assert mod.merge_events([ev]).tobytes() == ev[::-1].tobytes()
        assert mod.merge_events([ev[:10], ev[10:]]) is not None  # (20 runs in two pieces)
        monkeypatch.setattr(mod, "MERGE_MAX_RUNS", 19)
        assert mod.merge_events([ev]) is None and mod.merge_events([ev[:10], ev[10:]]) is None
        assert mod.merge_events([ev[1:]]) is not None
        with pytest.raises(ValueError, match="EVENT_DTYPE"):
            mod.merge_events([np.zeros(3, np.int64)])
        assert len(mod.merge_events([])) == 0 and len(mod.merge_events([ev[:0], ev[:0]])) == 0
