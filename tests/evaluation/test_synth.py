"""Synthetic control against pysyncon and the published Prop 99 example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.synth import block_panel, simplex_weights, synthetic_control

pysyncon = pytest.importorskip("pysyncon")

# Abadie, Diamond & Hainmueller (2010) smoking data as shipped by the R package
# synthdid (github.com/synth-inference/synthdid, data/california_prop99.csv,
# commit 70c1ce3).
DATA = Path(__file__).resolve().parents[1] / "data" / "california_prop99.csv"
PRE, POST = list(range(1970, 1989)), list(range(1989, 2001))
KW = dict(unit="State", time="Year", outcome="PacksPerCapita", pre=PRE, post=POST)


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return pd.read_csv(DATA, sep=";")


@pytest.fixture(scope="module")
def ca(prop99: pd.DataFrame):
    return synthetic_control(prop99, treated=["California"], **KW)


def test_published_prop99_sc_estimate(ca) -> None:
    # Arkhangelsky et al. (2021, AER, Table 1; synthdid README): R
    # `sc_estimate(setup$Y, setup$N0, setup$T0)` = -19.6, the mean 1989-2000 gap of a
    # synthetic California fitted to the 1970-1988 outcome path (no covariates;
    # R adds a 1e-6 ridge and stops Frank-Wolfe early, hence the 0.15 tolerance).
    assert ca.estimate == pytest.approx(-19.6, abs=0.15)
    # ADH (2010, Table 2) weights (with covariates) put most weight on Utah, Nevada,
    # Montana, Colorado, Connecticut; the outcome-path fit picks the same top states.
    top = set(ca.weights["donor"].head(4))
    assert {"Utah", "Nevada", "Montana"} <= top
    assert ca.weights["weight"].sum() == pytest.approx(1.0)
    assert (ca.weights["weight"] >= 0).all()


def test_weights_match_pysyncon(prop99: pd.DataFrame, ca) -> None:
    bp = block_panel(prop99, treated=["California"], **KW)
    x = pd.DataFrame(bp.y[:, : bp.t0].T, index=PRE, columns=bp.units)
    z = pd.DataFrame(bp.y[:, bp.t0 :].T, index=POST, columns=bp.units)
    donors = bp.units[: bp.n0]
    synth = pysyncon.Synth()
    # pysyncon scales each predictor by its SD across units; V = SD² undoes it, so
    # both solve min ‖x1 − X0 w‖² on the simplex.
    v = x.std(axis=1).to_numpy() ** 2
    synth.fit(X0=x[donors], X1=x["California"], Z0=z[donors], Z1=z["California"], custom_V=v)
    ref = pd.Series(np.asarray(synth.W), index=donors)
    ours = ca.weights.set_index("donor")["weight"].reindex(donors).fillna(0.0)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), atol=1e-4)
    # Our solver is exact (KKT-polished): its loss is not above the reference's.
    loss = lambda w: float(np.sum((x[donors].to_numpy() @ w - x["California"].to_numpy()) ** 2))  # noqa: E731
    assert loss(ours.to_numpy()) <= loss(ref.to_numpy()) + 1e-9


def test_placebo_inference(ca) -> None:
    assert len(ca.placebos) == 38
    ratio_ca = ca.gaps.query("unit == 'California'")
    pre, post = ratio_ca[~ratio_ca["post"]]["gap"], ratio_ca[ratio_ca["post"]]["gap"]
    r = float((post**2).mean() / (pre**2).mean())
    expected = (1 + (ca.placebos["mspe_ratio"] >= r).sum()) / 39
    assert ca.p_value == pytest.approx(expected)
    assert ca.p_value < 0.1
    assert ca.ci_low < ca.estimate < ca.ci_high and ca.interval_reason is None
    assert ca.pre_rmspe == pytest.approx(float(np.sqrt((pre**2).mean())))
    assert ca.fit_ratio < 0.1


def test_leave_one_out(ca) -> None:
    assert set(ca.loo["dropped_donor"]) == set(ca.weights["donor"])
    assert ca.loo["estimate"].between(-25, -15).all()


def test_several_treated_average(prop99: pd.DataFrame) -> None:
    res = synthetic_control(prop99, treated=["California", "Nevada"], max_placebos=10, **KW)
    per = res.gaps[res.gaps["post"] & (res.gaps["unit"] != "average")].groupby("unit")["gap"].mean()
    assert res.estimate == pytest.approx(per.mean())
    assert res.p_value == pytest.approx(min(1.0, 2 * min(res.unit_p_values.values())))
    assert np.isnan(res.ci_low) and "19" in res.interval_reason


def test_simplex_solver_exact_on_known_convex_combination() -> None:
    rng = np.random.default_rng(1)
    donors = rng.normal(size=(12, 6))
    w = np.array([0.5, 0.3, 0.2, 0, 0, 0])
    np.testing.assert_allclose(simplex_weights(donors @ w, donors), w, atol=1e-9)


def test_bad_input(prop99: pd.DataFrame) -> None:
    with pytest.raises(EvaluationError, match="no column"):
        synthetic_control(prop99, treated=["California"], **{**KW, "outcome": "packs"})
    with pytest.raises(EvaluationError, match="expected numbers"):
        synthetic_control(prop99.astype({"PacksPerCapita": str}), treated=["California"], **KW)
    with pytest.raises(EvaluationError, match="repeated"):
        synthetic_control(pd.concat([prop99, prop99.head(1)]), treated=["California"], **KW)
    gappy = prop99[~((prop99["State"] == "California") & (prop99["Year"] == 1975))]
    with pytest.raises(InsufficientDataError, match="balanced"):
        synthetic_control(gappy, treated=["California"], **KW)
