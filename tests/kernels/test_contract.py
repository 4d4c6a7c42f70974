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
