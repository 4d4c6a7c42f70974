"""The Cython structs and the numpy dtypes describe the same bytes."""
import numpy as np

from liqcore._libs import _contract
from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, make_events


def _check(layout, dtype):
    assert layout["itemsize"] == dtype.itemsize
    for name in dtype.names:
        assert layout[name] == dtype.fields[name][1], name
    assert set(layout) - {"itemsize"} == set(dtype.names)


def test_event_struct_matches_dtype():
    _check(_contract.event_layout(), EVENT_DTYPE)
    assert EVENT_DTYPE.itemsize == 40
    assert EVENT_DTYPE.isalignedstruct


def test_cascade_struct_matches_dtype():
    _check(_contract.cascade_layout(), CASCADE_DTYPE)
    assert CASCADE_DTYPE.isalignedstruct


def test_make_events_defaults_recv_to_event_time():
    ev = make_events(ts_event=np.array([1, 2, 3]), price=1.0, qty=2.0)
    assert ev["ts_recv"].tolist() == [1, 2, 3]
    assert ev.dtype == EVENT_DTYPE


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from liqcore.types import take_records  # noqa: E402


@settings(max_examples=60)
@given(n=st.integers(0, 40), picks=st.lists(st.integers(0, 10_000), max_size=60), step=st.sampled_from([1, 2, 3]),
       data=st.data())
def test_take_records_is_numpys_gather_of_records(n, picks, step, data):
    """The opaque-row gather gives numpy's ``records[index]`` for integer and boolean indices, on
    contiguous and strided arrays (NaN prices, extreme times, every field), as a new array."""
    ev = make_events(ts_event=np.arange(n, dtype=np.int64) * 7 - 2**62, price=np.linspace(-1e300, 1e300, n),
                     qty=np.full(n, np.nan), symbol_id=np.arange(n) % 5, side=np.arange(n) % 5,
                     kind=np.arange(n) % 8, venue=np.arange(n) % 4)
    for case in (ev, ev[::step]):
        m = len(case)
        idx = np.asarray([p % m for p in picks] if m else [], dtype=np.int64)
        mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
        for index in (idx, mask):
            got, want = take_records(case, index), case[index]
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
            if len(got):
                assert not np.shares_memory(got, case)
