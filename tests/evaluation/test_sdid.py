"""Synthetic difference-in-differences against the authors' package and the published Prop 99 example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation.sdid import sdid, sdid_estimate_matrix
from lopsnb.evaluation.synth import block_panel

synthdid = pytest.importorskip("synthdid")

# Abadie, Diamond & Hainmueller (2010) smoking data as shipped by the R package
# synthdid (github.com/synth-inference/synthdid, data/california_prop99.csv,
# commit 70c1ce3): packs per capita, 39 states, 1970-2000, California treated from 1989.
DATA = Path(__file__).resolve().parents[1] / "data" / "california_prop99.csv"
PRE, POST = list(range(1970, 1989)), list(range(1989, 2001))


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return pd.read_csv(DATA, sep=";")


def _bp(d: pd.DataFrame, treated: list[str]):
    return block_panel(d, unit="State", time="Year", outcome="PacksPerCapita", treated=treated, pre=PRE, post=POST)


def test_published_prop99_estimate(prop99: pd.DataFrame) -> None:
    # Arkhangelsky et al. (2021, AER 111(12), Table 1) and the synthdid README:
    # R `synthdid_estimate(setup$Y, setup$N0, setup$T0)` = -15.6 packs per capita.
    bp = _bp(prop99, ["California"])
    tau, omega, lam = sdid_estimate_matrix(bp.y, bp.n0, bp.t0)
    assert tau == pytest.approx(-15.6038, abs=1e-4)
    # The README's time weights: 1986-1988 only.
    assert set(np.asarray(PRE)[lam > 0]) == {1986, 1987, 1988}


def test_matches_synthdid_py_weights_and_estimate(prop99: pd.DataFrame) -> None:
    bp = _bp(prop99, ["California"])
    tau, omega, lam = sdid_estimate_matrix(bp.y, bp.n0, bp.t0)
    ref = synthdid.synthdid_estimate(bp.y, bp.n0, bp.t0)
    assert tau == pytest.approx(float(ref), abs=1e-6)
    np.testing.assert_allclose(omega, np.asarray(ref.weights.omega), atol=1e-6)
    np.testing.assert_allclose(lam, np.asarray(ref.weights.lambda_), atol=1e-6)


def test_jackknife_matches_synthdid_py_with_several_treated(prop99: pd.DataFrame) -> None:
    treated = ["California", "Nevada", "Utah"]
    res = sdid(prop99, unit="State", time="Year", outcome="PacksPerCapita", treated=treated, pre=PRE, post=POST)
    bp = _bp(prop99, treated)
    ref = synthdid.synthdid_estimate(bp.y, bp.n0, bp.t0)
    assert res.vcov_method == "jackknife"
    assert res.estimate == pytest.approx(float(ref), abs=1e-6)
    assert res.std_error == pytest.approx(float(synthdid.jackknife_se(ref)), rel=1e-6)
    assert res.ci_low < res.estimate < res.ci_high
    # The SDID curve: its mean post-period gap is the estimate.
    assert res.gaps.loc[res.gaps["post"], "gap"].mean() == pytest.approx(res.estimate, abs=1e-9)


def test_placebo_variance_single_treated(prop99: pd.DataFrame) -> None:
    # Placebo SE (Algorithm 4) is random; R's vcov(method="placebo") on these data
    # gives about 10 (README: 95% CI about (-35.6, 4.4)). 30 draws keep the test fast.
    res = sdid(prop99, unit="State", time="Year", outcome="PacksPerCapita", treated=["California"], pre=PRE, post=POST, replications=30)
    assert res.vcov_method == "placebo"
    assert len(res.placebo_estimates) == 30
    assert 5 < res.std_error < 16
    assert res.std_error == pytest.approx(np.sqrt(29 / 30) * np.std(res.placebo_estimates, ddof=1))


def test_jackknife_refused_with_one_treated(prop99: pd.DataFrame) -> None:
    with pytest.raises(InsufficientDataError, match="jackknife"):
        sdid(prop99, unit="State", time="Year", outcome="PacksPerCapita", treated=["California"], pre=PRE, post=POST, vcov_method="jackknife")


def test_too_few_pre_periods(prop99: pd.DataFrame) -> None:
    with pytest.raises(InsufficientDataError, match="pre-period"):
        sdid(prop99, unit="State", time="Year", outcome="PacksPerCapita", treated=["California"], pre=[1988], post=POST)
