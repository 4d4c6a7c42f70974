"""The clock index a partition file's footer carries (liqcore.dataset.clock): for each liquidation and gap,
the bulk row that sets the detector's clock there.  Its rule equals the detection read's rule over decoded
rows (brute force here, on random sections); a written file's index equals that rule over the file's
decoded rows; a bad value or an unsorted section gives no index, never a wrong one."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.dataset import clock as CK
from liqcore.types import Kind


def _brute(sections, r_te: int, r_tr: int):
    """The detection read's rule (liqcore.backtest.windows._exact_detection): the rows of every section in
    the file's order, stably sorted by event time; of those stamped after r_te and received before r_tr,
    the last one."""
    te = np.concatenate([np.asarray(s[0], np.int64) for s in sections] + [np.zeros(0, np.int64)])
    tr = np.concatenate([np.asarray(s[1], np.int64) for s in sections] + [np.zeros(0, np.int64)])
    o = np.argsort(te, kind="stable")
    te, tr = te[o], tr[o]
    hit = np.flatnonzero((te > r_te) & (tr < r_tr))
    return (CK.NONE, CK.NONE) if not len(hit) else (int(te[hit[-1]]), int(tr[hit[-1]]))


@st.composite
def _sections(draw):
    out = []
    for _ in range(draw(st.integers(0, 3))):
        n = draw(st.integers(0, 40))
        te = np.sort(np.array(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n)), np.int64))
        delay = np.array(draw(st.lists(st.integers(-5, 12), min_size=n, max_size=n)), np.int64)
        out.append((te, te + delay))
    return out


@settings(max_examples=300, deadline=None)
@given(sections=_sections(), rare=st.lists(st.tuples(st.integers(-2, 62), st.integers(0, 20)), max_size=12))
def test_the_index_rule_equals_the_detection_reads_rule(sections, rare):
    r_te = np.array([a for a, _d in rare], np.int64)
    r_tr = np.array([a + d for a, d in rare], np.int64)
    got = CK.witnesses(sections, r_te, r_tr)
    assert got is not None
    for k in range(len(rare)):
        assert (int(got[0][k]), int(got[1][k])) == _brute(sections, int(r_te[k]), int(r_tr[k]))
    back = CK.decode(CK.encode(r_te, r_tr, *got))
    assert back is not None and np.array_equal(back, np.stack([r_te, r_tr, got[0], got[1]], axis=1))


def test_an_unsorted_section_or_a_bad_value_gives_no_index():
    te = np.array([3, 1, 2], np.int64)
    assert CK.witnesses([(te, te)], np.array([0]), np.array([5])) is None
    assert CK.decode(b"not base64!") is None
    assert CK.decode(b"AAAA") is None  # three bytes: not whole rows


def test_a_written_files_index_equals_the_rule_over_its_decoded_rows(tmp_path):
    from liqcore.dataset import write_dataset
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=1, symbols=("BTCUSDT",), seed=3, cache=False, effects={"book": True})
    ev = m.events.copy()
    rng = np.random.default_rng(3)
    liq = np.flatnonzero(ev["kind"] == int(Kind.LIQUIDATION))
    ev["ts_recv"][liq] += (rng.random(len(liq)) * 5e9).astype(np.int64)  # late: bulk rows overtake them
    write_dataset(ev, str(tmp_path / "ds"), m.registry, checked=True)
    (f,) = sorted((tmp_path / "ds").rglob("*.parquet"))
    pf = pq.ParquetFile(f)
    index = CK.decode(pf.metadata.metadata[CK.KEY])
    t = pf.read(columns=["ts_event_ns", "ts_recv_ns", "kind"])
    te, tr, kind = (t.column(c).to_numpy() for c in ("ts_event_ns", "ts_recv_ns", "kind"))
    rare = (kind == int(Kind.LIQUIDATION)) | (kind == int(Kind.GAP))
    assert len(index) == int(rare.sum()) > 100
    assert np.array_equal(index[:, 0], te[rare]) and np.array_equal(index[:, 1], tr[rare])
    sections = [(te[kind == k], tr[kind == k]) for k in (int(Kind.TRADE), int(Kind.QUOTE))]
    found = 0
    for r_te, r_tr, w_te, w_tr in index:
        assert (w_te, w_tr) == _brute(sections, int(r_te), int(r_tr))
        found += w_te != CK.NONE
    assert found > 50  # most late liquidations have a setter
