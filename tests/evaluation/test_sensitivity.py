"""Sensitivity analysis: published examples and independent implementations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.regression.linear_model import OLS

from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation import sensitivity as sens

DATA = Path(__file__).resolve().parent / "data"


# --------------------------------------------------------------------------- Cinelli & Hazlett (Darfur)


@pytest.fixture(scope="module")
def darfur() -> tuple[np.ndarray, np.ndarray, dict[str, list[int]]]:
    d = pd.read_csv(DATA / "darfur.csv")
    covs = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female"]
    villages = pd.get_dummies(d["village"], drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(d)), d["directlyharmed"].to_numpy(float), d[covs].to_numpy(float), villages.to_numpy()])
    return d["peacefactor"].to_numpy(float), X, {"female": [2 + covs.index("female")]}


@pytest.fixture(scope="module")
def darfur_out(darfur) -> dict:
    y, X, bench = darfur
    return sens.regression_sensitivity(y, X, benchmarks=bench)


def test_darfur_matches_published_sensemakr(darfur_out) -> None:
    # Cinelli & Hazlett (2020), Table 1 / sensemakr tests/testthat/test-02-darfur.R:
    # sensemakr(lm(peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted
    #   + hhsize_darfur + female + village, data = darfur), treatment = "directlyharmed",
    #   benchmark_covariates = "female", kd = 1:3)
    # -> dof 783, r2yd.x 0.02187, rv_q 0.13878, rv_qa 0.07626 (published 2.2%, 13.9%, 7.6%).
    out = darfur_out
    assert out["dof"] == 783
    assert out["partial_r2"] == pytest.approx(0.02187, abs=1e-5)
    assert out["robustness_value"] == pytest.approx(0.13878, abs=1e-5)
    assert out["robustness_value_alpha"] == pytest.approx(0.07626, abs=1e-5)
    # Same test file, check_bounds (1x, 2x, 3x female):
    ref = {
        "r2dz_x": [0.00916428667504862, 0.0183285733500972, 0.0274928600251459],
        "r2yz_dx": [0.12464092303637, 0.249324064199975, 0.374050471038094],
        "adjusted_estimate": [0.0752202712144491, 0.0529151723844518, 0.0303960234641548],
        "adjusted_se": [0.0218733277437572, 0.0203500620779637, 0.0186700648170924],
        "adjusted_t": [3.43890386024675, 2.60024623913809, 1.62806202131271],
        "adjusted_ci_low": [0.032282966, 0.012968035, -0.006253282],
        "adjusted_ci_high": [0.11815758, 0.09286231, 0.06704533],
    }
    rows = out["bounds"]
    assert [r["kd"] for r in rows] == [1.0, 2.0, 3.0]
    for key, values in ref.items():
        assert [r[key] for r in rows] == pytest.approx(values, abs=1e-8), key
    assert [r["explains_away"] for r in rows] == [False, False, True]


def test_darfur_against_pysensemakr_and_statsmodels(darfur, darfur_out) -> None:
    # Independent implementation on the same data: PySensemakr's numeric functions and
    # partial R2 from the statsmodels t-statistics (our bounds use residual sums of squares).
    pysm = pytest.importorskip("sensemakr")
    from sensemakr import sensitivity_bounds, sensitivity_statistics

    y, X, bench = darfur
    out = darfur_out
    fit = OLS(y, X).fit()
    t, dof = float(fit.tvalues[1]), float(fit.df_resid)
    assert out["t_statistic"] == pytest.approx(t, rel=1e-12)
    # alpha = 1 makes the critical t zero: RV_q without the significance adjustment.
    rv_q = float(np.asarray(sensitivity_statistics.robustness_value(t_statistic=t, dof=dof, q=1, alpha=1.0)).ravel()[0])
    assert out["robustness_value"] == pytest.approx(rv_q, abs=1e-10)
    rv = float(np.asarray(sensitivity_statistics.robustness_value(t_statistic=t, dof=dof, q=1, alpha=0.05)).ravel()[0])
    assert out["robustness_value_alpha"] == pytest.approx(rv, abs=1e-10)
    t_fem = float(fit.tvalues[bench["female"][0]])
    assert out["bounds"][0]["r2yxj_dx"] == pytest.approx(t_fem**2 / (t_fem**2 + dof), rel=1e-9)
    d_fit = OLS(X[:, 1], np.delete(X, 1, axis=1)).fit()
    t_d = float(d_fit.tvalues[bench["female"][0] - 1])
    r2dxj = t_d**2 / (t_d**2 + d_fit.df_resid)
    assert out["bounds"][0]["r2dxj_x"] == pytest.approx(r2dxj, rel=1e-9)
    ref = sensitivity_bounds.ovb_partial_r2_bound(r2dxj_x=r2dxj, r2yxj_dx=t_fem**2 / (t_fem**2 + dof), kd=[1, 2, 3])
    assert [r["r2dz_x"] for r in out["bounds"]] == pytest.approx(list(ref["r2dz_x"]), rel=1e-9)
    assert [r["r2yz_dx"] for r in out["bounds"]] == pytest.approx(list(ref["r2yz_dx"]), rel=1e-9)
    assert pysm is not None


def test_robustness_value_branches() -> None:
    # Not significant: RV_alpha is 0; huge t: the extreme robustness value applies.
    assert sens.robustness_value(1.0, 100, alpha=0.05) == 0.0
    t, dof = 40.0, 50
    f, fc = t / np.sqrt(dof), stats.t.ppf(0.975, dof - 1) / np.sqrt(dof - 1)
    assert f > 1 / fc
    assert sens.robustness_value(t, dof, alpha=0.05) == pytest.approx((f**2 - fc**2) / (1 + f**2), rel=1e-12)
    # Binding case equals 0.5 (sqrt(f^4 + 4 f^2) - f^2).
    f1 = 2.0 / np.sqrt(100)
    assert sens.robustness_value(2.0, 100) == pytest.approx(0.5 * (np.sqrt(f1**4 + 4 * f1**2) - f1**2), rel=1e-12)
    with pytest.raises(InsufficientDataError):
        sens.robustness_value(2.0, 1)
    assert sens.ovb_partial_r2_bound(0.6, 0.1, kd=3) is None


# --------------------------------------------------------------------------- Roth (2022) pretrends


# He & Wang (2017) event study shipped with the R package pretrends
# (data/HeAndWangResults.rda, github.com/jonathandroth/pretrends), tVec = -4, -3, -2, 0, 1, 2, 3,
# referencePeriod = -1.
HW_BETA = np.array([0.06670314818620682, -0.0077017922885716, -0.03076905384659767, 0.08403065800666809,
                    0.2424418181180954, 0.21987898647785187, 0.19109253585338593])
HW_SIGMA = np.array([
    [0.00890657119452953, 0.00448831357061863, 0.00145870249252766, 0.00121576886158437, 0.00203276448883116, 0.00132250145543367, 0.00196177279576659],
    [0.00448831357061863, 0.00593691691756248, 0.00275007914751768, 0.00135058583691716, 0.00143154594115913, 0.00120677915401757, 0.00138471578247845],
    [0.00145870249252766, 0.00275007914751768, 0.00303862476721406, 0.00090561661636457, 0.00067912985105067, 0.00101676362100989, 0.00070901442086324],
    [0.00121576886158437, 0.00135058583691716, 0.00090561661636457, 0.0039247409440577, 0.00259611802175641, 0.00173261493910104, 0.00223455252125859],
    [0.00203276448883116, 0.00143154594115913, 0.00067912985105067, 0.00259611802175641, 0.0080658970400691, 0.00587537512183189, 0.00374143593944609],
    [0.00132250145543367, 0.00120677915401757, 0.00101676362100989, 0.00173261493910104, 0.00587537512183189, 0.00788157898932695, 0.00365070952102542],
    [0.00196177279576659, 0.00138471578247845, 0.00070901442086324, 0.00223455252125859, 0.00374143593944609, 0.00365070952102542, 0.00978842657059431],
])


def test_slope_for_power_matches_pretrends_readme() -> None:
    # pretrends README: slope_for_power(sigma = HeAndWangResults$sigma, targetPower = 0.5,
    #   tVec = HeAndWangResults$tVec, referencePeriod = -1) -> 0.05205871
    rel = np.array([-4, -3, -2, 0, 1, 2, 3]) - (-1)
    slope = sens.slope_for_power(HW_SIGMA[:3, :3], rel[:3], power=0.5)
    assert slope == pytest.approx(0.05205871, abs=2e-5)  # mvtnorm::pmvnorm is itself quasi-Monte Carlo
    out = sens.pretrend_power(HW_BETA, HW_SIGMA, rel)
    assert out["slope_50"] == pytest.approx(slope, rel=1e-9)
    assert out["slope_80"] > out["slope_50"]
    assert out["bias_first_post_50"] == pytest.approx(out["slope_50"] * 1.0)


def test_power_one_pre_period_is_exact_normal() -> None:
    # Independent closed form: with one pre-period the power is 1 - [Phi(c - m/s) - Phi(-c - m/s)].
    s = 0.3
    slope = sens.slope_for_power(np.array([[s**2]]), [-2], power=0.8)
    m = 2 * slope / s
    c = stats.norm.ppf(0.975)
    assert 1 - (stats.norm.cdf(c - m) - stats.norm.cdf(-c - m)) == pytest.approx(0.8, abs=1e-10)
    # Monte Carlo check of the multivariate case (independent of Genz integration).
    rng = np.random.default_rng(1)
    draws = rng.multivariate_normal(np.zeros(3), HW_SIGMA[:3, :3], size=400_000)
    slope50 = sens.slope_for_power(HW_SIGMA[:3, :3], [-3, -2, -1], power=0.5)
    mean = slope50 * np.array([-3, -2, -1])
    ub = 1.959963984540054 * np.sqrt(np.diag(HW_SIGMA[:3, :3]))
    rejected = np.any(np.abs(draws + mean) > ub, axis=1).mean()
    assert rejected == pytest.approx(0.5, abs=0.004)


# --------------------------------------------------------------------------- event studies


def _staggered_panel(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, periods = 150, 8
    coh = rng.choice(np.array([3.0, 5.0, np.nan]), size=n)
    ent, per = np.repeat(np.arange(n), periods), np.tile(np.arange(periods), n)
    g = coh[ent]
    y = rng.normal(size=n)[ent] + 0.1 * per + np.where(~np.isnan(g) & (per >= g), 1.0, 0.0) + rng.normal(size=n * periods)
    return pd.DataFrame({"entity_id": ent, "pidx": per, "cohort": g, "value": y})


@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_universal_event_study_matches_differences(control: str) -> None:
    # Independent implementation: differences.ATTgt(base_period="universal").aggregate("event").
    import warnings

    from differences import ATTgt

    df = _staggered_panel()
    rel, beta, sigma = sens.universal_event_study(df, control_group=control)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(data=df.rename(columns={"pidx": "period"}).set_index(["entity_id", "period"]), cohort_column="cohort",
                      base_period="universal")
        model.fit(formula="value", est_method="reg", control_group=control, progress_bar=False)
        ev = model.aggregate("event")
    ev.columns = ev.columns.get_level_values(-1)
    ev = ev.drop(index=-1, errors="ignore")
    np.testing.assert_array_equal(rel - 1, ev.index.to_numpy())
    np.testing.assert_allclose(beta, ev["ATT"].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(np.sqrt(np.diag(sigma)), ev["std_error"].to_numpy(), atol=1e-8, rtol=0)


def test_twfe_event_study_matches_statsmodels_dummies() -> None:
    # Independent implementation: OLS with entity and period dummies, cov_type="cluster".
    df = _staggered_panel().assign(treated=lambda d: d["cohort"].notna())
    df = df[df["cohort"].isna() | (df["cohort"] == 5.0)].copy()
    df["window"] = np.where(df["pidx"] < 5, "baseline", "followup")
    rel, beta, sigma = sens.twfe_event_study(df)
    assert list(rel) == [-4, -3, -2, -1, 1, 2, 3]
    periods = [0, 1, 2, 3, 5, 6, 7]
    cols = np.column_stack([((df["pidx"] == p) & df["treated"]).to_numpy(float) for p in periods])
    X = np.column_stack([cols, pd.get_dummies(df["entity_id"], dtype=float).to_numpy(),
                         pd.get_dummies(df["pidx"], drop_first=True, dtype=float).to_numpy()])
    fit = OLS(df["value"].to_numpy(), X).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(df["entity_id"])[0]})
    np.testing.assert_allclose(beta, fit.params[:7], atol=1e-9)
    # lopsnb's TWFE follows fixest / xtreg, fe: the entity effects, nested in the clusters, are not
    # counted in the small-sample factor (7 event-time coefficients + the free period effects are).
    n, k_all = X.shape
    k_fixest = 7 + (df["pidx"].nunique() - 1) + 1  # + the intercept, as fixest counts it
    np.testing.assert_allclose(sigma, fit.cov_params()[:7, :7] * (n - k_all) / (n - k_fixest), atol=1e-10)
    with pytest.raises(InsufficientDataError, match="at least 2"):
        sens.twfe_event_study(df.assign(window=np.where(df["pidx"] == 4, "baseline", np.where(df["pidx"] > 4, "followup", None))))


def _ehec_event_study() -> tuple[np.ndarray, np.ndarray]:
    """fixest::feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster = "stfips") on the HonestDiD README sample."""
    d = pd.read_csv(DATA / "ehec_data.csv")
    d = d[(d["year"] < 2016) & (d["yexp2"].isna() | (d["yexp2"] != 2015))].copy()
    treated = (d["yexp2"] == 2014).to_numpy()
    years = [y for y in sorted(d["year"].unique()) if y != 2013]
    es = np.column_stack([((d["year"] == y).to_numpy() & treated).astype(float) for y in years])
    X = np.column_stack([es, pd.get_dummies(d["stfips"], dtype=float).to_numpy(),
                         pd.get_dummies(d["year"], drop_first=True, dtype=float).to_numpy()])
    fit = OLS(d["dins"].to_numpy(float), X).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d["stfips"])[0]})
    n, k_all = X.shape
    # fixest's small-sample factor counts only the fixed effects not nested in the clusters:
    # 7 event-study coefficients + 7 free year effects (the state effects are nested in stfips).
    k_fixest = len(years) + (len(years) + 1 - 1)
    sigma = fit.cov_params()[: len(years), : len(years)] * (n - k_all) / (n - k_fixest)
    return fit.params[: len(years)], sigma


def test_honest_did_matches_honestdid_readme() -> None:
    # HonestDiD README, "Sensitivity analysis using relative magnitudes restrictions":
    # createSensitivityResults_relativeMagnitudes(betahat, sigma, numPrePeriods = 5,
    #   numPostPeriods = 2, Mbarvec = seq(0.5, 2, by = 0.5))  (C-LF, l_vec = first post period)
    #   Mbar 0.5: [0.0241, 0.0673]; 1: [0.0171, 0.0720]; 1.5: [0.00859, 0.0796]; 2: [-0.00107, 0.0883]
    # Tolerance: the test inversion uses a 1000-point grid over +-20 SE (step 3.7e-4 here).
    beta, sigma = _ehec_event_study()
    assert beta[5] == pytest.approx(0.0464, abs=5e-5)  # README event-study plot / fixest coefficient year::2014
    out = sens.honest_did(beta, sigma, n_pre=5, n_post=2, mbar=(0.5, 2.0))
    grid = out["grid"].set_index("mbar")
    assert grid.loc[0.5, "ci_low"] == pytest.approx(0.0241, abs=8e-4)
    assert grid.loc[0.5, "ci_high"] == pytest.approx(0.0673, abs=8e-4)
    assert grid.loc[2.0, "ci_low"] == pytest.approx(-0.00107, abs=8e-4)
    assert grid.loc[2.0, "ci_high"] == pytest.approx(0.0883, abs=8e-4)
    assert grid.loc[2.0, "ci_low"] < 0 < grid.loc[0.5, "ci_low"]
    assert out["breakdown_mbar"] == 0.5
    assert out["estimate"] == pytest.approx(beta[5])


def test_breakdown_rule() -> None:
    grid = pd.DataFrame({"mbar": [0.0, 0.5, 1.0], "ci_low": [0.1, 0.01, -0.02], "ci_high": [0.3, 0.4, 0.5]})
    assert sens._breakdown(grid) == 0.5
    assert sens._breakdown(grid.assign(ci_low=[-0.1, 0.1, 0.1])) is None
    assert sens._breakdown(grid.assign(ci_low=[0.1, 0.1, 0.1])) == 1.0
    neg = pd.DataFrame({"mbar": [0.0, 1.0], "ci_low": [-0.5, -0.6], "ci_high": [-0.1, 0.01]})
    assert sens._breakdown(neg) == 0.0
    with pytest.raises(InsufficientDataError):
        sens.honest_did(np.array([0.1]), np.array([[0.01]]), n_pre=0, n_post=1)


# --------------------------------------------------------------------------- evidence rule (boundaries)

from lopsnb.evaluation.evidence import grade_evidence  # noqa: E402
from lopsnb.evaluation.methods import ASSUMPTIONS, METHOD_STRENGTH, Estimate  # noqa: E402

CLEAN = {"baseline_smd": 0.01, "pre_trend_p": 0.5, "participants": 100, "with_outcome": 100, "break_even_effect": 5.0}


def _est(method: str = "did", estimate: float = 10.0, half: float = 2.0, n: int = 100) -> Estimate:
    return Estimate(method=method, estimate=estimate, std_error=half / 1.96, ci_low=estimate - half, ci_high=estimate + half,
                    p_value=0.001, n_treated=n, n_comparison=n, strength=METHOD_STRENGTH[method], assumptions=ASSUMPTIONS.get(method, ()))


@pytest.mark.parametrize(("mbar", "grade", "why"), [
    (1.0, "strong", "breakdown M̄"),
    (0.5, "moderate", "breakdown M̄ 0.5 < 1"),
    (None, "moderate", "its robust interval includes zero even with exactly parallel trends"),  # no breakdown value exists
])
def test_grade_did_breakdown_threshold(mbar: float | None, grade: str, why: str) -> None:
    g = grade_evidence(_est(), design="did", sensitivity={"honest_did": {"breakdown_mbar": mbar}}, **CLEAN)
    assert g.grade == grade
    assert any(why in r for r in [*g.reasons, *g.caveats]), (g.reasons, g.caveats)


@pytest.mark.parametrize(("survives", "grade"), [(True, "strong"), (False, "moderate")])
def test_grade_did_pretrend_power_rule(survives: bool, grade: str) -> None:
    g = grade_evidence(_est(), design="did", sensitivity={"honest_did": None, "pretrend_power": {"survives_80": survives}}, **CLEAN)
    assert g.grade == grade


def test_grade_did_without_pre_periods_is_not_strong() -> None:
    g = grade_evidence(_est(), design="did", sensitivity={"honest_did": None, "pretrend_power": None}, **CLEAN)
    assert g.grade == "moderate" and any("fewer than 2 baseline periods" in r for r in g.reasons)


@pytest.mark.parametrize(("rv", "grade"), [(0.05, "strong"), (0.0499, "moderate"), (None, "moderate")])
def test_grade_ancova_robustness_value_threshold(rv: float | None, grade: str) -> None:
    sens_d = {"regression": {"robustness_value_alpha": rv} if rv is not None else None}
    assert grade_evidence(_est("ancova"), design="ancova", sensitivity=sens_d, **CLEAN).grade == grade


def test_grade_without_sensitivity_is_unchanged() -> None:
    assert grade_evidence(_est(), design="did", **CLEAN).grade == "strong"


# --------------------------------------------------------------------------- break-even bias


def test_break_even_bias_zeroes_conservative_roi() -> None:
    # Independent check: phillips_roi on the shifted estimate gives a conservative ROI of 0.
    from lopsnb.evaluation.roi import phillips_roi

    costs = pd.DataFrame({"category": ["delivery"], "amount": [50_000.0], "share": [1.0]})
    kw = {"direction": "increase", "value_per_unit": 20.0, "periods_per_year": 12, "horizon_years": 1.0, "n_entities": 40,
          "costs": costs, "isolation_method": "test", "value_range": (15.0, 25.0)}
    est = _est("did", estimate=10.0, half=3.0, n=40)
    roi = phillips_roi(effect=est.estimate, std_error=est.std_error, ci_low=est.ci_low, ci_high=est.ci_high, **kw)
    out = sens.break_even_bias(est, roi, value_per_unit=20.0, periods_per_year=12, horizon_years=1.0, direction="increase",
                               value_range=(15.0, 25.0))
    b = out["bias"]
    assert b > 0 and out["pct_of_effect"] == pytest.approx(b / 10.0 * 100)
    shifted = phillips_roi(effect=est.estimate - b, std_error=est.std_error, ci_low=est.ci_low - b, ci_high=est.ci_high - b, **kw)
    assert shifted.conservative_roi_pct == pytest.approx(0.0, abs=1e-9)
    point = phillips_roi(effect=est.estimate - out["bias_point"], std_error=est.std_error, ci_low=est.ci_low - out["bias_point"],
                         ci_high=est.ci_high - out["bias_point"], **kw)
    assert point.roi_pct == pytest.approx(0.0, abs=1e-9)
    # A decrease outcome: the bias is measured in the favourable (negative) direction.
    kw_d = dict(kw, direction="decrease", value_range=None)
    est_d = _est("did", estimate=-10.0, half=3.0, n=40)
    roi_d = phillips_roi(effect=-10.0, std_error=est_d.std_error, ci_low=-13.0, ci_high=-7.0, **kw_d)
    out_d = sens.break_even_bias(est_d, roi_d, value_per_unit=20.0, periods_per_year=12, horizon_years=1.0, direction="decrease")
    b_d = out_d["bias"]
    shifted_d = phillips_roi(effect=-10.0 + b_d, std_error=est_d.std_error, ci_low=-13.0 + b_d, ci_high=-7.0 + b_d, **kw_d)
    assert shifted_d.conservative_roi_pct == pytest.approx(0.0, abs=1e-9)


def test_regression_design_groups_text_covariates() -> None:
    # A text covariate's dummies form one benchmark; its partial R2 equals the F-test form
    # F·df1 / (F·df1 + dof) (sensemakr::group_partial_r2) from statsmodels.
    rng = np.random.default_rng(5)
    n = 120
    ent = pd.DataFrame({"treated": rng.random(n) < 0.4, "baseline": rng.normal(size=n),
                        "region": rng.choice(["north", "south", "east"], size=n), "tenure": rng.normal(5, 2, size=n)})
    ent["followup"] = 0.5 * ent["treated"] + ent["baseline"] + 0.3 * (ent["region"] == "south") + 0.1 * ent["tenure"] + rng.normal(size=n)
    y, X, bench = sens._regression_design(ent, "ancova", ["region", "tenure"])
    assert list(bench) == ["baseline outcome", "region", "tenure"] and len(bench["region"]) == 2
    out = sens.regression_sensitivity(y, X, benchmarks=bench)
    fit = OLS(y, X).fit()
    R = np.zeros((2, X.shape[1]))
    R[0, bench["region"][0]] = R[1, bench["region"][1]] = 1
    f = float(np.squeeze(fit.f_test(R).fvalue))
    row = next(r for r in out["bounds"] if r["benchmark"] == "region" and r["kd"] == 1.0)
    assert row["r2yxj_dx"] == pytest.approx(f * 2 / (f * 2 + fit.df_resid), rel=1e-9)
    assert out["estimate"] == pytest.approx(fit.params[1], rel=1e-12)
    y2, X2, bench2 = sens._regression_design(ent, "post_only", ["region"])
    assert X2.shape[1] == 2 and bench2 == {}


def test_batched_lf_cv_equals_moderndid_loop() -> None:
    # The one-LP least-favourable critical value must equal moderndid's per-draw loop (same draws) on a
    # real C-LF polyhedron: the HonestDiD README event study, Δ^RM_{s=-1,+}(1) and Δ^RM_{s=-3,-}(2).
    from moderndid.didhonest import arp_nuisance as an
    from moderndid.didhonest.delta.rm.rm import _create_relative_magnitudes_constraint_matrix as rm_matrix

    from lopsnb.evaluation.honest_fast import batched_lf_cv

    beta, sigma = _ehec_event_study()
    l_vec = np.array([1.0, 0.0])
    for s, positive, mbar in ((-1, True, 1.0), (-3, False, 2.0)):
        A = rm_matrix(5, 2, m_bar=mbar, s=s, max_positive=positive)
        x_t = (A[:, 5:] @ np.linalg.inv(an._construct_gamma(l_vec)))[:, 1:]
        rows = np.array([i for i in range(A.shape[0]) if np.any(A[i, 5:] != 0)])
        expected = an.compute_least_favorable_cv(x_t, A @ sigma @ A.T, 0.005, rows_for_arp=rows)
        assert batched_lf_cv(x_t, A @ sigma @ A.T, 0.005, rows_for_arp=rows) == pytest.approx(expected, abs=1e-7)
    # The patch is scoped: moderndid's own function is back after the block.
    from lopsnb.evaluation.honest_fast import fast_lf_cv

    with fast_lf_cv() as module:
        assert module.compute_least_favorable_cv is batched_lf_cv
    assert an.compute_least_favorable_cv is not batched_lf_cv


def test_evaluate_did_has_honest_did_by_default(make_workspace) -> None:
    # End to end: a did program with 5 baseline months (4 pre-period coefficients) and 2 followup months.
    from conftest import PROGRAM_YML

    from lopsnb.evaluation.evaluate import evaluate

    rng = np.random.default_rng(7)
    months = pd.date_range("2025-10-01", "2026-05-01", freq="MS").strftime("%Y-%m-%d")
    kpis = pd.DataFrame([{"entity_id": f"P{i:02d}", "metric": "revenue", "period": mo,
                          "value": 100 + i + m + rng.normal(0, 1) + (10 if i < 3 and mo >= "2026-04-01" else 0)}
                         for i in range(10) for m, mo in enumerate(months)])
    root = make_workspace(kpis=kpis, program=PROGRAM_YML.replace("start: 2026-01-01", "start: 2025-10-01"))
    sens_out = evaluate(root, "demo").impact.sensitivity.to_dict()
    hd = sens_out["honest_did"]
    assert hd is not None, sens_out["notes"]
    assert hd["n_pre"] == 4 and hd["n_post"] == 2
    assert [row["mbar"] for row in hd["grid"]] == list(sens.MBAR_GRID)
    assert all(row["ci_low"] <= hd["estimate"] <= row["ci_high"] for row in hd["grid"])
    # A 10-unit effect with unit noise: significant under exact parallel trends.
    assert hd["grid"][0]["ci_low"] > 0 and hd["breakdown_mbar"] is not None
    assert hd["breakdown_mbar"] == sens._breakdown(pd.DataFrame(hd["grid"]))
    off = evaluate(root, "demo", robust_did=False).impact.sensitivity.to_dict()
    assert off["honest_did"] is None and any("robust_did=False" in n for n in off["notes"])
    assert off["pretrend_power"] is not None


def test_honest_did_runtime_guard_reduces_the_event_study_with_a_note(make_workspace, monkeypatch) -> None:
    from conftest import PROGRAM_YML

    from lopsnb.evaluation.evaluate import evaluate

    rng = np.random.default_rng(3)
    months = pd.date_range("2025-11-01", "2026-05-01", freq="MS").strftime("%Y-%m-%d")
    kpis = pd.DataFrame([{"entity_id": f"P{i:02d}", "metric": "revenue", "period": mo, "value": 100 + i + rng.normal(0, 1)}
                         for i in range(10) for mo in months])
    root = make_workspace(kpis=kpis, program=PROGRAM_YML.replace("start: 2026-01-01", "start: 2025-11-01"))
    monkeypatch.setattr(sens, "HONEST_MAX_WORK", 2 * (3 - 1) * 2 - 1)  # 3 pre, 2 post coefficients: just above
    out = evaluate(root, "demo").impact.sensitivity.to_dict()
    hd = out["honest_did"]
    assert hd is not None and out["pretrend_power"] is not None
    assert (hd["n_pre"], hd["n_post"]) == (2, 2)  # 7 // (2 x 2) + 1 = 2 most recent pre-period coefficients
    assert "most recent 2 of 3 pre-period" in hd["reduced"] and "= 8 > HONEST_MAX_WORK = 7" in hd["reduced"]
    assert hd["reduced"] in out["notes"]


def test_honest_budget_keeps_first_two_post_and_latest_pre(monkeypatch) -> None:
    beta = np.arange(10.0)  # 6 pre (0..5, oldest first), 4 post (6..9)
    sigma = np.diag(beta + 1)
    same = sens._within_honest_budget(beta, sigma, 6, 4)
    assert same[4] is None and same[2:4] == (6, 4)  # 2 x 5 x 4 = 40 <= 60: untouched
    monkeypatch.setattr(sens, "HONEST_MAX_WORK", 12)
    b, s, n_pre, n_post, note = sens._within_honest_budget(beta, sigma, 6, 4)
    assert (n_pre, n_post) == (4, 2) and list(b) == [2, 3, 4, 5, 6, 7] and list(np.diag(s)) == [3, 4, 5, 6, 7, 8]
    assert "first 2 of 4 post-period" in note and "most recent 4 of 6 pre-period" in note
    b, _, n_pre, n_post, note = sens._within_honest_budget(beta, sigma, 4, 4)  # 2 x 3 x 2 = 12: posts only
    assert (n_pre, n_post) == (4, 2) and list(b) == [0, 1, 2, 3, 4, 5] and "pre-period coefficients (M" not in note


def test_dropping_later_post_coefficients_keeps_the_first_period_interval() -> None:
    # Why the runtime guard may drop later post-period coefficients: under relative magnitudes the later
    # post-period effects are free, so the interval of the first one is unchanged up to the inversion grid.
    k = np.arange(6)
    sigma = 0.01**2 * (0.5 ** np.abs(k[:, None] - k[None, :]))
    beta = np.array([0.003, -0.004, 0.002, 0.05, 0.045, 0.06])  # 3 pre, 3 post
    full = sens.honest_did(beta, sigma, n_pre=3, n_post=3, mbar=(1.0,), grid_points=400)["grid"]
    first_two = sens.honest_did(beta[:5], sigma[:5, :5], n_pre=3, n_post=2, mbar=(1.0,), grid_points=400)["grid"]
    step = 40 * 0.01 / 400  # the grid spans about +-20 SE of the first post-period coefficient
    assert np.allclose(full[["ci_low", "ci_high"]], first_two[["ci_low", "ci_high"]], atol=2 * step)
    assert full.loc[0, "ci_low"] > 0.0  # a non-trivial interval: the comparison can fail
