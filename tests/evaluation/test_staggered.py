"""Tests of lopsnb.evaluation.staggered (Callaway & Sant'Anna 2021 staggered DiD)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lopsnb.errors import EvaluationError, InsufficientDataError  # noqa: E402
from lopsnb.evaluation.staggered import StaggeredDiD, callaway_santanna  # noqa: E402

TOL = 1e-6


def simulate(
    n: int = 200,
    periods: int = 12,
    cohorts: tuple[float, ...] = (4.0, 6.0, 9.0, np.nan),
    effect: float = 1.0,
    slope: float = 0.2,
    pre_trend: float = 0.0,
    seed: int = 1,
) -> pd.DataFrame:
    """Staggered panel: entity effect + common trend + dynamic effect + noise.

    The effect at event time e >= 0 is ``effect + slope * e``; ``pre_trend``
    adds a cohort-specific linear trend before treatment (violating parallel
    trends) so that the placebo test has something to detect.
    """
    rng = np.random.default_rng(seed)
    coh = rng.choice(np.asarray(cohorts, dtype=float), size=n)
    ent = np.repeat(np.arange(n), periods)
    per = np.tile(np.arange(periods), n)
    g = coh[ent]
    rel = per - g
    treated = ~np.isnan(g) & (rel >= 0)
    y = (
        rng.normal(size=n)[ent]
        + 0.1 * per
        + np.where(treated, effect + slope * np.where(treated, rel, 0), 0.0)
        + np.where(~np.isnan(g) & ~treated, pre_trend * per, 0.0)
        + rng.normal(size=n * periods)
    )
    return pd.DataFrame({"entity_id": ent, "period": per, "cohort": g, "value": y})


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    df = simulate()
    # Two entities treated in the first period (no pre-period: excluded by both
    # implementations) and one treated after the panel (never treated in it).
    df.loc[df["entity_id"].isin([0, 1]), "cohort"] = 0.0
    df.loc[df["entity_id"] == 2, "cohort"] = 30.0
    return df


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = frame.columns.get_level_values(-1)
    return frame


@pytest.fixture(scope="module", params=["never_treated", "not_yet_treated"])
def reference(request: pytest.FixtureRequest, panel: pd.DataFrame) -> dict:
    """`differences.ATTgt` (est_method="reg" = unconditional OR-DiD) on the same panel."""
    from differences import ATTgt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(data=panel.set_index(["entity_id", "period"]), cohort_column="cohort")
        model.fit(formula="value", est_method="reg", control_group=request.param, progress_bar=False)
        out = {
            "control_group": request.param,
            "gt": _flat(model.results()).reset_index(),
            "simple": _flat(model.aggregate("simple")),
            "event": _flat(model.aggregate("event")),
        }
    return out


# ------------------------------------------------------ against `differences`


def test_group_time_matches_differences(panel: pd.DataFrame, reference: dict) -> None:
    res = callaway_santanna(panel, control_group=reference["control_group"])
    ours = res.group_time.set_index(["cohort", "period"]).sort_index()
    ref = reference["gt"].set_index(["cohort", "time"]).sort_index()
    assert len(ours) == len(ref) == 3 * 11
    np.testing.assert_array_equal(ours.index.to_numpy(), ref.index.to_numpy())
    np.testing.assert_array_equal(ours["base_period"], ref["base_period"])
    np.testing.assert_allclose(ours["estimate"], ref["ATT"], atol=TOL, rtol=0)
    np.testing.assert_allclose(ours["std_error"], ref["std_error"], atol=TOL, rtol=0)
    np.testing.assert_allclose(ours["ci_low"], ref["lower"], atol=TOL, rtol=0)
    np.testing.assert_allclose(ours["ci_high"], ref["upper"], atol=TOL, rtol=0)


def test_aggregations_match_differences(panel: pd.DataFrame, reference: dict) -> None:
    res = callaway_santanna(panel, control_group=reference["control_group"])
    simple = reference["simple"].iloc[0]
    assert res.estimate == pytest.approx(simple["ATT"], abs=TOL)
    assert res.std_error == pytest.approx(simple["std_error"], abs=TOL)
    assert res.ci_low == pytest.approx(simple["lower"], abs=TOL)

    es = res.event_study.set_index("relative_period")
    ref = reference["event"]
    np.testing.assert_array_equal(es.index.to_numpy(), ref.index.to_numpy())
    np.testing.assert_allclose(es["estimate"], ref["ATT"], atol=TOL, rtol=0)
    np.testing.assert_allclose(es["std_error"], ref["std_error"], atol=TOL, rtol=0)
    assert list(res.event_study.columns) == [
        "relative_period", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n_entities", "kind",
    ]


def test_sample_accounting(panel: pd.DataFrame) -> None:
    res = callaway_santanna(panel)
    d = res.diagnostics
    assert d["n_entities_input"] == 200
    assert d["n_excluded_treated_first_period"] == 2
    assert d["n_treated_after_panel"] == 1
    assert d["n_entities_used"] == 198
    assert res.n_cohorts == 3
    used = panel[~panel["entity_id"].isin([0, 1])].drop_duplicates("entity_id")
    assert res.n_treated == int(used["cohort"].isin([4.0, 6.0, 9.0]).sum())
    assert res.n_comparison == d["n_never_treated"] == int((used["cohort"].isna() | (used["cohort"] > 11)).sum())


# ------------------------------------------------------ against plain means


def _wide(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return df.pivot(index="entity_id", columns="period", values="value"), df.groupby("entity_id")["cohort"].first()


def test_effect_cell_equals_plain_group_means() -> None:
    df = simulate(n=120, seed=5)
    wide, g = _wide(df)
    dy = wide[8] - wide[5]  # ATT(6, 8) compares period 8 with base g - 1 = 5
    treat, ctrl = dy[g == 6.0], dy[g.isna()]
    hand = treat.mean() - ctrl.mean()
    # Two-sample variance with 1/n moments: the analytic IF variance of CS2021.
    hand_se = np.sqrt(treat.var(ddof=0) / len(treat) + ctrl.var(ddof=0) / len(ctrl))
    row = callaway_santanna(df).group_time.query("cohort == 6 and period == 8").iloc[0]
    assert row["estimate"] == pytest.approx(hand, abs=1e-10)
    assert row["std_error"] == pytest.approx(hand_se, abs=1e-10)
    assert (row["base_period"], row["relative_period"], row["kind"]) == (5, 2, "effect")
    assert row["n_treated"] == len(treat) and row["n_comparison"] == len(ctrl)


def test_placebo_cell_not_yet_treated_equals_plain_group_means() -> None:
    df = simulate(n=120, seed=6)
    wide, g = _wide(df)
    dy = wide[5] - wide[4]  # placebo ATT(9, 5): short difference t vs t - 1
    # not yet treated at max(t, b) = 5: cohorts 6 and 9 (but 9 is the treated
    # cohort itself) plus never treated; cohort 4 is already treated.
    ctrl = dy[g.isna() | (g == 6.0)]
    hand = dy[g == 9.0].mean() - ctrl.mean()
    row = callaway_santanna(df, control_group="not_yet_treated").group_time.query(
        "cohort == 9 and period == 5"
    ).iloc[0]
    assert row["estimate"] == pytest.approx(hand, abs=1e-10)
    assert (row["base_period"], row["kind"], row["n_comparison"]) == (4, "placebo", len(ctrl))


# ------------------------------------------------------ aggregation behaviour


def test_window_covering_all_post_periods_equals_simple() -> None:
    df = simulate(seed=2)
    full = callaway_santanna(df)
    wide = callaway_santanna(df, window=(-3, 50))
    assert wide.estimate == pytest.approx(full.estimate, abs=1e-12)
    assert wide.std_error == pytest.approx(full.std_error, abs=1e-12)
    narrow = callaway_santanna(df, window=(0, 2))
    cells = full.group_time.query("0 <= relative_period <= 2")
    hand = np.average(cells["estimate"], weights=cells["n_treated"])
    assert narrow.estimate == pytest.approx(hand, abs=1e-10)
    assert narrow.estimate != pytest.approx(full.estimate, abs=1e-3)
    assert narrow.window == (0, 2)


def test_true_effect_recovered() -> None:
    df = simulate(n=1500, effect=2.0, slope=0.0, seed=11)
    for cg in ("never_treated", "not_yet_treated"):
        res = callaway_santanna(df, control_group=cg)
        assert res.ci_low < 2.0 < res.ci_high
        assert abs(res.estimate - 2.0) < 0.1
        effects = res.event_study.query("kind == 'effect'")
        assert ((effects["ci_low"] < 2.0) | (effects["ci_high"] > 2.0)).all()
        placebo = res.event_study.query("kind == 'placebo'")
        assert (placebo["estimate"].abs() < 0.3).all()


def test_pre_trend_test() -> None:
    clean = callaway_santanna(simulate(n=400, seed=3)).pre_trend_test()
    assert clean["df"] == clean["n_placebo"] == 8 and clean["p_value"] > 0.01
    broken = callaway_santanna(simulate(n=400, seed=3, pre_trend=0.3)).pre_trend_test()
    assert broken["p_value"] < 1e-6
    # One placebo event time: the Wald statistic is the squared z statistic.
    one = callaway_santanna(simulate(n=150, periods=6, cohorts=(2.0, np.nan), seed=4))
    row = one.event_study.query("relative_period == -1").iloc[0]
    test = one.pre_trend_test()
    assert test["df"] == 1
    assert test["statistic"] == pytest.approx((row["estimate"] / row["std_error"]) ** 2, rel=1e-10)
    # No placebo (cohort has a single pre-period): NaN statistic, df 0.
    none = callaway_santanna(simulate(n=100, periods=5, cohorts=(1.0, np.nan), seed=4)).pre_trend_test()
    assert none["df"] == 0 and np.isnan(none["statistic"])


def test_balancing_drops_incomplete_entities() -> None:
    df = simulate(n=80, seed=8)
    holey = df.copy()
    holey.loc[(holey["entity_id"] == 3) & (holey["period"] == 7), "value"] = np.nan
    holey = holey[~((holey["entity_id"] == 10) & (holey["period"] == 2))]
    res = callaway_santanna(holey)
    ref = callaway_santanna(df[~df["entity_id"].isin([3, 10])])
    assert res.diagnostics["n_dropped_unbalanced"] == 2
    pd.testing.assert_frame_equal(res.group_time, ref.group_time)


def test_relabelled_ids_and_shifted_periods_give_same_result() -> None:
    df = simulate(n=60, seed=9)
    res = callaway_santanna(df)
    moved = df.assign(
        person=lambda x: "p" + x["entity_id"].astype(str),
        month=lambda x: x["period"] + 100,
        start=lambda x: x["cohort"] + 100,
        kpi=lambda x: x["value"],
    ).drop(columns=["entity_id", "period", "cohort", "value"])
    res2 = callaway_santanna(moved, entity="person", period="month", cohort="start", outcome="kpi")
    np.testing.assert_allclose(res2.group_time["estimate"], res.group_time["estimate"], atol=1e-12)
    assert (res2.group_time["cohort"] == res.group_time["cohort"] + 100).all()
    pd.testing.assert_frame_equal(res2.event_study, res.event_study)


# ------------------------------------------------------ properties


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    shift=st.floats(-1e3, 1e3, allow_nan=False),
    scale=st.floats(0.01, 100.0).flatmap(lambda v: st.sampled_from([v, -v])),
    cg=st.sampled_from(["never_treated", "not_yet_treated"]),
)
def test_location_and_scale_equivariance(seed: int, shift: float, scale: float, cg: str) -> None:
    df = simulate(n=40, periods=8, cohorts=(3.0, 5.0, np.nan), seed=seed)
    base = callaway_santanna(df, control_group=cg)
    shifted = callaway_santanna(df.assign(value=df["value"] + shift), control_group=cg)
    scaled = callaway_santanna(df.assign(value=df["value"] * scale), control_group=cg)
    for a, b in ((base.group_time, shifted.group_time), (base.event_study, shifted.event_study)):
        np.testing.assert_allclose(b["estimate"], a["estimate"], atol=1e-8)
        np.testing.assert_allclose(b["std_error"], a["std_error"], atol=1e-8)
    for a, b in ((base.group_time, scaled.group_time), (base.event_study, scaled.event_study)):
        np.testing.assert_allclose(b["estimate"], scale * a["estimate"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b["std_error"], abs(scale) * a["std_error"], rtol=1e-9, atol=1e-9)
    assert scaled.estimate == pytest.approx(scale * base.estimate, rel=1e-9, abs=1e-9)
    assert scaled.std_error == pytest.approx(abs(scale) * base.std_error, rel=1e-9)
    assert shifted.estimate == pytest.approx(base.estimate, abs=1e-8)


# ------------------------------------------------------ result object


def test_result_views() -> None:
    res = callaway_santanna(simulate(n=60, seed=12), window=(0, 5))
    assert isinstance(res, StaggeredDiD)
    pd.testing.assert_frame_equal(res.to_frame(), res.event_study)
    d = res.to_dict()
    json.dumps(d)
    assert d["estimate"] == pytest.approx(res.estimate) and d["window"] == [0, 5]
    assert len(d["rows"]) == len(res.event_study)
    assert set(res.event_study["kind"]) == {"placebo", "effect"}
    assert (res.event_study["kind"] == "placebo").eq(res.event_study["relative_period"] < 0).all()
    assert "Staggered DiD" in res.summary() and "<table" in res._repr_html_()

    fig, ax = plt.subplots()
    assert res.plot(ax=ax) is ax
    assert len(ax.containers) == 2  # placebo and effect error bars
    assert ax.get_xlabel().startswith("Periods relative")
    plt.close(fig)
    ax2 = res.plot()
    assert ax2 is not None
    plt.close(ax2.figure)


def test_runs_fast_on_large_panel() -> None:
    import time

    df = simulate(n=5000, periods=24, cohorts=tuple(float(c) for c in range(2, 23, 2)) + (np.nan,), seed=13)
    start = time.perf_counter()
    callaway_santanna(df, control_group="not_yet_treated")
    assert time.perf_counter() - start < 5.0


# ------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "mutate", "error", "match"),
    [
        ({}, lambda d: d.drop(columns="cohort"), EvaluationError, "missing column"),
        ({"control_group": "all"}, None, EvaluationError, "control_group"),
        ({"window": (3, 1)}, None, EvaluationError, "window"),
        ({"alpha": 1.5}, None, EvaluationError, "alpha"),
        ({}, lambda d: d.assign(cohort=d["cohort"].fillna(11.0)), InsufficientDataError, "never-treated"),
        ({}, lambda d: d.assign(cohort=np.where(d["cohort"].isna(), np.nan, 0.0)), InsufficientDataError, "pre-period"),
        ({"window": (20, 30)}, None, InsufficientDataError, "window"),
        ({}, lambda d: pd.concat([d, d.head(1)]), EvaluationError, "duplicated"),
        ({}, lambda d: d[d["period"] != 5], EvaluationError, "consecutive"),
        ({}, lambda d: d.assign(period=d["period"] + 0.5), EvaluationError, "integer"),
        ({}, lambda d: d.assign(value=d["value"].astype(str)), EvaluationError, "numeric"),
        (
            {},
            lambda d: d.assign(cohort=np.where((d["entity_id"] == 0) & (d["period"] == 0), 2.0, d["cohort"])),
            EvaluationError,
            "varies",
        ),
        ({}, lambda d: d.iloc[0:0], InsufficientDataError, "empty"),
    ],
)
def test_bad_inputs(kwargs: dict, mutate: Callable[[pd.DataFrame], pd.DataFrame] | None, error: type[Exception], match: str) -> None:
    df = simulate(n=40, seed=14)
    if mutate is not None:
        df = mutate(df)
    with pytest.raises(error, match=match):
        callaway_santanna(df, **kwargs)


def test_not_yet_treated_without_never_treated() -> None:
    # Without never-treated entities, late cells have no comparison: they are
    # left out (and listed) instead of failing the whole estimation.
    df = simulate(n=90, cohorts=(4.0, 6.0, 9.0), seed=15)
    res = callaway_santanna(df, control_group="not_yet_treated")
    missing = res.diagnostics["cells_without_comparison"]
    # (g, t) lacks a comparison when no other cohort is still untreated at t.
    expected = [(g, t) for g in (4, 6, 9) for t in range(1, 12) if not any(c > t for c in (4, 6, 9) if c != g)]
    assert missing == expected and (9, 6) in missing and (9, 5) not in missing
    assert len(res.group_time) == 3 * 11 - len(expected)
    assert np.isfinite(res.estimate)
