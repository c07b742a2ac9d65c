"""lopsnb._memo: a batch's kernels share an expensive pure computation (issue 17).

What is checked: a stored value is reused only under the same key and only
when the runner set LOPSNB_MEMO; the warnings of the computation are raised
again on reuse, through the filters in force at the caller; failures and
damaged entries fall back to computing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lopsnb import _memo
from lopsnb._memo import MEMO_ENV, digest, memoized


class Counter:
    """A computation that counts its calls and warns once per call."""

    def __init__(self, value: object) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> object:
        self.calls += 1
        warnings.warn("sigma not exactly symmetric", UserWarning, stacklevel=1)
        return self.value


def test_without_the_variable_every_call_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMO_ENV, raising=False)
    compute = Counter(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert memoized("t", "k", compute) == 1 and memoized("t", "k", compute) == 1
    assert compute.calls == 2


def test_same_key_reuses_the_value_and_raises_its_warnings_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMO_ENV, str(tmp_path / "memo"))
    frame = pd.DataFrame({"mbar": [0.5, 1.0], "lb": [np.float64(0.1), -np.inf]})
    compute = Counter(frame)
    first, second = [], []
    for seen in (first, second):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = memoized("honest", "k1", compute)
        seen += [str(w.message) for w in caught]
        pd.testing.assert_frame_equal(value, frame)
        assert value["lb"].dtype == frame["lb"].dtype
    assert compute.calls == 1
    assert first == second == ["sigma not exactly symmetric"]
    # The caller's filters decide, on reuse as on the first run.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        memoized("honest", "k1", compute)
    assert caught == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memoized("honest", "k2", compute)  # another key computes
    assert compute.calls == 2 and len(list((tmp_path / "memo").glob("honest-*.pickle"))) == 2


def test_failures_are_not_stored_and_damaged_entries_are_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMO_ENV, str(tmp_path))

    def fail() -> None:
        raise ValueError("no interval")

    with pytest.raises(ValueError, match="no interval"):
        memoized("t", "bad", fail)
    assert not list(tmp_path.glob("t-bad*"))
    (tmp_path / "t-k.pickle").write_bytes(b"not a pickle")
    assert memoized("t", "k", lambda: 7) == 7
    assert memoized("t", "k", lambda: 8) == 7  # the rewritten entry


def test_digest_separates_parts() -> None:
    assert digest(["ab", "c"]) != digest(["a", "bc"])
    assert digest([b"x", "y"]) == digest(["x", b"y"])


def test_honest_did_goes_through_the_memo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The Rambachan–Roth grid is what is shared, keyed on the exact inputs."""
    from lopsnb.evaluation import sensitivity

    keys: list[str] = []
    real = _memo.memoized

    def spy(kind: str, key: str, compute):  # type: ignore[no-untyped-def]
        keys.append(f"{kind}:{key}")
        return pd.DataFrame({"Mbar": [1.0], "lb": [0.5], "ub": [2.0]})

    monkeypatch.setattr(sensitivity, "memoized", spy)
    beta = np.array([0.01, -0.02, 1.0])
    sigma = np.diag([0.01, 0.01, 0.04])
    out = sensitivity.honest_did(beta, sigma, n_pre=2, n_post=1, mbar=[1.0])
    sensitivity.honest_did(beta, sigma, n_pre=2, n_post=1, mbar=[1.0])
    sensitivity.honest_did(beta + np.array([0, 0, 1e-12]), sigma, n_pre=2, n_post=1, mbar=[1.0])
    assert out["breakdown_mbar"] == 1.0 and real is _memo.memoized
    assert keys[0].startswith("honest:") and keys[0] == keys[1] != keys[2]
