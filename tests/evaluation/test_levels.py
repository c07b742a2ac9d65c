"""Tests of lopsnb.evaluation.levels (Kirkpatrick levels 0–3).

Every statistic is compared with an independent computation on the same data
(scipy, statsmodels, or a hand calculation written out in the test).
"""

from __future__ import annotations

import json
import math
from datetime import date

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from scipy import optimize, stats  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from lopsnb.errors import EvaluationError, LopsnbError  # noqa: E402
from lopsnb.evaluation.levels import (  # noqa: E402
    BehaviorResult,
    InputsResult,
    LearningResult,
    ReactionResult,
    behavior_summary,
    cohen_dz_ci,
    inputs_summary,
    learning_summary,
    reaction_summary,
    redact,
    wilson_ci,
)

TOL = 1e-6
D = pd.Timestamp


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def t_interval(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))


def wilson_sm(k: int, n: int) -> tuple[float, float]:
    return proportion_confint(k, n, alpha=0.05, method="wilson")


# ----------------------------------------------------------------------------- helpers
@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (47, 120), (1, 1)])
def test_wilson_matches_statsmodels(k, n):
    assert wilson_ci(k, n) == pytest.approx(wilson_sm(k, n), abs=TOL)


def test_wilson_zero_n_is_nan():
    assert all(math.isnan(v) for v in wilson_ci(0, 0))


# ----------------------------------------------------------------------------- Level 0
@pytest.fixture
def enrollments() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": ["p1", "p2", "p3", "p4", "p5", "p6", "p6"],
        "program_id": ["prog"] * 7,
        "enrolled_on": [D("2026-01-05")] * 7,
        "completed_on": [D("2026-02-01"), pd.NaT, D("2026-02-03"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        "status": ["completed", "completed", "in_progress", "dropped", "enrolled", "dropped", "in_progress"],
        "hours": [10.0, 8.0, 12.0, 2.0, np.nan, 1.0, 4.0],
    })


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": [f"p{i}" for i in range(1, 8)],
        "org_unit": ["A", "A", "B", "C", "B", "D", "E"],
    })


def test_inputs_counts_and_rates(enrollments, people):
    res = inputs_summary(enrollments, people=people, total_cost=5000.0)
    assert isinstance(res, InputsResult) and res.measured
    assert (res.enrolled, res.active, res.dropped) == (7, 5, 2)
    # p6 dropped once and re-enrolled: still one participant; p4 dropped only.
    assert res.participants == 5
    # completed status (p1, p2) or completed_on set (p3)
    assert res.completions == 3
    assert res.completion_rate == pytest.approx(3 / 7, abs=TOL)
    assert (res.completion_ci_low, res.completion_ci_high) == pytest.approx(wilson_sm(3, 7), abs=TOL)
    assert res.learning_hours == pytest.approx(37.0, abs=TOL)
    assert res.hours_per_participant == pytest.approx(37.0 / 5, abs=TOL)
    assert res.cost_per_participant == pytest.approx(1000.0, abs=TOL)
    assert res.org_units_reached == 3  # p1,p2 -> A; p3,p5 -> B; p6 -> D
    frame = res.to_frame()
    assert list(frame.columns) == ["metric", "value", "ci_low", "ci_high", "note"]
    row = frame.set_index("metric").loc["completion_rate"]
    assert row["value"] == pytest.approx(3 / 7, abs=TOL)
    json.dumps(res.to_dict())
    assert "inputs" in res.summary() and "<h4>" in res._repr_html_()
    assert isinstance(res.plot(), Axes)


def test_inputs_cost_unknown_or_no_participants(enrollments, people):
    assert inputs_summary(enrollments, people=people, total_cost=None).cost_per_participant is None
    all_dropped = enrollments.assign(status="dropped", completed_on=pd.NaT)
    res = inputs_summary(all_dropped, people=people, total_cost=100.0)
    assert res.participants == 0 and res.cost_per_participant is None
    assert math.isnan(res.hours_per_participant)
    with pytest.raises(EvaluationError):
        inputs_summary(enrollments, people=people, total_cost=-1.0)


def test_inputs_empty(people):
    res = inputs_summary(pd.DataFrame(columns=["person_id", "program_id", "status"]), people=people, total_cost=10.0)
    assert res.measured is False
    assert "not measured" in res.summary()
    assert res.to_frame().empty
    json.dumps(res.to_dict())
    assert isinstance(res.plot(), Axes)


# ----------------------------------------------------------------------------- Level 1
NPS_SCORES = [10, 9, 9, 8, 7, 6, 5, 10, 3, 9]  # 5 promoters, 2 passives, 3 detractors


@pytest.fixture
def reactions() -> pd.DataFrame:
    rows = []
    useful = [5, 4, 4, 3, 5, 4, 2, 5, 4, 4]
    fun = [3, 4, 5, 5, 4, 3, 4, 4, 5, 2]
    for i in range(10):
        pid = f"p{i}"
        rows.append(("prog", "useful", useful[i], 5, pid, "", "Great stuff"))
        rows.append(("prog", "fun", fun[i], np.nan, pid, "", ""))
        rows.append(("prog", "recommend", NPS_SCORES[i], 10, pid, "", None))
    for i in range(3):  # a rarely answered item
        rows.append(("prog", "pace", [3, 4, 5][i], 5, f"p{i}", "", None))
    rows.append(("prog", "useful", 4, 5, "p0", "", "call me at +1 (555) 123-4567 or jane.doe@example.com"))
    df = pd.DataFrame(rows, columns=["program_id", "item", "score", "scale_max", "person_id", "responded_on",
                                     "comment"])
    df["responded_on"] = pd.NaT
    return df


def test_reaction_item_statistics(reactions):
    res = reaction_summary(reactions, completers=20, relevance_items=["useful"], engagement_items=["fun"])
    assert isinstance(res, ReactionResult) and res.measured
    items = res.to_frame().set_index("item")
    useful = reactions.loc[reactions["item"] == "useful", "score"].to_numpy(float)
    row = items.loc["useful"]
    assert row["group"] == "relevance" and row["n"] == 11
    assert row["mean"] == pytest.approx(useful.mean(), abs=TOL)
    assert row["sd"] == pytest.approx(useful.std(ddof=1), abs=TOL)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(t_interval(useful), abs=TOL)
    assert row["top2_share"] == pytest.approx(np.mean(useful >= 4), abs=TOL)
    assert math.isnan(row["nps"])
    # missing scale_max defaults to 5
    assert items.loc["fun", "scale_max"] == 5 and items.loc["fun", "group"] == "engagement"
    assert items.loc["recommend", "group"] == "satisfaction"
    # groups ordered relevance, engagement, satisfaction
    assert list(res.to_frame()["group"][:2]) == ["relevance", "engagement"]


def test_reaction_nps_hand_example(reactions):
    res = reaction_summary(reactions, completers=10)
    row = res.to_frame().set_index("item").loc["recommend"]
    # Hand computation: p+ = 5/10, p- = 3/10, NPS = 100*(0.5-0.3) = 20.
    # var = (0.5 + 0.3 - 0.2**2)/10 = 0.076; half-width = 1.959963984540054 * sqrt(0.076) * 100
    half = 1.959963984540054 * math.sqrt(0.076) * 100
    assert row["nps"] == pytest.approx(20.0, abs=TOL)
    assert row["nps_ci_low"] == pytest.approx(20.0 - half, abs=TOL)
    assert row["nps_ci_high"] == pytest.approx(20.0 + half, abs=TOL)
    assert row["top2_share"] == pytest.approx(0.5, abs=TOL)  # promoters 9-10
    assert res.to_dict()["nps"] == pytest.approx(20.0, abs=TOL)


def test_reaction_suppression(reactions):
    res = reaction_summary(reactions, completers=10, min_group_size=5)
    pace = res.to_frame().set_index("item").loc["pace"]
    assert bool(pace["suppressed"]) and pace["n"] == 3
    for col in ("mean", "sd", "ci_low", "ci_high", "top2_share"):
        assert math.isnan(pace[col])
    res2 = reaction_summary(reactions, completers=10, min_group_size=3)
    pace2 = res2.to_frame().set_index("item").loc["pace"]
    assert not bool(pace2["suppressed"]) and pace2["mean"] == pytest.approx(4.0, abs=TOL)
    ax = res.plot()
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert not any("pace" in lab for lab in labels)
    # Items on two answer scales get a panel each; the note sits under the last one.
    notes = [t.get_text() for panel in ax.figure.axes for t in panel.texts]
    assert any("suppressed" in t and "pace" in t for t in notes)


def test_reaction_response_rate(reactions):
    res = reaction_summary(reactions, completers=20)
    assert res.respondents == 10 and res.response_rate == pytest.approx(0.5, abs=TOL)
    anon = reactions.assign(person_id=np.nan)
    res_anon = reaction_summary(anon, completers=20)
    assert res_anon.respondents == 11  # "useful" has 11 scores, the largest item n
    assert math.isnan(reaction_summary(reactions, completers=0).response_rate)


def test_reaction_comments_excluded_by_default_and_redacted(reactions):
    assert reaction_summary(reactions, completers=10).comments is None
    res = reaction_summary(reactions, completers=10, include_comments=True)
    assert res.comments is not None and len(res.comments) == 11
    joined = " ".join(res.comments)
    assert "example.com" not in joined and "555" not in joined
    assert "call me at [redacted] or [redacted]" in res.comments
    dumped = json.dumps(res.to_dict())
    assert "p0" not in dumped and "person_id" not in dumped


def test_reaction_comments_suppressed_for_small_groups(reactions):
    few = reactions[reactions["person_id"].isin(["p0", "p1"])]
    res = reaction_summary(few, completers=2, include_comments=True)
    assert res.comments == [] and res.comments_suppressed


@pytest.mark.parametrize(
    "text",
    [
        "mail jane.doe@example.com now",
        "mail J_Doe+tag@sub.example.co.uk now",
        "mail +1 (555) 123-4567 now",
        "mail 555-123-4567 now",
        "mail 555.123.4567 now",
        "mail +44 20 7946 0958 now",
        "mail (020) 7946 0958 now",
        "mail 0049 30 1234567 now",
        "mail +4915112345678 now",
        "mail 030/1234567 now",
    ],
)
def test_redaction_formats(text):
    assert redact(text) == "mail [redacted] now"


@pytest.mark.parametrize("text", ["session on 2026-03-01 was fine", "rated it 10/10", "room 101, 45 people"])
def test_redaction_keeps_non_contact_numbers(text):
    assert redact(text) == text


def test_reaction_bad_arguments(reactions):
    with pytest.raises(EvaluationError):
        reaction_summary(reactions, completers=10, relevance_items=["useful"], engagement_items=["useful"])
    mixed = reactions.copy()
    mixed.loc[mixed.index[0], "scale_max"] = 7
    with pytest.raises(EvaluationError, match="scale_max"):
        reaction_summary(mixed, completers=10)
    with pytest.raises(LopsnbError):
        reaction_summary(reactions, completers=10, min_group_size=0)


def test_reaction_empty():
    res = reaction_summary(pd.DataFrame(columns=["program_id", "item", "score"]), completers=5)
    assert res.measured is False and "not measured" in res.summary()
    json.dumps(res.to_dict())
    assert isinstance(res.plot(), Axes)


# ----------------------------------------------------------------------------- Level 2
def make_assessments(pre, post, max_score=100.0, followup=None) -> pd.DataFrame:
    rows = []
    for i, (a, b) in enumerate(zip(pre, post, strict=True)):
        rows.append((f"p{i}", "prog", "pre", a, max_score, D("2026-01-10")))
        rows.append((f"p{i}", "prog", "post", b, max_score, D("2026-02-10")))
    for i, f in enumerate(followup or []):
        rows.append((f"p{i}", "prog", "followup", f, max_score, D("2026-05-10")))
    return pd.DataFrame(rows, columns=["person_id", "program_id", "phase", "score", "max_score", "taken_on"])


@pytest.fixture
def scores():
    rng = np.random.default_rng(7)
    pre = np.round(rng.normal(55, 12, 15), 1).clip(0, 99)
    post = np.round(pre + rng.normal(9, 8, 15), 1).clip(0, 100)
    return pre, post


def test_learning_paired_statistics(scores):
    pre, post = scores
    fup = list(post[:8] - 3)
    res = learning_summary(make_assessments(pre, post, followup=fup), pass_mark=60)
    assert isinstance(res, LearningResult) and res.measured and res.enough_paired and not res.suppressed
    diff = post - pre
    assert res.n_paired == 15
    assert res.mean_pre == pytest.approx(pre.mean(), abs=TOL)
    assert res.mean_post == pytest.approx(post.mean(), abs=TOL)
    assert res.mean_gain == pytest.approx(diff.mean(), abs=TOL)
    assert (res.gain_ci_low, res.gain_ci_high) == pytest.approx(t_interval(diff), abs=TOL)
    t = stats.ttest_rel(post, pre)
    assert (res.t_statistic, res.t_pvalue) == pytest.approx((t.statistic, t.pvalue), abs=TOL)
    w = stats.wilcoxon(post, pre)
    assert (res.wilcoxon_statistic, res.wilcoxon_pvalue) == pytest.approx((w.statistic, w.pvalue), abs=TOL)
    dz = diff.mean() / diff.std(ddof=1)
    assert res.cohen_dz == pytest.approx(dz, abs=TOL)
    j = 1 - 3 / (4 * 14 - 1)
    assert res.hedges_gz == pytest.approx(j * dz, abs=TOL)
    assert res.gz_ci_low == pytest.approx(j * res.dz_ci_low, abs=TOL)
    # pass rate over post takers, Wilson CI
    k = int((post >= 60).sum())
    assert res.pass_rate == pytest.approx(k / 15, abs=TOL)
    assert (res.pass_ci_low, res.pass_ci_high) == pytest.approx(wilson_sm(k, 15), abs=TOL)
    # retention: followup - post for the 8 people with both
    assert res.n_retention == 8 and res.retention_mean == pytest.approx(-3.0, abs=TOL)
    frame = res.to_frame().set_index("metric")
    assert frame.loc["paired_t", "p_value"] == pytest.approx(t.pvalue, abs=TOL)
    assert "retention_followup_minus_post" in frame.index
    json.dumps(res.to_dict())
    assert isinstance(res.plot(), Axes)


def _independent_dz_ci(d: float, n: int) -> tuple[float, float]:
    """Direct noncentral-t inversion with a different root finder (bisection) and nct.sf."""
    t_obs, df = d * math.sqrt(n), n - 1
    lo = optimize.bisect(lambda ncp: stats.nct.sf(t_obs, df, ncp) - 0.025, t_obs - 20, t_obs + 20, xtol=1e-13)
    hi = optimize.bisect(lambda ncp: stats.nct.sf(t_obs, df, ncp) - 0.975, t_obs - 20, t_obs + 20, xtol=1e-13)
    return lo / math.sqrt(n), hi / math.sqrt(n)


@pytest.mark.parametrize("d,n", [(0.8, 15), (0.2, 40), (-0.5, 10), (1.5, 6)])
def test_cohen_dz_ci_noncentral_t_inversion(d, n):
    assert cohen_dz_ci(d, n) == pytest.approx(_independent_dz_ci(d, n), abs=TOL)


def test_cohen_dz_ci_in_result_and_large_sample_sanity(scores):
    pre, post = scores
    res = learning_summary(make_assessments(pre, post))
    assert (res.dz_ci_low, res.dz_ci_high) == pytest.approx(_independent_dz_ci(res.cohen_dz, 15), abs=TOL)
    # Large n: the exact interval approaches d ± z*sqrt(1/n + d²/(2n)) (Hedges & Olkin 1985 approx.)
    d, n = 0.5, 2000
    lo, hi = cohen_dz_ci(d, n)
    half = 1.959963984540054 * math.sqrt(1 / n + d * d / (2 * n))
    assert lo == pytest.approx(d - half, abs=2e-3) and hi == pytest.approx(d + half, abs=2e-3)


def test_normalized_gain_hand_example():
    # pre [0, 50, 100], post [50, 100, 90], max 100.
    # class <g> = (80 - 50)/(100 - 50) = 0.6
    # individual g: 50/100 = 0.5, 50/50 = 1.0, third excluded (pre == max) -> mean 0.75
    res = learning_summary(make_assessments([0, 50, 100], [50, 100, 90]), min_group_size=1)
    assert res.class_gain == pytest.approx(0.6, abs=TOL)
    assert res.mean_individual_gain == pytest.approx(0.75, abs=TOL)
    assert res.n_gain_excluded == 1 and res.n_gain_used == 2
    assert res.class_gain != pytest.approx(res.mean_individual_gain)


def test_learning_uses_last_score_per_phase_and_counts_unpaired(scores):
    pre, post = scores
    df = make_assessments(pre, post)
    retake = pd.DataFrame([("p0", "prog", "post", 99.0, 100.0, D("2026-03-01")),
                           ("p0", "prog", "post", 1.0, 100.0, D("2026-02-11")),
                           ("x1", "prog", "pre", 40.0, 100.0, D("2026-01-10")),
                           ("x2", "prog", "post", 70.0, 100.0, D("2026-02-10")),
                           ("x3", "prog", "post", 75.0, 100.0, D("2026-02-10"))], columns=df.columns)
    res = learning_summary(pd.concat([df, retake], ignore_index=True))
    post2 = post.copy()
    post2[0] = 99.0
    assert res.mean_post == pytest.approx(post2.mean(), abs=TOL)
    assert (res.n_paired, res.n_pre_only, res.n_post_only) == (15, 1, 2)


def test_learning_too_few_pairs_and_suppression():
    one = learning_summary(make_assessments([40], [60]))
    assert one.measured and not one.enough_paired and one.n_paired == 1
    assert math.isnan(one.mean_gain) and math.isnan(one.t_pvalue) and math.isnan(one.cohen_dz)
    assert "not enough paired data" in one.note
    assert isinstance(one.plot(), Axes)
    three = learning_summary(make_assessments([40, 50, 60], [55, 58, 80]))
    assert three.enough_paired and three.suppressed
    assert three.to_frame()["suppressed"].iloc[0]
    none = learning_summary(make_assessments([40], [60]).query("phase == 'pre'"))
    assert none.n_paired == 0 and none.n_pre_only == 1


def test_learning_constant_difference_does_not_raise():
    res = learning_summary(make_assessments([40, 50, 60, 70, 20], [50, 60, 70, 80, 30]))
    assert res.mean_gain == pytest.approx(10.0, abs=TOL)
    assert math.isnan(res.cohen_dz)


def test_learning_empty_and_bad_phase():
    res = learning_summary(pd.DataFrame(columns=["person_id", "program_id", "phase", "score"]))
    assert res.measured is False and "not measured" in res.summary()
    json.dumps(res.to_dict())
    assert isinstance(res.plot(), Axes)
    bad = make_assessments([1, 2], [3, 4]).assign(phase="during")
    with pytest.raises(EvaluationError):
        learning_summary(bad)


# ----------------------------------------------------------------------------- Level 3
@pytest.fixture
def behaviors() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(12):
        pid = f"p{i}"
        before = float(np.round(rng.uniform(0, 0.6), 2))
        after = float(np.round(min(1.0, before + rng.uniform(-0.1, 0.5)), 2))
        rows.append((pid, "prog", "coaching", before, D("2026-02-01"), "manager"))
        rows.append((pid, "prog", "coaching", after, D("2026-04-01"), "manager"))
        rows.append((pid, "prog", "coaching", after, D("2026-05-01"), "manager"))  # repeated observation
        rows.append((pid, "prog", "listening", float(rng.integers(1, 6)), D("2026-04-15"), "self"))
    for i in range(3):
        rows.append((f"p{i}", "prog", "coaching", 0.9, D("2026-04-20"), "peer"))
    return pd.DataFrame(rows, columns=["person_id", "program_id", "behavior", "value", "observed_on", "observer"])


def test_behavior_rates(behaviors):
    res = behavior_summary(behaviors, launch=date(2026, 3, 1))
    assert isinstance(res, BehaviorResult) and res.measured
    rates = res.to_frame().set_index(["behavior", "observer"])
    after = behaviors[(behaviors["observed_on"] >= D("2026-03-01")) & (behaviors["behavior"] == "coaching")
                      & (behaviors["observer"] == "manager")]
    person = after.groupby("person_id")["value"].mean().to_numpy()
    row = rates.loc[("coaching", "manager")]
    assert row["scale"] == "share" and row["n"] == 12 and row["n_obs"] == 24
    assert row["mean"] == pytest.approx(person.mean(), abs=TOL)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(t_interval(person), abs=TOL)
    k = int((person >= 0.5).sum())
    assert row["share_applying"] == pytest.approx(k / 12, abs=TOL)
    assert (row["share_ci_low"], row["share_ci_high"]) == pytest.approx(wilson_sm(k, 12), abs=TOL)
    assert not row["suppressed"]
    peer = rates.loc[("coaching", "peer")]
    assert peer["suppressed"] and peer["n"] == 3
    listening = rates.loc[("listening", "self")]
    assert listening["scale"] == "rating" and math.isnan(listening["share_applying"])


def test_behavior_before_after(behaviors):
    res = behavior_summary(behaviors, launch=date(2026, 3, 1))
    ba = res.before_after.set_index(["behavior", "observer"])
    assert list(ba.index) == [("coaching", "manager")]  # listening/peer have no 'before'
    sub = behaviors[(behaviors["behavior"] == "coaching") & (behaviors["observer"] == "manager")]
    b = sub[sub["observed_on"] < D("2026-03-01")].groupby("person_id")["value"].mean()
    a = sub[sub["observed_on"] >= D("2026-03-01")].groupby("person_id")["value"].mean().loc[b.index]
    row = ba.loc[("coaching", "manager")]
    t = stats.ttest_rel(a, b)
    assert row["n_pairs"] == 12
    assert row["mean_diff"] == pytest.approx((a - b).mean(), abs=TOL)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(t_interval((a - b).to_numpy()), abs=TOL)
    assert (row["t_statistic"], row["p_value"]) == pytest.approx((t.statistic, t.pvalue), abs=TOL)
    d = res.to_dict()
    json.dumps(d)
    assert len(d["before_after"]) == 1
    assert "before/after" in res.summary()
    assert isinstance(res.plot(), Axes)


def test_behavior_without_launch_uses_all_observations(behaviors):
    res = behavior_summary(behaviors, launch=None)
    assert res.before_after.empty
    row = res.to_frame().set_index(["behavior", "observer"]).loc[("coaching", "manager")]
    assert row["n_obs"] == 36


def test_behavior_empty_and_bad_launch(behaviors):
    res = behavior_summary(behaviors.iloc[0:0], launch=date(2026, 3, 1))
    assert res.measured is False and "not measured" in res.summary()
    json.dumps(res.to_dict())
    assert isinstance(res.plot(), Axes)
    with pytest.raises(EvaluationError):
        behavior_summary(behaviors, launch="2026-03-01")  # type: ignore[arg-type]
