"""One name everywhere: Python's Params takes the CLI/TOML vocabulary (with units) as well as fields."""
from __future__ import annotations

import dataclasses

import pytest

from liqcore import Params
from liqcore.config import PARAMS


def test_vocabulary_names_with_units():
    p = Params(window="30s", offset="0.2%", take_profit=0.003)
    assert p.window_ns == 30_000_000_000 and p.offset == 0.002 and p.take_profit == 0.003
    assert p == Params.from_mapping({"window": "30s", "offset": "0.2%", "take-profit": 0.003})
    assert Params(window=30).window_ns == 30_000_000_000  # plain numbers of durations are seconds
    assert Params(window_ns=30).window_ns == 30  # field names keep their units (ns)
    assert Params(hold_timeout="1h", max_ref_age="500ms").max_ref_age_ns == 500_000_000
    assert Params(refresh=0).refresh_ns == 0


@pytest.mark.parametrize("spec", PARAMS, ids=lambda s: s.name)
def test_every_cli_name_is_a_python_keyword(spec):
    from liqcore.config import parse_duration

    default = spec.default
    p = Params(**{spec.name.replace("-", "_"): default})
    q = Params.from_mapping({spec.name: default})
    assert p == q
    if spec.parse is parse_duration:
        assert getattr(p, spec.field) == parse_duration(default)


def test_given_parameters_are_explicit_and_presets_do_not_override_them():
    assert Params(offset="0.2%").for_symbol("BTCUSDT").offset == 0.002
    assert Params().for_symbol("BTCUSDT").offset == 0.001  # the BTC preset where nothing was given
    p = Params(window="30s")
    assert "window_ns" in p.explicit
    assert dataclasses.replace(p, offset=0.01).explicit == p.explicit  # replace keeps what was set
    assert p.replace(stop_loss=0.01).explicit == {"window_ns", "stop_loss"}


def test_bad_names_and_values():
    with pytest.raises(TypeError, match="unknown parameter 'windw'"):
        Params(windw="30s")
    with pytest.raises(TypeError, match="window or window_ns"):
        Params(window="30s", window_ns=1)
    with pytest.raises(ValueError, match="window"):
        Params(window="soon")
    with pytest.raises(ValueError, match="offset"):
        Params(offset="a lot")
