"""Tests of lopsnb.evaluation.methods: every isolation method against an independent computation.

References used:

* post_only / ancova: statsmodels formula OLS with ``cov_type="HC1"`` and
  ``use_t=True`` (t with the residual degrees of freedom, as lopsnb reports).
* twfe / twfe_did: pyfixest ``feols("y ~ x | entity + period",
  vcov={"CRV1": "entity"})`` (the fixest / Stata ``xtreg, fe vce(cluster)``
  convention lopsnb follows: entity effects nested in the clusters are not
  counted in the small-sample factor), statsmodels OLS with ``C(entity) +
  C(period)`` dummies and ``cov_type="cluster"`` (same coefficients; its
  factor counts every dummy in K) and linearmodels
  ``PanelOLS(entity_effects=True, time_effects=True)``.
* before_after: ``scipy.stats.ttest_1samp`` on the entity differences.
* trend_line: ``np.polyfit`` on the pre periods (estimate) and a statsmodels
  formula OLS with HAC covariance + ``t_test`` contrast (standard error).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pyfixest as pf
from linearmodels import PanelOLS
from scipy import stats

from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation.methods import (
    Estimate,
    ancova,
    before_after,
    newey_west_lags,
    post_only,
    smd,
    smd_band,
    trend_line,
    twfe,
    twfe_did,
)

TOL = 1e-6


# --------------------------------------------------------------------------- data


def _entities(seed: int = 0, n_t: int = 25, n_c: int = 40, effect: float = 2.0) -> pd.DataFrame:
    """One row per entity: treated, baseline, followup, a numeric and a text covariate."""
    rng = np.random.default_rng(seed)
    n = n_t + n_c
    treated = np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)]
    tenure = rng.gamma(2.0, 2.0, n)
    region = rng.choice(["north", "south", "west"], n)
    baseline = 50 + 3 * tenure + 4 * treated + rng.normal(0, 5, n)
    followup = 10 + 0.8 * baseline + effect * treated + 1.5 * (region == "south") + rng.normal(0, 3 + 2 * treated, n)
    df = pd.DataFrame(
        {"treated": treated, "baseline": baseline, "followup": followup, "tenure_years": tenure, "region": pd.array(region, dtype="str")},
        index=pd.Index([f"E{i:03d}" for i in range(n)], name="entity_id"),
    )
    return df


def _panel(seed: int = 0, n_ent: int = 30, n_per: int = 8, share: float = 0.4, drop: float = 0.0, effect: float = 2.0) -> pd.DataFrame:
    """Entity-period observations with half the periods post; ``drop`` > 0 makes it unbalanced."""
    rng = np.random.default_rng(seed)
    rows = []
    n_t = max(2, int(round(share * n_ent)))
    for i in range(n_ent):
        a = rng.normal(0, 2)
        tr = i < n_t
        for t in range(n_per):
            post = t >= n_per // 2
            rows.append(
                {
                    "entity_id": f"E{i:03d}",
                    "pidx": 24_300 + t,
                    "treated": tr,
                    "post": post,
                    "value": 10 + a + 0.4 * t + 0.5 * tr + effect * (tr and post) + rng.normal(0, 1 + 0.5 * tr),
                }
            )
    obs = pd.DataFrame(rows)
    if drop:
        keep = rng.random(len(obs)) >= drop
        obs = obs[keep].reset_index(drop=True)
    return obs


def _check_t_interval(e: Estimate, df: float) -> None:
    q = stats.t(df).ppf(0.975)
    assert e.ci_low == pytest.approx(e.estimate - q * e.std_error, abs=TOL)
    assert e.ci_high == pytest.approx(e.estimate + q * e.std_error, abs=TOL)
    assert e.p_value == pytest.approx(2 * stats.t(df).sf(abs(e.estimate / e.std_error)), abs=TOL)


# --------------------------------------------------------------------------- post_only / ancova


def test_post_only_matches_statsmodels_hc1() -> None:
    ents = _entities(1)
    ents.loc[ents.index[:3], "followup"] = np.nan  # dropped, not counted
    e = post_only(ents)
    data = ents.dropna(subset=["followup"]).assign(tr=lambda d: d["treated"].astype(float))
    fit = smf.ols("followup ~ tr", data=data).fit(cov_type="HC1", use_t=True)
    assert e.estimate == pytest.approx(fit.params["tr"], abs=TOL)
    assert e.std_error == pytest.approx(fit.bse["tr"], abs=TOL)
    lo, hi = fit.conf_int().loc["tr"]
    assert (e.ci_low, e.ci_high) == (pytest.approx(lo, abs=TOL), pytest.approx(hi, abs=TOL))
    assert e.p_value == pytest.approx(fit.pvalues["tr"], abs=TOL)
    assert (e.n_treated, e.n_comparison) == (22, 40)
    # post_only is the plain difference in followup means
    t, c = data[data["treated"]], data[~data["treated"]]
    assert e.estimate == pytest.approx(t["followup"].mean() - c["followup"].mean(), abs=TOL)
    assert e.strength == "moderate" and e.method == "post_only"


@pytest.mark.parametrize("covariates", [(), ("tenure_years",), ("tenure_years", "region")])
def test_ancova_matches_statsmodels_hc1(covariates: tuple[str, ...]) -> None:
    ents = _entities(2)
    ents.loc[ents.index[5], "baseline"] = np.nan
    ents.loc[ents.index[30], "tenure_years"] = np.nan
    e = ancova(ents, covariates=covariates)
    data = ents.dropna(subset=["followup", "baseline", *covariates]).assign(tr=lambda d: d["treated"].astype(float))
    rhs = " + ".join(["tr", "baseline", *[f"C({c})" if c == "region" else c for c in covariates]])
    fit = smf.ols(f"followup ~ {rhs}", data=data).fit(cov_type="HC1", use_t=True)
    assert e.estimate == pytest.approx(fit.params["tr"], abs=TOL)
    assert e.std_error == pytest.approx(fit.bse["tr"], abs=TOL)
    lo, hi = fit.conf_int().loc["tr"]
    assert e.ci_low == pytest.approx(lo, abs=TOL)
    assert e.ci_high == pytest.approx(hi, abs=TOL)
    assert e.p_value == pytest.approx(fit.pvalues["tr"], abs=TOL)
    assert e.details["df"] == pytest.approx(fit.df_resid)
    assert e.details["n_dropped"] == len(ents) - len(data)
    assert e.n_treated + e.n_comparison == len(data)


def test_ancova_constant_covariate_is_dropped_not_singular() -> None:
    ents = _entities(3).assign(const=1.0)
    e = ancova(ents, covariates=["const", "tenure_years"])
    fit = smf.ols("followup ~ treated + baseline + tenure_years", data=ents.assign(treated=ents["treated"].astype(float))).fit(cov_type="HC1")
    assert e.estimate == pytest.approx(fit.params["treated"], abs=TOL)
    assert e.std_error == pytest.approx(fit.bse["treated"], abs=TOL)


def test_ancova_refuses_a_covariate_that_determines_participation() -> None:
    # Regression test: a covariate collinear with treated (all participants in
    # one unit) gave an arbitrary pinv split of the effect with a small p-value.
    ents = _entities(5).assign(unit=lambda d: np.where(d["treated"], "east", "west"), code=lambda d: 2.0 * d["treated"] + 1)
    for cov in ("unit", "code"):
        with pytest.raises(InsufficientDataError, match="not identified"):
            ancova(ents, covariates=[cov])


def test_ancova_without_residual_degrees_of_freedom_is_insufficient() -> None:
    ents = _entities(6, n_t=2, n_c=2)  # 4 entities, 4 parameters
    with pytest.raises(InsufficientDataError):
        ancova(ents, covariates=["tenure_years"])


def test_undefined_standard_error_is_never_reported_as_significant() -> None:
    from lopsnb.evaluation.methods import _from_normal

    with pytest.raises(InsufficientDataError, match="standard error"):
        _from_normal("ancova", 1.0, float("nan"), 5, 5, df=3.0)
    with pytest.raises(InsufficientDataError):
        _from_normal("estimates", 1.0, 0.5, 1, 0, df=0.0)
    ok = _from_normal("post_only", 2.0, 1.0, 5, 5)  # normal interval without df
    assert ok.ci_low == pytest.approx(2.0 - stats.norm.ppf(0.975), abs=1e-12) and "df" not in ok.details


def test_post_only_and_ancova_need_two_per_group() -> None:
    ents = _entities(4, n_t=1, n_c=10)
    with pytest.raises(InsufficientDataError):
        post_only(ents)
    with pytest.raises(InsufficientDataError):
        ancova(_entities(4, n_t=5, n_c=1))


# --------------------------------------------------------------------------- twfe / did


def _sm_twfe(obs: pd.DataFrame):
    data = obs.assign(tp=(obs["treated"] & obs["post"]).astype(float))
    return smf.ols("value ~ tp + C(entity_id) + C(pidx)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["entity_id"])[0]}
    )


def _fixest(obs: pd.DataFrame, regressors: str = "tp"):
    data = obs.assign(tp=(obs["treated"] & obs["post"]).astype(float))
    # fixef_rm="none": R fixest and Stata xtreg keep singleton entities (pyfixest drops them by default).
    return pf.feols(f"value ~ {regressors} | entity_id + pidx", data=data, vcov={"CRV1": "entity_id"}, fixef_rm="none")


@pytest.mark.parametrize(("n_per", "drop"), [(8, 0.0), (8, 0.25), (2, 0.0), (2, 0.1)], ids=["balanced", "unbalanced", "two-period", "two-period-unbalanced"])
def test_twfe_did_matches_fixest_cluster_convention(n_per: int, drop: float) -> None:
    obs = _panel(5, n_per=n_per, drop=drop)
    if drop:
        assert obs.groupby("entity_id").size().nunique() > 1  # really unbalanced
    e = twfe_did(obs)
    fit = _fixest(obs)
    assert e.estimate == pytest.approx(float(fit.coef()["tp"]), abs=TOL)
    assert e.std_error == pytest.approx(float(fit.se()["tp"]), rel=1e-6)
    g = obs["entity_id"].nunique()
    # lopsnb uses t(G-1) for the interval and p-value, as fixest does for CRV1
    _check_t_interval(e, g - 1)
    assert e.details["n_clusters"] == g and e.details["n_obs"] == len(obs)
    both = obs.groupby("entity_id").agg(treated=("treated", "first"), pre=("post", lambda s: (~s).any()), post=("post", "any"))
    both = both[both["pre"] & both["post"]]
    assert (e.n_treated, e.n_comparison) == (int(both["treated"].sum()), int((~both["treated"]).sum()))


def test_twfe_did_two_periods_is_not_sqrt2_too_wide() -> None:
    # Regression test (issue 13): counting the 2G entity dummies in K made the
    # two-period SE about sqrt(2) wider than xtreg, fe / fixest. Here the
    # dummy-counting statsmodels SE must be that much wider than lopsnb's.
    obs = _panel(9, n_ent=200, n_per=2)
    e = twfe_did(obs)
    n, g = len(obs), 200
    k_all, k_nested = 1 + g + 2 - 1, 1 + 2
    sm = _sm_twfe(obs)
    assert sm.bse["tp"] / e.std_error == pytest.approx(np.sqrt((n - k_nested) / (n - k_all)), rel=1e-9)
    assert sm.bse["tp"] / e.std_error == pytest.approx(np.sqrt(2), rel=0.02)


def test_twfe_did_counts_only_entities_with_both_windows() -> None:
    obs = _panel(13)
    # two participants lose their followup data, one comparison entity its baseline
    cut = (obs["entity_id"].isin(["E000", "E001"]) & obs["post"]) | ((obs["entity_id"] == "E020") & ~obs["post"])
    e = twfe_did(obs[~cut])
    assert (e.n_treated, e.n_comparison) == (10, 17)
    fit = _fixest(obs[~cut])
    assert e.estimate == pytest.approx(float(fit.coef()["tp"]), abs=TOL)
    assert e.std_error == pytest.approx(float(fit.se()["tp"]), rel=1e-6)


def test_twfe_did_without_followup_data_is_insufficient_not_a_precise_zero() -> None:
    # Regression test: treated x post was all zero, and the method returned
    # estimate 0, SE 0, CI [0, 0] (and ROI -100 %) instead of failing.
    obs = _panel(14)
    with pytest.raises(InsufficientDataError, match="0 participating"):
        twfe_did(obs[~(obs["treated"] & obs["post"])])
    with pytest.raises(InsufficientDataError, match="0 participating"):
        twfe_did(obs[~obs["post"]])


def test_twfe_several_regressors_matches_fixest_and_statsmodels() -> None:
    obs = _panel(6, drop=0.2)
    obs = obs.assign(x1=np.random.default_rng(0).normal(size=len(obs)), tp=(obs["treated"] & obs["post"]).astype(float))
    params, cov, info = twfe(obs, ["tp", "x1"])
    fit = _fixest(obs, "tp + x1")
    np.testing.assert_allclose(params, fit.coef()[["tp", "x1"]].to_numpy(), atol=TOL)
    np.testing.assert_allclose(cov, fit.vcov[np.ix_([0, 1], [0, 1])] if hasattr(fit, "vcov") and not callable(fit.vcov) else fit._vcov, rtol=1e-6, atol=1e-12)
    sm = smf.ols("value ~ tp + x1 + C(entity_id) + C(pidx)", data=obs).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(obs["entity_id"])[0]}
    )
    np.testing.assert_allclose(params, sm.params[["tp", "x1"]].to_numpy(), atol=TOL)
    n_per = obs["pidx"].nunique()
    assert info["k"] == 2 + n_per


@pytest.mark.parametrize("drop", [0.0, 0.25], ids=["balanced", "unbalanced"])
def test_twfe_did_matches_linearmodels_panelols(drop: float) -> None:
    obs = _panel(7, drop=drop)
    e = twfe_did(obs)
    data = obs.assign(tp=(obs["treated"] & obs["post"]).astype(float)).set_index(["entity_id", "pidx"])
    mod = PanelOLS(data["value"], data[["tp"]], entity_effects=True, time_effects=True)
    plain = mod.fit(cov_type="clustered", cluster_entity=True, debiased=False)
    assert e.estimate == pytest.approx(plain.params["tp"], abs=TOL)
    # linearmodels always scales by N/(N-K_all), K_all counting every absorbed
    # effect; lopsnb (fixest) uses G/(G-1)·(N-1)/(N-K), K = 1 + periods.
    n, g, t = len(obs), obs["entity_id"].nunique(), obs["pidx"].nunique()
    k_all, k = g + t - 1, 1 + t  # linearmodels counts the effects, not an intercept
    ratio = (g / (g - 1) * (n - 1) / (n - k)) / (n / (n - k_all))
    assert (e.std_error / plain.std_errors["tp"]) ** 2 == pytest.approx(ratio, rel=1e-9)


def test_twfe_did_recovers_effect_and_requires_comparison() -> None:
    obs = _panel(8, n_ent=200, effect=3.0)
    e = twfe_did(obs)
    assert e.ci_low < 3.0 < e.ci_high
    with pytest.raises(InsufficientDataError):
        twfe_did(obs[obs["treated"]])


# --------------------------------------------------------------------------- before_after


def test_before_after_matches_ttest_1samp() -> None:
    ents = _entities(9)
    ents.loc[ents.index[0], "followup"] = np.nan
    e = before_after(ents)
    tr = ents[ents["treated"]].dropna(subset=["baseline", "followup"])
    d = tr["followup"] - tr["baseline"]
    res = stats.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(0.95)
    assert e.estimate == pytest.approx(d.mean(), abs=TOL)
    assert e.std_error == pytest.approx(stats.sem(d), abs=TOL)
    assert e.ci_low == pytest.approx(ci.low, abs=TOL)
    assert e.ci_high == pytest.approx(ci.high, abs=TOL)
    assert e.p_value == pytest.approx(res.pvalue, abs=TOL)
    assert (e.n_treated, e.n_comparison) == (len(d), 0)
    assert e.strength == "weak"


# --------------------------------------------------------------------------- trend_line


def _series(seed: int = 10, n_pre: int = 12, n_post: int = 10, gap: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t_pre = np.arange(n_pre)
    t_post = np.arange(n_pre + gap, n_pre + gap + n_post)  # a skipped training period between windows
    t = np.r_[t_pre, t_post] + 24_000
    post = np.r_[np.zeros(n_pre, bool), np.ones(n_post, bool)]
    y = 5 - 0.05 * (t - 24_000) - 0.6 * post - 0.02 * post * (t - t_post[0] - 24_000) + rng.normal(0, 0.1, len(t))
    # shuffle rows: the method must sort by period itself
    return pd.DataFrame({"pidx": t, "y": y, "post": post}).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_newey_west_lag_rule() -> None:
    for n in (5, 22, 100, 300):
        assert newey_west_lags(n) == max(1, math.floor(4 * (n / 100) ** (2 / 9)))


@pytest.mark.parametrize("gap", [0, 1])
def test_trend_line_estimate_is_mean_gap_to_projected_pre_trend(gap: int) -> None:
    s = _series(gap=gap)
    e = trend_line(s, n_treated=12)
    pre, post = s[~s["post"]], s[s["post"]]
    coef = np.polyfit(pre["pidx"].to_numpy(float), pre["y"].to_numpy(float), 1)
    projected = np.polyval(coef, post["pidx"].to_numpy(float))
    assert e.estimate == pytest.approx(float(np.mean(post["y"] - projected)), abs=TOL)
    assert e.details["pre_slope"] == pytest.approx(coef[0], abs=TOL)


def test_trend_line_se_matches_statsmodels_hac_contrast() -> None:
    s = _series(11).sort_values("pidx").reset_index(drop=True)
    e = trend_line(s, n_treated=12, n_comparison=0)
    t0 = s.loc[s["post"], "pidx"].min()
    data = s.assign(t=s["pidx"].astype(float), p=s["post"].astype(float), tp=lambda d: (d["t"] - t0) * d["p"])
    lags = max(1, math.floor(4 * (len(s) / 100) ** (2 / 9)))
    fit = smf.ols("y ~ t + p + tp", data=data).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    mean_rel = float((data.loc[data["post"], "t"] - t0).mean())
    contrast = fit.t_test(np.array([[0.0, 0.0, 1.0, mean_rel]]))
    assert e.estimate == pytest.approx(float(np.squeeze(contrast.effect)), abs=TOL)
    assert e.std_error == pytest.approx(float(np.squeeze(contrast.sd)), abs=TOL)
    _check_t_interval(e, fit.df_resid)
    assert e.details["n_pre_periods"] == 12 and e.details["n_post_periods"] == 10


def test_trend_line_needs_three_pre_two_post() -> None:
    s = _series(12, n_pre=2, n_post=5)
    with pytest.raises(InsufficientDataError):
        trend_line(s, n_treated=5)
    s = _series(12, n_pre=5, n_post=1)
    with pytest.raises(InsufficientDataError):
        trend_line(s, n_treated=5)


# --------------------------------------------------------------------------- smd


def test_smd_hand_formula() -> None:
    a = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    b = pd.Series([2.0, 4.0, 6.0])
    # means 2.5 and 4; sample variances 5/3 and 4
    expected = (2.5 - 4.0) / math.sqrt((5 / 3 + 4.0) / 2)
    assert smd(a, b) == pytest.approx(expected, abs=1e-12)
    assert smd(b, a) == pytest.approx(-expected, abs=1e-12)
    assert math.isnan(smd(pd.Series([1.0]), b))
    assert smd(pd.Series([3.0, 3.0]), pd.Series([3.0, 3.0])) == 0.0
    assert smd(pd.Series([4.0, 4.0]), pd.Series([3.0, 3.0])) == math.inf


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.0, "satisfies"),
        (0.05, "satisfies"),
        (-0.05, "satisfies"),
        (0.0500001, "needs adjustment"),
        (-0.2, "needs adjustment"),
        (0.25, "needs adjustment"),
        (0.2500001, "fails"),
        (-0.9, "fails"),
        (math.inf, "unknown"),
        (math.nan, "unknown"),
    ],
)
def test_smd_band_boundaries(value: float, band: str) -> None:
    assert smd_band(value) == band


# --------------------------------------------------------------------------- properties

PROPS = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 10_000)


def _did_and_ancova(obs: pd.DataFrame) -> tuple[Estimate, Estimate, Estimate]:
    win = obs.assign(window=np.where(obs["post"], "followup", "baseline"))
    ents = win.pivot_table(index="entity_id", columns="window", values="value", aggfunc="mean")
    ents["treated"] = obs.groupby("entity_id")["treated"].first()
    return twfe_did(obs), ancova(ents), post_only(ents)


@PROPS
@given(seed=seeds, shift=st.floats(-1e4, 1e4, allow_nan=False), drop=st.sampled_from([0.0, 0.2]))
def test_adding_a_constant_changes_nothing(seed: int, shift: float, drop: float) -> None:
    obs = _panel(seed, n_ent=14, n_per=6, drop=drop)
    base = _did_and_ancova(obs)
    moved = _did_and_ancova(obs.assign(value=obs["value"] + shift))
    for a, b in zip(base[:2], moved[:2], strict=True):  # did and ancova
        assert b.estimate == pytest.approx(a.estimate, abs=1e-6)
        assert b.std_error == pytest.approx(a.std_error, abs=1e-6)


@PROPS
@given(seed=seeds, drop=st.sampled_from([0.0, 0.2]))
def test_swapping_groups_flips_the_sign(seed: int, drop: float) -> None:
    obs = _panel(seed, n_ent=14, n_per=6, drop=drop)
    base = _did_and_ancova(obs)
    swapped = _did_and_ancova(obs.assign(treated=~obs["treated"]))
    for a, b in zip(base, swapped, strict=True):  # did, ancova, post_only
        assert b.estimate == pytest.approx(-a.estimate, abs=1e-6)
        assert b.std_error == pytest.approx(a.std_error, abs=1e-6)
        assert (b.n_treated, b.n_comparison) == (a.n_comparison, a.n_treated)


@PROPS
@given(seed=seeds, c=st.floats(0.01, 1000.0), drop=st.sampled_from([0.0, 0.2]))
def test_scaling_outcomes_scales_estimates_and_errors(seed: int, c: float, drop: float) -> None:
    obs = _panel(seed, n_ent=14, n_per=6, drop=drop)
    base = _did_and_ancova(obs)
    scaled = _did_and_ancova(obs.assign(value=obs["value"] * c))
    for a, b in zip(base, scaled, strict=True):
        assert b.estimate == pytest.approx(c * a.estimate, rel=1e-6, abs=1e-9)
        assert b.std_error == pytest.approx(c * a.std_error, rel=1e-6, abs=1e-9)
        assert b.p_value == pytest.approx(a.p_value, abs=1e-6)
