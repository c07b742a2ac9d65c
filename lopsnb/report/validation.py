"""Validation cases: lopsnb's estimators against published examples.

Every case names a published number (paper table, package reference page or
the package's own test file), the tolerance its printed precision allows and
a function that computes the same quantity with lopsnb's public estimators on
the same public data. :func:`validation_frame` runs them all and returns one
tidy table; ``notebooks/validation.ipynb`` shows it, ``make validate``
renders it into ``docs/validation.md`` / ``docs/validation.html``, and
``tests/report/test_validation.py`` asserts every case is within tolerance,
so the page and the tests cannot drift apart.

Conventions
-----------
* ``difference = lopsnb − published``; ``within_tolerance`` is
  ``|difference| <= tolerance``. Tolerances are half a unit of the last
  printed digit unless a note says otherwise (e.g. a bootstrap SE, or
  HonestDiD's test-inversion grid).
* ``interval_coverage``, where the source gives an interval (or an estimate
  with a standard error, from which the normal 95% interval is formed): the
  length of the intersection of the published and lopsnb's interval divided
  by the length of their union. 1 means the intervals are identical; it falls
  towards 0 as they move apart or differ in width.
* The data files are the ones the tests use: ``tests/data`` and
  ``tests/evaluation/data`` of a lopsnb checkout (see
  :func:`find_repository`); R did's ``mpdta`` comes with ``moderndid``. A case
  whose data is absent is returned with status ``"skipped (data not found)"``.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from datetime import datetime, timezone
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "DATA_FILES",
    "Value",
    "Case",
    "CASES",
    "STATUS_OK",
    "STATUS_OUTSIDE",
    "STATUS_SKIPPED",
    "find_repository",
    "interval_coverage",
    "validation_frame",
    "format_value",
    "to_markdown",
    "write_markdown",
    "render_page",
]

#: Data files the cases read, relative to the repository root.
DATA_FILES: dict[str, str] = {
    "nsw_cps_5000.csv": "tests/data/nsw_cps_5000.csv",
    "darfur.csv": "tests/evaluation/data/darfur.csv",
    "ehec_data.csv": "tests/evaluation/data/ehec_data.csv",
    "rossi.csv": "tests/data/rossi.csv",
}
#: Pseudo file name of R did's mpdta panel, shipped with moderndid.
MPDTA = "mpdta (moderndid.load_mpdta)"

STATUS_OK = "ok"
STATUS_OUTSIDE = "outside tolerance"
STATUS_SKIPPED = "skipped (data not found)"

Z95 = float(stats.norm.ppf(0.975))


@dataclass(kw_only=True, frozen=True)
class Value:
    """What lopsnb computed for a case: a number and, when comparable, its 95% interval."""

    value: float
    interval: tuple[float, float] | None = None


@dataclass(kw_only=True, frozen=True)
class Case:
    """One published number and how lopsnb reproduces it.

    Attributes
    ----------
    case : str
        The example (data set and method), e.g. ``"DRDID NSW-CPS"``.
    quantity : str
        The number within the example, e.g. ``"traditional DR DiD: ATT"``.
    source : str
        Citation: paper and table, or package, function and page/test file.
    published : float
        The published value as printed.
    tolerance : float
        Largest accepted ``|lopsnb − published|`` (absolute).
    compute : callable
        Takes the case :class:`_Inputs` and returns lopsnb's :class:`Value`.
    needs : tuple of str
        Data the case reads (keys of :data:`DATA_FILES` or :data:`MPDTA`).
    published_interval : tuple of float, optional
        The published 95% interval, when the source gives one.
    note : str
        Conventions needed to compare like with like.
    """

    case: str
    quantity: str
    source: str
    published: float
    tolerance: float
    compute: Callable[[_Inputs], Value]
    needs: tuple[str, ...] = ()
    published_interval: tuple[float, float] | None = None
    note: str = ""


# --------------------------------------------------------------------------- data and shared fits


def find_repository(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The lopsnb checkout holding the validation data, or None.

    Searched upwards from ``start`` (default: the working directory; a
    notebook run by nbmake or papermill from ``notebooks/`` finds its parent),
    then from the installed package (an editable install of a checkout).
    """
    here = Path(__file__).resolve().parents[2]
    for origin in ([Path(start).resolve()] if start is not None else [Path.cwd().resolve()]) + [here]:
        for folder in (origin, *origin.parents):
            if (folder / "tests" / "data").is_dir() and (folder / "lopsnb").is_dir():
                return folder
    return None


class _Inputs:
    """Loads each data set once and caches the fits several cases share."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._cache: dict[Any, Any] = {}

    def available(self, name: str) -> bool:
        if name == MPDTA:
            try:
                import moderndid  # noqa: F401
            except ImportError:
                return False
            return True
        return self.root is not None and (self.root / DATA_FILES[name]).is_file()

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def csv(self, name: str) -> pd.DataFrame:
        root = self.root
        if root is None:  # callers check available() first
            raise FileNotFoundError(f"{name}: no lopsnb checkout with {DATA_FILES[name]} was found")
        return self.cached(("csv", name), lambda: pd.read_csv(root / DATA_FILES[name]))


NSW_COVARIATES = ["age", "educ", "black", "married", "nodegree", "hisp", "re74"]


def _nsw_fit(inp: _Inputs, kind: str) -> Any:
    from lopsnb.evaluation.drdid import dr_did, ipw_did, reg_did

    def make() -> Any:
        df = inp.csv("nsw_cps_5000.csv")
        x = np.column_stack([np.ones(len(df)), df[NSW_COVARIATES].to_numpy(float)])
        dy = (df["re78"] - df["re75"]).to_numpy(float)
        d = df["experimental"].to_numpy(float)
        if kind in ("traditional", "improved"):
            return dr_did(dy, d, x, estimator=kind)  # type: ignore[arg-type]
        return ipw_did(dy, d, x) if kind == "ipw" else reg_did(dy, d, x)

    return inp.cached(("nsw", kind), make)


def _mpdta_cs(inp: _Inputs, control: str, covariates: tuple[str, ...]) -> Any:
    from lopsnb.evaluation.staggered import callaway_santanna

    def make() -> Any:
        import moderndid

        df = moderndid.load_mpdta()
        df = df.to_pandas() if hasattr(df, "to_pandas") else pd.DataFrame(df)
        df = df.assign(cohort=df["first.treat"].where(df["first.treat"] > 0))
        return callaway_santanna(df, entity="countyreal", period="year", outcome="lemp", cohort="cohort",
                                 covariates=list(covariates), control_group=control)

    return inp.cached(("mpdta", control, covariates), make)


DARFUR_COVARIATES = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female"]


def _darfur(inp: _Inputs) -> dict[str, Any]:
    from lopsnb.evaluation.sensitivity import regression_sensitivity

    def make() -> dict[str, Any]:
        d = inp.csv("darfur.csv")
        villages = pd.get_dummies(d["village"], drop_first=True, dtype=float)
        X = np.column_stack([np.ones(len(d)), d["directlyharmed"].to_numpy(float), d[DARFUR_COVARIATES].to_numpy(float),
                             villages.to_numpy()])
        bench = {"female": [2 + DARFUR_COVARIATES.index("female")]}
        return regression_sensitivity(d["peacefactor"].to_numpy(float), X, benchmarks=bench, kd=(1, 2, 3))

    return inp.cached("darfur", make)


def _ehec_event_study(inp: _Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from lopsnb.evaluation.sensitivity import twfe_event_study

    def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = inp.csv("ehec_data.csv")
        # The HonestDiD README sample: years before 2016, states expanding in 2014 vs never (by 2015).
        d = d[(d["year"] < 2016) & (d["yexp2"].isna() | (d["yexp2"] != 2015))]
        obs = pd.DataFrame({"entity_id": d["stfips"], "pidx": d["year"].astype(int), "value": d["dins"].astype(float),
                            "treated": (d["yexp2"] == 2014).to_numpy(),
                            "window": np.where(d["year"] <= 2013, "baseline", "followup")})
        return twfe_event_study(obs)

    return inp.cached("ehec", make)


def _honest(inp: _Inputs, mbar: float) -> tuple[float, float]:
    from lopsnb.evaluation.sensitivity import honest_did

    def make() -> pd.DataFrame:
        _, beta, sigma = _ehec_event_study(inp)
        return honest_did(beta, sigma, n_pre=5, n_post=2, mbar=HONEST_MBAR)["grid"].set_index("mbar")

    grid = inp.cached("honest", make)
    return float(grid.loc[mbar, "ci_low"]), float(grid.loc[mbar, "ci_high"])


def _normal_interval(estimate: float, se: float) -> tuple[float, float]:
    return (estimate - Z95 * se, estimate + Z95 * se)


# --------------------------------------------------------------------------- the cases

DRDID_SOURCE = ("Sant'Anna & Zhao (2020), J. Econometrics 219(1); R DRDID reference pages, examples of {fn} "
                "(NSW treated + 5000-unit CPS subsample, covX = age, educ, black, married, nodegree, hisp, re74)")
#: DRDID reference pages: lopsnb estimator -> (R function, label, ATT, SE).
DRDID_PUBLISHED: dict[str, tuple[str, str, float, float]] = {
    "traditional": ("drdid_panel", "locally efficient DR DiD (traditional)", -507.6113, 692.9738),
    "improved": ("drdid_imp_panel", "improved DR DiD (inverse probability tilting)", -615.2344, 683.2211),
    "ipw": ("std_ipw_did_panel", "standardized IPW DiD", -655.9068, 687.8493),
    "regression": ("reg_did_panel", "outcome-regression DiD", -1312.6766, 597.2834),
}
DRDID_SE_NOTE = ("published SE = sd(ψ)/√n (older DRDID release); lopsnb (and current DRDID) use sd(ψ)·√(n−1)/n, "
                 "so lopsnb's SE is shown × √(n/(n−1)) = × 1.0001")


def _drdid_cases() -> list[Case]:
    out: list[Case] = []
    for kind, (fn, label, att, se) in DRDID_PUBLISHED.items():
        src = DRDID_SOURCE.format(fn=fn)

        def est(inp: _Inputs, kind: str = kind) -> Value:
            fit = _nsw_fit(inp, kind)
            return Value(value=fit.estimate, interval=_normal_interval(fit.estimate, fit.std_error))

        def std(inp: _Inputs, kind: str = kind) -> Value:
            fit = _nsw_fit(inp, kind)
            n = fit.n_treated + fit.n_comparison
            return Value(value=fit.std_error * math.sqrt(n / (n - 1)))

        out.append(Case(case="DRDID NSW-CPS", quantity=f"{label}: ATT", source=src, published=att, tolerance=1e-4,
                        compute=est, needs=("nsw_cps_5000.csv",), published_interval=_normal_interval(att, se),
                        note="printed to 4 decimals; interval = ATT ± 1.96 SE"))
        out.append(Case(case="DRDID NSW-CPS", quantity=f"{label}: SE", source=src, published=se, tolerance=1e-4,
                        compute=std, needs=("nsw_cps_5000.csv",), note=DRDID_SE_NOTE))
    return out


ATTGT_SOURCE = ("Callaway & Sant'Anna (2021), J. Econometrics 225(2); R did reference page att_gt: att_gt(yname = \"lemp\", "
                "tname = \"year\", idname = \"countyreal\", gname = \"first.treat\", xformla = ~lpop, data = mpdta{extra})")
#: did reference page att_gt, xformla = ~lpop: ATT(g,t) for g, t in 2004..2007 (cohort-major order).
MPDTA_LPOP: dict[str, list[float]] = {
    "never_treated": [-0.0145, -0.0764, -0.1404, -0.1069, -0.0005, -0.0062, 0.0010, -0.0413, 0.0267, -0.0046, -0.0284, -0.0288],
    "not_yet_treated": [-0.0212, -0.0816, -0.1382, -0.1069, -0.0075, -0.0046, 0.0087, -0.0413, 0.0269, -0.0042, -0.0284, -0.0288],
}
MPDTA_CELLS = [(g, t) for g in (2004, 2006, 2007) for t in (2004, 2005, 2006, 2007)]


def _attgt_cases() -> list[Case]:
    out: list[Case] = []
    for control, values in MPDTA_LPOP.items():
        extra = "" if control == "never_treated" else ", control_group = \"notyettreated\""
        for (g, t), pub in zip(MPDTA_CELLS, values):

            def cell(inp: _Inputs, control: str = control, g: int = g, t: int = t) -> Value:
                gt = _mpdta_cs(inp, control, ("lpop",)).group_time
                row = gt[(gt["cohort"] == g) & (gt["period"] == t)]
                return Value(value=float(row["estimate"].iloc[0]))

            out.append(Case(case="did mpdta, xformla = ~lpop (doubly robust)", quantity=f"ATT({g}, {t}), {control.replace('_', ' ')}",
                            source=ATTGT_SOURCE.format(extra=extra), published=pub, tolerance=5e-5, compute=cell, needs=(MPDTA,),
                            note="printed to 4 decimals; published SEs are multiplier-bootstrap draws, not compared"))
    return out


AGGTE_SOURCE = ("Callaway & Sant'Anna (2021); R did reference page aggte: aggte(att_gt(yname = \"lemp\", tname = \"year\", "
                "idname = \"countyreal\", gname = \"first.treat\", xformla = NULL, data = mpdta), type = \"{typ}\")")
#: did reference page aggte (unconditional att_gt): type -> (overall ATT, bootstrap SE).
AGGTE_PUBLISHED: dict[str, tuple[float, float]] = {
    "simple": (-0.0400, 0.0119), "dynamic": (-0.0772, 0.0208), "group": (-0.0310, 0.0126), "calendar": (-0.0417, 0.0175),
}
AGGTE_GROUPS = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
BOOT_NOTE = "published SE is a multiplier-bootstrap draw (random): tolerance 15%; lopsnb's is the analytic influence-function SE"


def _aggte_cases() -> list[Case]:
    out: list[Case] = []
    for typ, (att, se) in AGGTE_PUBLISHED.items():

        def overall(inp: _Inputs, typ: str = typ) -> Value:
            o = _mpdta_cs(inp, "never_treated", ()).aggregations[typ]["overall"]
            return Value(value=o["estimate"], interval=(o["ci_low"], o["ci_high"]))

        def std(inp: _Inputs, typ: str = typ) -> Value:
            return Value(value=_mpdta_cs(inp, "never_treated", ()).aggregations[typ]["overall"]["std_error"])

        src = AGGTE_SOURCE.format(typ=typ)
        out.append(Case(case="did mpdta aggregations (unconditional)", quantity=f"{typ} aggregation: overall ATT", source=src,
                        published=att, tolerance=5e-5, compute=overall, needs=(MPDTA,), published_interval=_normal_interval(att, se),
                        note="printed to 4 decimals; interval = ATT ± 1.96 SE (published: bootstrap SE)"))
        out.append(Case(case="did mpdta aggregations (unconditional)", quantity=f"{typ} aggregation: SE", source=src,
                        published=se, tolerance=0.15 * se, compute=std, needs=(MPDTA,), note=BOOT_NOTE))
    for g, att in AGGTE_GROUPS.items():

        def by_group(inp: _Inputs, g: int = g) -> Value:
            rows = _mpdta_cs(inp, "never_treated", ()).aggregations["group"]["by"]
            return Value(value=float(next(r["estimate"] for r in rows if int(r["label"]) == g)))

        out.append(Case(case="did mpdta aggregations (unconditional)", quantity=f"group aggregation: ATT of cohort {g}",
                        source=AGGTE_SOURCE.format(typ="group"), published=att, tolerance=5e-5, compute=by_group, needs=(MPDTA,),
                        note="printed to 4 decimals"))
    return out


DARFUR_SOURCE = ("Cinelli & Hazlett (2020), JRSS-B 82(1), Table 1 / Section 7; R sensemakr tests/testthat/test-02-darfur.R: "
                 "sensemakr(lm(peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female "
                 "+ village, data = darfur), treatment = \"directlyharmed\", benchmark_covariates = \"female\", kd = 1:3)")
#: sensemakr test-02-darfur.R (sensitivity_stats): key of regression_sensitivity -> (label, value, tolerance).
DARFUR_STATS: dict[str, tuple[str, float, float]] = {
    "estimate": ("estimate of directlyharmed", 0.09731582, 5e-9),
    "std_error_classical": ("standard error", 0.02325654, 5e-9),
    "t_statistic": ("t statistic", 4.18445, 5e-6),
    "dof": ("residual degrees of freedom", 783.0, 0.0),
    "partial_r2": ("partial R² of treatment with outcome (r2yd.x)", 0.02187309, 5e-9),
    "robustness_value": ("robustness value RV (q = 1)", 0.1387764, 5e-8),
    "robustness_value_alpha": ("robustness value RV_α (q = 1, α = 0.05)", 0.07625797, 5e-9),
}
#: Same file, check_bounds (1×, 2×, 3× female): column -> values.
DARFUR_BOUNDS: dict[str, tuple[float, float, float]] = {
    "r2dz_x": (0.00916428667504862, 0.0183285733500972, 0.0274928600251459),
    "r2yz_dx": (0.12464092303637, 0.249324064199975, 0.374050471038094),
    "adjusted_estimate": (0.0752202712144491, 0.0529151723844518, 0.0303960234641548),
    "adjusted_se": (0.0218733277437572, 0.0203500620779637, 0.0186700648170924),
}
DARFUR_CI = ((0.032282966, 0.11815758), (0.012968035, 0.09286231), (-0.006253282, 0.06704533))


def _darfur_cases() -> list[Case]:
    out: list[Case] = []
    for key, (label, pub, tol) in DARFUR_STATS.items():
        out.append(Case(case="sensemakr Darfur", quantity=label, source=DARFUR_SOURCE, published=pub, tolerance=tol,
                        compute=lambda inp, key=key: Value(value=float(_darfur(inp)[key])), needs=("darfur.csv",),
                        note="printed to 7 significant digits" if key != "dof" else ""))
    for key, values in DARFUR_BOUNDS.items():
        for i, pub in enumerate(values):

            def bound(inp: _Inputs, key: str = key, i: int = i) -> Value:
                row = _darfur(inp)["bounds"][i]
                ci = (row["adjusted_ci_low"], row["adjusted_ci_high"]) if key == "adjusted_estimate" else None
                return Value(value=float(row[key]), interval=ci)

            out.append(Case(case="sensemakr Darfur", quantity=f"{key} bound, confounder {i + 1}× as strong as female",
                            source=DARFUR_SOURCE, published=pub, tolerance=1e-8, compute=bound, needs=("darfur.csv",),
                            published_interval=DARFUR_CI[i] if key == "adjusted_estimate" else None,
                            note="testthat expect_equal tolerance"))
    return out


HONEST_SOURCE = ("Rambachan & Roth (2023), REStud 90(5); HonestDiD README, Medicaid expansions example: "
                 "createSensitivityResults_relativeMagnitudes(betahat, sigma, numPrePeriods = 5, numPostPeriods = 2, "
                 "Mbarvec = seq(0.5, 2, by = 0.5)) on fixest::feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster = \"stfips\")")
#: M̄ values computed: the ends of the published grid, as tests/evaluation/test_sensitivity.py (each M̄ costs
#: about 30 s of HonestDiD's conditional-least-favourable test inversion).
HONEST_MBAR = (0.5, 2.0)
#: HonestDiD README: M̄ -> robust 95% interval (C-LF) for the first post-period effect (2014).
HONEST_PUBLISHED: dict[float, tuple[float, float]] = {
    0.5: (0.0241, 0.0673), 1.0: (0.0171, 0.0720), 1.5: (0.00859, 0.0796), 2.0: (-0.00107, 0.0883),
}
HONEST_NOTE = "HonestDiD inverts the test on a 1000-point grid over ±20 SE (step 3.7e-4): tolerance 8e-4"


def _honest_cases() -> list[Case]:
    out = [Case(case="HonestDiD Medicaid (TWFE event study)", quantity="fixest event-study coefficient, year 2014",
                source=HONEST_SOURCE, published=0.0464, tolerance=5e-5, needs=("ehec_data.csv",),
                compute=lambda inp: Value(value=float(_ehec_event_study(inp)[1][5])),
                note="README event-study plot; lopsnb's TWFE event study (fixest convention)")]
    for mbar in HONEST_MBAR:
        lo, hi = HONEST_PUBLISHED[mbar]
        for end, pub in (("lower", lo), ("upper", hi)):
            def bound(inp: _Inputs, mbar: float = mbar, end: str = end) -> Value:
                ci = _honest(inp, mbar)
                return Value(value=ci[0] if end == "lower" else ci[1], interval=ci)

            out.append(Case(case="HonestDiD Medicaid (relative magnitudes)", quantity=f"robust 95% CI {end} end, M̄ = {mbar:g}",
                            source=HONEST_SOURCE, published=pub, tolerance=8e-4, compute=bound, needs=("ehec_data.csv",),
                            published_interval=(lo, hi), note=HONEST_NOTE))
    return out


PRETRENDS_SOURCE = ("Roth (2022), AER: Insights 4(3); R pretrends README: slope_for_power(sigma = HeAndWangResults$sigma, "
                    "targetPower = 0.5, tVec = HeAndWangResults$tVec, referencePeriod = -1) (He & Wang 2017 event study)")
#: pretrends data/HeAndWangResults.rda: covariance of the pre-period coefficients (tVec = -4, -3, -2; reference -1).
HW_SIGMA_PRE = np.array([
    [0.00890657119452953, 0.00448831357061863, 0.00145870249252766],
    [0.00448831357061863, 0.00593691691756248, 0.00275007914751768],
    [0.00145870249252766, 0.00275007914751768, 0.00303862476721406],
])


def _pretrends_slope(inp: _Inputs) -> Value:
    from lopsnb.evaluation.sensitivity import slope_for_power

    return Value(value=slope_for_power(HW_SIGMA_PRE, [-3, -2, -1], power=0.5))


ROSSI_SOURCE = ("Fox & Weisberg (2011), \"Cox Proportional-Hazards Regression for Survival Data in R\", appendix to An R Companion "
                "to Applied Regression, 2nd ed.: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi) "
                "(Efron ties) on the Rossi, Berk & Lenihan (1980) recidivism data")
#: Published coefficient table (coef, se) of the Rossi model, as printed (5 decimals).
ROSSI_COEF: dict[str, tuple[float, float]] = {"fin": (-0.37942, 0.19138), "age": (-0.05744, 0.02200), "prio": (0.09150, 0.02865)}
#: Published exp(coef) and its 95% interval for fin (4 decimals).
ROSSI_FIN_HR = (0.6843, (0.4702, 0.9957))


def _rossi(inp: _Inputs) -> dict[str, Any]:
    import statsmodels.duration.hazard_regression as hr  # the engine of lopsnb.evaluation.survival

    from lopsnb.evaluation.survival import cox_hazard_ratio

    def make() -> dict[str, Any]:
        d = inp.csv("rossi.csv")
        frame = d.rename(columns={"week": "time"}).assign(event=d["arrest"].astype(bool), treated=d["fin"].astype(bool))
        covs = ["age", "race", "wexp", "mar", "paro", "prio"]
        res = cox_hazard_ratio(frame, covs)
        # The other coefficients of the same fit (lopsnb reports the participant one; the model is shared).
        fit = hr.PHReg(frame["time"].to_numpy(float), frame[["fin", *covs]].to_numpy(float), status=d["arrest"].to_numpy(float),
                       ties="efron").fit(disp=0)
        res["table"] = {name: (float(b), float(se)) for name, b, se in zip(["fin", *covs], fit.params, fit.bse, strict=True)}
        return res

    return inp.cached("rossi", make)


def _rossi_cases() -> list[Case]:
    out = [Case(case="Cox model Rossi recidivism", quantity="hazard ratio of fin (financial aid), design survival",
                source=ROSSI_SOURCE, published=ROSSI_FIN_HR[0], tolerance=5e-5, needs=("rossi.csv",),
                compute=lambda inp: Value(value=_rossi(inp)["hazard_ratio"], interval=(_rossi(inp)["ci_low"], _rossi(inp)["ci_high"])),
                published_interval=ROSSI_FIN_HR[1], note="lopsnb.evaluation.survival.cox_hazard_ratio; printed to 4 decimals")]
    for name, (coef, se) in ROSSI_COEF.items():
        for what, pub, k in (("coefficient", coef, 0), ("standard error", se, 1)):
            out.append(Case(case="Cox model Rossi recidivism", quantity=f"{what} of {name}", source=ROSSI_SOURCE, published=pub,
                            tolerance=5e-6, needs=("rossi.csv",), compute=lambda inp, name=name, k=k: Value(value=_rossi(inp)["table"][name][k]),
                            note="printed to 5 decimals"))
    return out


PHILLIPS_SOURCE = ("Phillips & Phillips, ROI Institute, \"Return on Investment in Training and Performance Improvement "
                   "Programs\": worked examples quoted in the lopsnb design brief")


def _phillips_cases() -> list[Case]:
    from lopsnb.evaluation.roi import adjust_estimates, bcr, payback_months, roi_pct

    def adjusted(inp: _Inputs) -> Value:
        # Four equal claims whose confidences average 70 %.
        est = pd.DataFrame({"person_id": list("abcd"), "improvement": [84_000.0] * 4, "attribution": [1.0] * 4,
                            "confidence": [0.6, 0.8, 0.7, 0.7]})
        return Value(value=adjust_estimates(est, participants=4).total_adjusted)

    rows = [
        ("BCR, benefits $1,077,321 / fully-loaded costs $754,165", 1.43, 0.005, lambda inp: Value(value=bcr(1_077_321, 754_165))),
        ("ROI %, same example", 42.8, 0.05, lambda inp: Value(value=roi_pct(1_077_321, 754_165))),
        ("payback months, annual benefits $81,500 vs costs $15,000", 2.2, 0.05, lambda inp: Value(value=payback_months(81_500, 15_000))),
        ("participant estimates $336,000 at 70 % average confidence: adjusted $", 235_200.0, 0.5, adjusted),
    ]
    return [Case(case="Phillips ROI arithmetic", quantity=q, source=PHILLIPS_SOURCE, published=pub, tolerance=tol, compute=fn,
                 note="published rounded to the digits shown") for q, pub, tol, fn in rows]


def _all_cases() -> tuple[Case, ...]:
    pretrends = Case(case="pretrends He & Wang (2017)", quantity="linear pre-trend slope detected with 50 % power",
                     source=PRETRENDS_SOURCE, published=0.05205871, tolerance=2e-5, compute=_pretrends_slope,
                     note="mvtnorm::pmvnorm (R) is quasi-Monte Carlo: tolerance 2e-5")
    return (*_drdid_cases(), *_attgt_cases(), *_aggte_cases(), *_darfur_cases(), *_honest_cases(), pretrends, *_rossi_cases(),
            *_phillips_cases())


#: Every validation case, in the order of the page.
CASES: tuple[Case, ...] = _all_cases()


# --------------------------------------------------------------------------- running and rendering


def interval_coverage(published: tuple[float, float] | None, mine: tuple[float, float] | None) -> float | None:
    """Length of the intersection of two intervals over the length of their union (1 = identical)."""
    if published is None or mine is None:
        return None
    lo, hi = max(published[0], mine[0]), min(published[1], mine[1])
    union = max(published[1], mine[1]) - min(published[0], mine[0])
    return max(hi - lo, 0.0) / union if union > 0 else 1.0


COLUMNS = ["case", "quantity", "source", "published", "lopsnb", "difference", "tolerance", "within_tolerance",
           "published_ci_low", "published_ci_high", "lopsnb_ci_low", "lopsnb_ci_high", "interval_coverage", "status", "note"]


def _row(case: Case, inp: _Inputs) -> dict[str, Any]:
    pub_ci = case.published_interval
    row: dict[str, Any] = {"case": case.case, "quantity": case.quantity, "source": case.source, "published": case.published,
                           "tolerance": case.tolerance, "published_ci_low": pub_ci[0] if pub_ci else np.nan,
                           "published_ci_high": pub_ci[1] if pub_ci else np.nan, "note": case.note}
    missing = [n for n in case.needs if not inp.available(n)]
    if missing:
        return {**row, "lopsnb": np.nan, "difference": np.nan, "within_tolerance": None, "lopsnb_ci_low": np.nan,
                "lopsnb_ci_high": np.nan, "interval_coverage": np.nan, "status": STATUS_SKIPPED,
                "note": f"{', '.join(DATA_FILES.get(n, n) for n in missing)} not found; {case.note}".rstrip("; ")}
    got = case.compute(inp)
    diff = float(got.value) - case.published
    ok = bool(abs(diff) <= case.tolerance)
    cov = interval_coverage(pub_ci, got.interval) if pub_ci else None
    return {**row, "lopsnb": float(got.value), "difference": diff, "within_tolerance": ok,
            "lopsnb_ci_low": got.interval[0] if got.interval and pub_ci else np.nan,
            "lopsnb_ci_high": got.interval[1] if got.interval and pub_ci else np.nan,
            "interval_coverage": np.nan if cov is None else cov, "status": STATUS_OK if ok else STATUS_OUTSIDE}


def validation_frame(root: str | os.PathLike[str] | None = None, *, cases: Sequence[Case] = CASES) -> pd.DataFrame:
    """Run every validation case and return the tidy comparison table.

    Parameters
    ----------
    root : path, optional
        The lopsnb checkout holding ``tests/data`` (default:
        :func:`find_repository` from the working directory).
    cases : sequence of Case
        The cases to run (default :data:`CASES`).

    Returns
    -------
    DataFrame
        One row per published number, columns :data:`COLUMNS`: ``lopsnb``,
        ``difference`` and the intervals are NaN and ``within_tolerance`` is
        None for a case whose data is absent (``status`` says so).
    """
    base = Path(root).resolve() if root is not None else find_repository()
    inp = _Inputs(base)
    return pd.DataFrame([_row(c, inp) for c in cases], columns=COLUMNS)


def format_value(x: Any, *, digits: int = 9) -> str:
    """A table cell: numbers to ``digits`` significant digits (enough to show every printed digit), blank for NaN/None."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "**NO**"
    if isinstance(x, (float, np.floating, int, np.integer)):
        return f"{float(x):.{digits}g}"
    return str(x).replace("|", "\\|").replace("\n", " ")


def _notes(notes: Sequence[str]) -> str:
    parts = dict.fromkeys(p.strip() for n in notes for p in n.split("; ") if p.strip())
    return "; ".join(parts)


def to_markdown(frame: pd.DataFrame) -> str:
    """The validation table as Markdown, then the numbered sources (the table's ``source`` column) with their notes."""
    keys = list(dict.fromkeys(zip(frame["case"], frame["source"])))
    number = {k: i + 1 for i, k in enumerate(keys)}
    lines = ["| case | quantity | source | published | lopsnb | difference | tolerance | within tolerance | published 95% CI "
             "| lopsnb 95% CI | interval coverage | status |",
             "| --- | --- | :---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | --- |"]
    for r in frame.itertuples(index=False):
        pub_ci = "" if pd.isna(r.published_ci_low) else f"[{format_value(r.published_ci_low, digits=4)}, {format_value(r.published_ci_high, digits=4)}]"
        my_ci = "" if pd.isna(r.lopsnb_ci_low) else f"[{format_value(r.lopsnb_ci_low, digits=4)}, {format_value(r.lopsnb_ci_high, digits=4)}]"
        cells = [format_value(r.case), format_value(r.quantity), f"[{number[(r.case, r.source)]}]", format_value(r.published),
                 format_value(r.lopsnb), format_value(r.difference, digits=3), format_value(r.tolerance, digits=3),
                 format_value(r.within_tolerance), pub_ci, my_ci, format_value(r.interval_coverage, digits=4), format_value(r.status)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Sources and conventions", ""]
    for key in keys:
        grp = frame[(frame["case"] == key[0]) & (frame["source"] == key[1])]
        notes = _notes([n for n in grp["note"] if n])
        lines.append(f"{number[key]}. **{key[0]}**: {format_value(key[1])}." + (f" Notes: {notes}." if notes else ""))
    return "\n".join(lines) + "\n"


def write_markdown(frame: pd.DataFrame, path: str | os.PathLike[str], *, title: str = "Validation against published examples",
                   intro: str = "") -> Path:
    """Write the validation page (``docs/validation.md``) atomically: a temporary file replaced in one step."""
    target = Path(path)
    ok, skipped = int((frame["status"] == STATUS_OK).sum()), int((frame["status"] == STATUS_SKIPPED).sum())
    summary = f"{ok} of {len(frame)} published numbers reproduced within tolerance" + (f", {skipped} skipped (data not found)" if skipped else "") + "."
    text = f"# {title}\n\n{intro}\n\n{summary}\n\n{to_markdown(frame)}" if intro else f"# {title}\n\n{summary}\n\n{to_markdown(frame)}"
    _atomic_text(target, text)
    return target


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a docs page is ordinary
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_page(notebook: str | os.PathLike[str], *, markdown: str | os.PathLike[str], html: str | os.PathLike[str]) -> None:
    """Execute the validation notebook and write its Markdown and HTML pages (``make validate``).

    The notebook runs with papermill in its own folder (so it finds the
    checkout's ``tests/data``) and writes ``markdown`` itself from the frame it
    shows; the executed notebook is then rendered with the lopsnb report
    template. Each page is written atomically; a failed run leaves the previous
    pages in place.
    """
    import nbformat
    import papermill as pm

    from lopsnb._version import __version__
    from lopsnb.report.export import export_html

    nb_path, md_path, html_path = Path(notebook).resolve(), Path(markdown).resolve(), Path(html).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / nb_path.name
        md_tmp = Path(tmp) / md_path.name
        pm.execute_notebook(str(nb_path), str(executed), parameters={"markdown_out": str(md_tmp)}, cwd=str(nb_path.parent),
                            progress_bar=False)
        nb = nbformat.read(executed, as_version=4)
        meta = nb.metadata.setdefault("lopsnb", {})
        meta.update({"program_id": "validation", "data_as_of": "published reference data", "version": __version__,
                     "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})
        page = export_html(nb, resources_meta={"name": "validation"})
        _atomic_text(md_path, md_tmp.read_text(encoding="utf-8"))
        _atomic_text(html_path, page)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lopsnb.report.validation", description=render_page.__doc__.splitlines()[0])
    parser.add_argument("notebook", help="the validation notebook (notebooks/validation.ipynb)")
    parser.add_argument("--markdown", required=True, help="Markdown page to write (docs/validation.md)")
    parser.add_argument("--html", required=True, help="HTML page to write (docs/validation.html)")
    args = parser.parse_args(argv)
    render_page(args.notebook, markdown=args.markdown, html=args.html)
    print(f"wrote {args.markdown} and {args.html}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
