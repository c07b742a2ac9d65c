"""The report's synthetic comparison (synthetic_control / sdid): figures, sections, alt text, the rendered page.

The sample's ``plant-pilot`` is a lean cell on one production line with the
other lines as donors (``truth.json`` names the line and the donor count).
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import json
import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from conftest import SAMPLE  # noqa: E402
from lopsnb import evaluate, load_workspace  # noqa: E402
from lopsnb.report import figures  # noqa: E402
from lopsnb.report import sections as s  # noqa: E402
from lopsnb.report.plots import literal  # noqa: E402

TRUTH = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))["programs"]["plant-pilot"]
EVIL = "<b>PL$x_1$</b>"


@pytest.fixture(scope="module")
def ws():
    return load_workspace(SAMPLE)


@pytest.fixture(scope="module")
def pilot(ws):
    return evaluate(ws, "plant-pilot")


def _with_details(ev, method: str, **changes):
    """``ev`` with some details of one estimate replaced (the results are frozen)."""
    est = ev.impact.estimates[method]
    new = dataclasses.replace(est, details={**est.details, **changes})
    impact = dataclasses.replace(ev.impact, estimates={**ev.impact.estimates, method: new})
    return dataclasses.replace(ev, impact=impact)


def _renamed(ev, old: str, new: str):
    """Every synthetic-control and sdid record naming unit ``old`` renamed ``new`` (a hostile unit id)."""
    def ren(records):
        return [{k: (new if v == old else v) for k, v in r.items()} for r in records]

    sc, sd = ev.impact.estimates["synthetic_control"].details, ev.impact.estimates["sdid"].details
    ev = _with_details(ev, "synthetic_control", **{k: ren(sc[k]) for k in ("weights", "gaps", "placebo_gaps", "loo", "placebos")})
    return _with_details(ev, "sdid", weights=ren(sd["weights"]))


def test_pilot_estimate_and_label(pilot, insufficient_ev) -> None:
    est = s.pilot_estimate(pilot)
    assert est is not None and est.method == "synthetic_control"
    assert s.pilot_label(pilot) == TRUTH["treated_unit"]
    assert not s.pilot_withheld(pilot)
    # a program without a pilot design shows none of it
    assert s.pilot_estimate(insufficient_ev) is None
    assert s.synthetic_summary(insufficient_ev) == s.donor_weights_table(insufficient_ev) == s.sdid_weights_summary(insufficient_ev) == ""


@pytest.fixture(scope="module")
def insufficient_ev(ws):
    return evaluate(ws, "ai-assistant-pilot")


def test_donor_weights_table_lists_every_weighted_donor(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    weights = pd.DataFrame(est.details["weights"])
    out = s.donor_weights_table(pilot)
    rows = re.findall(r"<tr><td>([^<]+)</td><td class='num'>([\d.]+)%</td>", out)
    assert [d for d, _ in rows] == weights.sort_values("weight", ascending=False)["donor"].tolist()
    assert sum(float(w) for _, w in rows) == pytest.approx(100, abs=0.1 * len(rows))
    assert TRUTH["treated_unit"] not in [d for d, _ in rows]  # the pilot line is not its own donor
    zero = est.n_comparison - len(weights)
    assert f"{zero} other donor(s) have a weight of zero" in out
    # the leave-one-out estimate of the largest donor is in its row
    top = weights.sort_values("weight").iloc[-1]["donor"]
    loo = next(r for r in est.details["loo"] if r["dropped_donor"] == top)
    assert re.search(rf"<td>{re.escape(top)}</td><td class='num'>[\d.]+%</td><td class='num'>{re.escape(s.fmt(loo['estimate'], signed=True))}</td>", out)


def test_donor_table_caps_rows_and_sums_the_rest(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    treated = est.details["weights"][0]["treated_unit"]
    many = [{"treated_unit": treated, "donor": f"L{i:02d}", "weight": 1 / 20} for i in range(20)]
    out = s.donor_weights_table(_with_details(pilot, "synthetic_control", weights=many))
    assert out.count("<tr><td>L") == s.MAX_DONOR_ROWS
    assert f"{20 - s.MAX_DONOR_ROWS} more donor(s) with a combined weight of 40.0%" in out


def test_summary_reads_fit_gap_placebo_rank_and_loo(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    out = s.synthetic_summary(pilot)
    assert TRUTH["treated_unit"] in out
    assert s.fmt(est.estimate, pilot.impact.unit, signed=True) in out
    assert f"each of the {len(est.details['placebos'])} donors" in out
    rank = round(est.p_value * (len(est.details["placebos"]) + 1))
    assert ("none of their gaps" in out) == (rank == 1)
    assert s.fmt(est.p_value) in out


def test_sdid_weights_summary(pilot) -> None:
    est = pilot.impact.estimates["sdid"]
    w = [r for r in est.details["weights"] if r["weight"] > 0]
    out = s.sdid_weights_summary(pilot)
    assert f"weights {len(w)} of {est.n_comparison} donors" in out
    biggest = max(w, key=lambda r: r["weight"])
    assert f"<td>{biggest['unit']}</td>" in out
    lam = [r for r in est.details["time_weights"] if r["weight"] > 1e-6]
    assert all(r["period"] in out for r in lam)


def test_unit_names_are_escaped(pilot) -> None:
    top = pilot.impact.estimates["synthetic_control"].details["weights"][0]["donor"]
    evil = _renamed(pilot, top, EVIL)
    for out in (s.donor_weights_table(evil), s.sdid_weights_summary(evil)):
        assert "<b>PL" not in out and htmllib.escape(EVIL) in out
    evil = _renamed(pilot, TRUTH["treated_unit"], EVIL)
    assert s.pilot_label(evil) == EVIL  # plain text: the summary escapes it
    assert "<b>PL" not in s.synthetic_summary(evil) and htmllib.escape(EVIL) in s.synthetic_summary(evil)


def test_person_pilots_withhold_paths_and_names(pilot) -> None:
    prog = pilot.program
    person = dataclasses.replace(pilot, program=prog.model_copy(update={"evaluation": prog.evaluation.model_copy(update={"entity": "person"})}))
    assert s.pilot_withheld(person) and s.pilot_label(person) == "participants"
    donors = [r["donor"] for r in pilot.impact.estimates["synthetic_control"].details["weights"]]
    texts = (s.donor_weights_table(person), s.sdid_weights_summary(person), s.synthetic_summary(person))
    assert not any(d in t for d in donors + [TRUTH["treated_unit"]] for t in texts)
    assert "not shown" in s.synthetic_summary(person) and "not named" in s.donor_weights_table(person)


def test_alt_texts_say_what_the_charts_show(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    path, gaps = s.synthetic_path_alt(pilot), s.synthetic_gaps_alt(pilot)
    assert path.startswith("Line chart") and TRUTH["treated_unit"] in path and s.fmt(est.estimate, signed=True) in path
    assert f"placebo gaps of {len(est.details['placebos'])} donors" in gaps and s.fmt(est.p_value) in gaps


def test_method_details_leave_out_record_lists(pilot) -> None:
    out = s.method_section(pilot)
    assert "placebo_gaps" not in out and "'treated_unit'" not in out
    assert "rmspe: " in out and "n_pre: 14" in out


def test_executive_summary_names_the_synthetic_comparison(pilot) -> None:
    out = s.executive_summary(pilot)
    assert "synthetic comparison" in out and "weakest design" not in out
    assert f"{TRUTH['n_donors']} units" in out


def test_executive_summary_without_an_interval_says_why(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    why = "7 placebo donors: at least 19 are needed for a 95% permutation interval"
    bare = dataclasses.replace(est, ci_low=float("nan"), ci_high=float("nan"), details={**est.details, "interval_reason": why})
    ev = dataclasses.replace(pilot, impact=dataclasses.replace(pilot.impact, estimates={**pilot.impact.estimates, "synthetic_control": bare}))
    out = s.executive_summary(ev)
    assert f"with no 95% range: {why}" in out and "— to —" not in out
    assert f"(no 95% interval: {why})" in s.synthetic_summary(ev)


def test_path_figure_draws_treated_and_synthetic(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    g = pd.DataFrame(est.details["gaps"])
    g = g[g["unit"] == "average"]
    ax = figures.draw_synthetic_path(est, label=TRUTH["treated_unit"], outcome=pilot.program.outcome, unit=pilot.impact.unit)
    treated = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert sum(len(ln.get_ydata()) for ln in treated) == len(g)  # baseline and followup segments
    drawn = sorted(v for ln in treated for v in ln.get_ydata())
    assert drawn == pytest.approx(sorted(g["treated"]))
    assert TRUTH["treated_unit"] in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)


def test_gap_figure_draws_placebos_behind_the_gap(pilot) -> None:
    est = pilot.impact.estimates["synthetic_control"]
    ax = figures.draw_synthetic_gaps(est, label=TRUTH["treated_unit"], unit=pilot.impact.unit)
    n_placebo = len(est.details["placebos"])
    grey = [ln for ln in ax.get_lines() if ln.get_color() == "#c3cad1"]
    assert len(grey) == 2 * n_placebo  # one baseline and one followup segment each
    gap = [ln for ln in ax.get_lines() if ln.get_linewidth() > 2]
    assert gap and min(ln.get_zorder() for ln in gap) > max(ln.get_zorder() for ln in grey)
    followup = pd.DataFrame(est.details["gaps"]).query("unit == 'average' and post")["gap"]
    assert followup.mean() == pytest.approx(est.estimate)
    assert f"placebo gaps ({n_placebo} donors" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    plt.close(ax.figure)


def test_figures_draw_hostile_labels_literally_and_sdid_without_placebos(pilot) -> None:
    for est in pilot.impact.estimates["synthetic_control"], pilot.impact.estimates["sdid"]:
        for draw in (figures.draw_synthetic_path, figures.draw_synthetic_gaps):
            ax = draw(est, label=EVIL, unit="$ per $_unit")
            ax.figure.canvas.draw()  # mathtext would fail on "$_unit" / typeset "$x_1$"
            assert literal(EVIL) in ax.get_title()  # escaped "$": drawn as written
            plt.close(ax.figure)
    ax = figures.draw_synthetic_gaps(pilot.impact.estimates["sdid"])
    assert not [ln for ln in ax.get_lines() if ln.get_color() == "#c3cad1"]
    plt.close(ax.figure)


def test_default_alt_text_is_the_chart_titles() -> None:
    from lopsnb.report.context import figure_alt

    fig, (a, b) = plt.subplots(1, 2)
    assert figure_alt(fig) == ""
    a.set_title(literal("Cost $ per unit"))
    b.set_title("Effect by method")
    assert figure_alt(fig) == "Chart: Cost $ per unit; Effect by method"
    plt.close(fig)


def test_figures_without_a_path_say_so(pilot) -> None:
    bare = dataclasses.replace(pilot.impact.estimates["sdid"], details={})
    for draw in (figures.draw_synthetic_path, figures.draw_synthetic_gaps):
        ax = draw(bare)
        assert "No synthetic comparison" in [t.get_text() for t in ax.texts]
        plt.close(ax.figure)


# ---- the rendered page: one runner batch over the pilot ----


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    from lopsnb.runner import run_batch

    root = tmp_path_factory.mktemp("pilot")
    ws = root / "acme"
    shutil.copytree(SAMPLE, ws, ignore=shutil.ignore_patterns(".lopsnb-cache"))
    result = run_batch(ws, programs=["plant-pilot"], out=root / "out", workers=1, progress=False)
    assert [o.status for o in result.programs] == ["ok"]
    return (root / "out" / "plant-pilot" / "report.html").read_text(encoding="utf-8")


def test_report_shows_the_synthetic_comparison(page: str, pilot) -> None:
    assert "<h4>Synthetic comparison</h4>" in page and "Donor weights (synthetic control)" in page
    assert "Weights of the synthetic difference-in-differences" in page
    top = pilot.impact.estimates["synthetic_control"].details["weights"][0]["donor"]
    assert f"<td>{top}</td>" in page
    alts = [htmllib.unescape(a) for a in re.findall(r'<img[^>]*\balt="([^"]*)"', page)]
    assert s.synthetic_path_alt(pilot) in alts and s.synthetic_gaps_alt(pilot) in alts
    assert any(a.startswith("Effect on units per labor hour estimated by 2 method(s)") for a in alts)
    assert "<script" not in page.lower() and "placebo_gaps" not in page
