"""The reader's row writer (liqcore._libs.reading) vs its twin (pysrc.readrows), byte for byte: quote
rows (a bid and an ask row per kept row) and trade / liquidation rows, over random batches with NaN
prices, empty sides (size 0), keep masks (none, some, every row dropped), Bybit inverse rows, OKX
contract values, several venues and symbols, and empty batches; and a dataset partition's rows from
events (every kind, sizes 0 and -0.0, NaN prices, with and without trade ids, strided events); and a
partition file's columns from its rows, quotes compacted (a bid and its ask as one row) or not, over
rows made to pair and to almost pair (a time, flags or trade id apart, an ask price NaN, sides swapped);
and the crossed updates of quote rows laid out in pairs, or almost (one field of one row off)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs.reading import file_columns, natural_pairs, partition_rows, quote_rows, trade_rows
from liqcore.dataset.write import _ROW_DTYPE
from liqcore.types import EVENT_DTYPE, Kind
from pysrc import readrows as twin

pytestmark = pytest.mark.property

_PRICE = st.one_of(st.floats(0.01, 1e6), st.just(float("nan")), st.just(64000.5))
_SIZE = st.one_of(st.floats(0.0, 1e4), st.just(0.0), st.just(float("nan")), st.just(float("inf")))


@st.composite
def _batch(draw):
    n = draw(st.integers(0, 30))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    c = {
        "ts": np.array(col(st.integers(0, 2**62)), np.int64),
        "recv": np.array(col(st.integers(-1, 2**62)), np.int64),
        "bp": np.array(col(_PRICE), np.float64), "bq": np.array(col(_SIZE), np.float64),
        "ap": np.array(col(_PRICE), np.float64), "aq": np.array(col(_SIZE), np.float64),
        "sid": np.array(col(st.integers(0, 2**31 - 1)), np.int64),
        "venue": np.array(col(st.integers(0, 3)), np.int64),
        "side": np.array(col(st.integers(0, 4)), np.int64),
    }
    keep = draw(st.sampled_from(["none", "mask", "drop_all"]))
    c["keep"] = None if keep == "none" else (np.zeros(n, bool) if keep == "drop_all"
                                             else np.array(col(st.booleans()), bool))
    if draw(st.booleans()):  # sizes converted: some rows inverse, the others times a contract value
        c["inverse"] = np.array(col(st.booleans()), bool)
        c["scale"] = np.array(col(st.sampled_from([1.0, 0.01, 0.1, 100.0])), np.float64)
    else:
        c["inverse"] = c["scale"] = None
    return c


@settings(max_examples=400, deadline=None)
@given(_batch())
def test_quote_rows_match_twin(c):
    args = (c["ts"], c["recv"], c["bp"], c["bq"], c["ap"], c["aq"], c["sid"], c["venue"], c["keep"], c["inverse"],
            c["scale"])
    got, want = quote_rows(*args), twin.quote_rows(*args)
    assert got.dtype == EVENT_DTYPE and got.tobytes() == want.tobytes()
    kept = len(c["ts"]) if c["keep"] is None else int(c["keep"].sum())
    assert len(got) == 2 * kept
    assert np.all(got["kind"] == int(Kind.QUOTE))


@settings(max_examples=400, deadline=None)
@given(_batch(), st.sampled_from([(int(Kind.TRADE), 0), (int(Kind.LIQUIDATION), 8)]))
def test_trade_rows_match_twin(c, kind_flags):
    kind, sampled = kind_flags
    args = (c["ts"], c["recv"], c["bp"], c["bq"], c["sid"], c["side"], c["venue"], kind, sampled, c["keep"])
    got, want = trade_rows(*args), twin.trade_rows(*args)
    assert got.dtype == EVENT_DTYPE and got.tobytes() == want.tobytes()


def test_inverse_and_contract_sizes():
    """A Bybit inverse row's size is USD over the price (0 for an empty side); an OKX row's, contracts times
    the contract value; the ask row follows its bid row."""
    one = np.ones(2, np.int64)
    out = quote_rows(np.array([5, 6]), np.array([7, 8]), np.array([50.0, 10.0]), np.array([100.0, 3.0]),
                     np.array([np.nan, 20.0]), np.array([0.0, 4.0]), one, one, None,
                     np.array([True, False]), np.array([1.0, 0.01]))
    assert out["qty"].tolist() == [2.0, 0.0, 0.03, 0.04]
    assert out["side"].tolist() == [3, 4, 3, 4] and out["ts_event"].tolist() == [5, 5, 6, 6]


def test_a_column_of_the_wrong_length_is_refused():
    z = np.zeros(3, np.int64)
    f = np.zeros(3)
    with pytest.raises(ValueError, match="a column of 2 rows for 3 rows"):
        quote_rows(z, z, f, f, f, np.zeros(2), z, z)
    with pytest.raises(ValueError, match="a mask of 2 rows for 3 rows"):
        trade_rows(z, z, f, f, z, z, z, 2, 0, np.ones(2, bool))


@st.composite
def _events(draw):
    n = draw(st.integers(0, 30))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = col(st.integers(-(2**62), 2**62))
    ev["ts_recv"] = col(st.integers(-1, 2**62))
    ev["price"] = col(_PRICE)
    ev["qty"] = col(st.one_of(_SIZE, st.just(-0.0)))
    ev["symbol_id"] = col(st.integers(-1, 2**31 - 1))
    ev["side"] = col(st.integers(0, 4))
    ev["kind"] = col(st.integers(1, 7))
    ev["venue"] = col(st.integers(0, 3))
    ev["flags"] = col(st.integers(0, 255))
    ids = np.array(col(st.integers(-(2**63), 2**63 - 1)), np.int64) if draw(st.booleans()) else None
    if draw(st.booleans()):  # a strided view (every other event), as a partition cut from a file's events
        ev = np.repeat(ev, 2)[::2]
    return ev, ids


@settings(max_examples=400, deadline=None)
@given(_events())
def test_partition_rows_match_twin(c):
    ev, ids = c
    got = partition_rows(ev, ids, np.empty(len(ev), _ROW_DTYPE))
    want = twin.partition_rows(ev, ids, np.empty(len(ev), _ROW_DTYPE))
    assert got.tobytes() == want.tobytes()
    empty = (ev["kind"] == int(Kind.QUOTE)) & (ev["qty"] == 0)
    assert np.all(got["price"][empty] == 0.0)


def test_partition_rows_refuses_another_layout():
    ev = np.zeros(2, EVENT_DTYPE)
    with pytest.raises(ValueError, match="not a partition's rows"):
        partition_rows(ev, None, np.empty(2, np.dtype(_ROW_DTYPE.descr[:-1] + [("trade_id", "<i4")])))
    with pytest.raises(ValueError, match="a column of 3 rows for 2 rows"):
        partition_rows(ev, None, np.empty(3, _ROW_DTYPE))


@st.composite
def _quote_block(draw):
    """Partition rows of top-of-book updates (a bid then an ask row), some of them broken in one field, with
    other rows between them."""
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        t, r = draw(st.integers(0, 3)), draw(st.integers(-1, 3))
        bid = [t, r, 7, 3, draw(_PRICE), draw(_SIZE), 0, 0]
        ask = [t, r, 7, 4, draw(_PRICE), draw(_SIZE), 0, 0]
        what = draw(st.sampled_from(["pair", "pair", "time", "recv", "flags", "tid", "nan", "swap", "alone", "trade"]))
        if what == "time":
            ask[0] += 1
        elif what == "recv":
            ask[1] += 1
        elif what == "flags":
            ask[6] = 8
        elif what == "tid":
            (bid if draw(st.booleans()) else ask)[7] = 5
        elif what == "nan":
            ask[4] = float("nan")
        elif what == "swap":
            bid, ask = ask, bid
        rows += {"alone": [bid], "trade": [[t, r, 2, 3, 1.0, 1.0, 0, 9]]}.get(what, [bid, ask])
    out = np.zeros(len(rows), _ROW_DTYPE)
    for i, v in enumerate(rows):
        out[i] = tuple(v)
    if len(out) and draw(st.booleans()):  # a block cut from a section (starts inside a pair)
        out = out[draw(st.integers(0, len(out) - 1)):]
    return out


@settings(max_examples=400, deadline=None)
@given(_quote_block(), st.booleans())
def test_file_columns_match_twin(rows, pairs):
    got, want = file_columns(rows, pairs), twin.file_columns(rows, pairs)
    assert list(got) == list(want)
    for c in got:
        assert got[c].dtype == want[c].dtype and got[c].flags.c_contiguous, c
        assert got[c].tobytes() == want[c].tobytes(), c
    if not pairs:
        assert len(got["kind"]) == len(rows)


def test_file_columns_pairs_a_bid_with_its_ask():
    rows = np.zeros(3, _ROW_DTYPE)
    rows["side"] = [3, 4, 3]
    rows["kind"] = 7
    rows["price"] = [10.0, 11.0, 9.0]
    rows["qty"] = [1.0, 2.0, 3.0]
    got = file_columns(rows, True)
    assert got["price"].tolist() == [10.0, 9.0] and got["ask_price"][0] == 11.0 and got["ask_qty"][0] == 2.0
    assert np.isnan(got["ask_price"][1])


@settings(max_examples=200, deadline=None)
@given(_quote_block())
def test_a_quote_block_is_written_as_the_twins_compaction_writes_it(rows):
    """The writer's quote table (the kernel) equals the table of the twin's compaction (pysrc.readrows,
    the numpy rule the writer used before the kernel): the same columns, values, nulls and schema."""
    import liqcore.dataset.write as DS

    meta = ("binance", "BTCUSDT", True)
    cols = twin.file_columns(rows, True)
    ask = (cols.pop("ask_price"), cols.pop("ask_qty"))
    got, want = DS._quote_table(rows, meta), DS._file_table(cols, *meta, ask=ask)
    assert got.schema.equals(want.schema, check_metadata=True) and got.num_rows == want.num_rows
    for c in got.column_names:  # (bytes, not values: NaN equals NaN)
        a, b = got.column(c).combine_chunks(), want.column(c).combine_chunks()
        assert a.is_null().equals(b.is_null()), c
        assert a.fill_null(0).to_numpy().tobytes() == b.fill_null(0).to_numpy().tobytes(), c


@st.composite
def _pairs_layout(draw):
    """Quote rows as the reader writes them (from :func:`quote_rows`), odd rows appended or one field of one
    row put off its pair."""
    c = draw(_batch())
    ev = quote_rows(c["ts"], c["recv"], c["bp"], c["bq"], c["ap"], c["aq"], c["sid"], c["venue"])
    what = draw(st.sampled_from(["as_is", "as_is", "odd", "kind", "side", "symbol_id", "ts_event", "ts_recv"]))
    if what == "odd":
        ev = np.concatenate([ev, ev[:1]])
    elif what != "as_is" and len(ev):
        i = draw(st.integers(0, len(ev) - 1))
        ev[what][i] = {"kind": 2, "side": 4 if i % 2 == 0 else 3}.get(what, int(ev[what][i]) ^ 1)
    return ev


@settings(max_examples=400, deadline=None)
@given(_pairs_layout())
def test_natural_pairs_match_twin(ev):
    got, want = natural_pairs(ev), twin.natural_pairs(ev)
    assert (got is None) == (want is None)
    if got is not None:
        assert got.dtype == np.bool_ and got.tolist() == want.tolist()


def test_natural_pairs_mark_a_crossed_update():
    one = np.ones(2, np.int64)
    ev = quote_rows(one, one, np.array([10.0, 10.0]), np.array([1.0, 0.0]), np.array([9.0, 9.0]),
                    np.array([1.0, 1.0]), one, one)
    assert natural_pairs(ev).tolist() == [True, False]  # (the second: its bid side empty)
    assert natural_pairs(ev[:3]) is None and natural_pairs(ev[1:3]) is None


@settings(max_examples=300, deadline=None)
@given(_pairs_layout())
def test_crossed_updates_count_as_the_rule(ev):
    """The load's count of crossed updates (liqcore.io.plausible, through the kernel) is the rule's
    (liqcore.validate.crossed_quotes: its rows / 2), and the kernel's layout answer is the rule's own
    screen's (liqcore.validate._natural_pairs)."""
    import liqcore.validate as V
    from liqcore.io.plausible import _crossed_updates

    assert _crossed_updates(ev, V.crossed_quotes) == int(np.count_nonzero(V.crossed_quotes(ev))) // 2
    mine, rule = natural_pairs(ev), V._natural_pairs(ev, V._PAIR_BLOCK)
    assert (mine is None) == (rule is None)
    if mine is not None:
        assert mine.tolist() == rule.tolist()
