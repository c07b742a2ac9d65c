"""User strings with mathtext characters (``$``, ``_``, ``^``, ``\\``) never break a figure and are drawn as written.

matplotlib typesets text between two ``$`` as mathtext; ``$_^\\ per $`` is a
mathtext syntax error raised when the figure is drawn. Every figure that
shows a program, metric, unit, survey item, behavior or priority is rendered
to PNG here with such strings, and each of its texts must be plain text.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from lopsnb.evaluation import ProgramEvaluation, evaluate  # noqa: E402
from lopsnb.report import plots  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))
from test_degenerate import PROGRAM, _tables  # noqa: E402

#: Valid mathtext once, then a mathtext syntax error, then a lone backslash: all must show as typed.
MATH = r"$x$_^\ rev $_^\ per $ unit"
METRIC, UNIT, ITEM, BEHAVIOR = f"m{MATH}", f"u{MATH}", f"i{MATH}", f"b{MATH}"


def _workspace(root: Path) -> Path:
    t = _tables()
    t["kpis"]["metric"] = METRIC
    people = t["people"]["person_id"][:12]
    t["reactions"] = pd.DataFrame({"program_id": "demo", "item": [ITEM] * 12, "score": [4, 5] * 6, "scale_max": 5,
                                   "person_id": people, "responded_on": "2026-04-06"})
    t["behaviors"] = pd.DataFrame({"person_id": people, "program_id": "demo", "behavior": BEHAVIOR, "value": 0.7,
                                   "observed_on": "2026-05-15", "observer": "manager"})
    (root / "programs").mkdir(parents=True)
    for name, frame in t.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    program = PROGRAM.replace("name: Demo Program", f"name: '{MATH}'").replace(
        "{metric: revenue, direction: increase, unit: USD per month}", f"{{metric: '{METRIC}', direction: increase, unit: '{UNIT}'}}")
    (root / "programs" / "demo.yml").write_text(program, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def ev(tmp_path_factory: pytest.TempPathFactory) -> ProgramEvaluation:
    result = evaluate(_workspace(tmp_path_factory.mktemp("mathtext") / "ws"), "demo")
    assert result.program.name == MATH and result.impact and result.impact.estimates, result.impact_error
    return result


def _texts(fig: plt.Figure) -> Iterator[str]:
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text():
            yield t.get_text()


def _render(ax: object, *expected: str) -> None:
    fig = ax.figure  # type: ignore[attr-defined]
    try:
        fig.savefig(io.BytesIO(), format="png")  # mathtext is parsed here: a syntax error would raise
        shown = []
        for text in _texts(fig):
            # _preprocess_math is how Text decides between mathtext and plain text at draw time
            plain, is_math = Text(text=text)._preprocess_math(text)
            assert not is_math, text
            shown.append(plain)
        for want in expected:
            assert any(want in s for s in shown), (want, shown)
    finally:
        plt.close(fig)


def test_literal_escapes_only_the_dollar() -> None:
    assert plots.literal(MATH) == MATH.replace("$", r"\$")
    assert Text(text="")._preprocess_math(plots.literal(MATH)) == (MATH, False)
    assert Text(text="")._preprocess_math(MATH)[1] is True  # unescaped, matplotlib would parse it


def test_unescaped_user_text_does_break_a_figure() -> None:
    """The failure these tests guard against is real: the raw string stops savefig."""
    fig, ax = plt.subplots()
    ax.set_ylabel(MATH)
    with pytest.raises(ValueError):
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_impact_figures_show_metric_and_unit_as_written(ev: ProgramEvaluation) -> None:
    im = ev.impact
    assert im is not None
    _render(im.plot(), METRIC, UNIT)
    ax = plots.plot_trend(im.series, launch=ev.program.launch, unit=UNIT, outcome=METRIC)
    ax.set_title(plots.literal(f"{ev.program.outcome}: participants vs comparison"))  # as the report notebook does
    _render(ax, METRIC)
    _render(plots.plot_forest(im.to_frame(), unit=UNIT, primary=im.primary_method), UNIT)
    assert im.event_study is not None
    _render(plots.plot_event_study(im.event_study, unit=UNIT), UNIT)


def test_chain_reaction_behavior_and_bars_show_user_text_as_written(ev: ProgramEvaluation) -> None:
    # Chain boxes show the metric's label (no label here: the id made readable) and shorten long names.
    from lopsnb.io.labels import readable

    _render(ev.plot(), readable(METRIC)[:10])
    _render(ev.reaction.plot(), ITEM)
    _render(ev.behavior.plot(), BEHAVIOR)
    _render(plots.plot_bars([MATH, "delivery"], [1.0, 2.0], xlabel=UNIT), MATH, UNIT)


def test_operations_cycle_plot_shows_priorities_as_written() -> None:
    from lopsnb.evaluation.operations import OperationsResult

    fields = OperationsResult.__dataclass_fields__
    assert "cycle" in fields
    cycle = pd.DataFrame({"priority": [MATH, "all"], "delivered": [3, 3], "q1_days": [1.0, 1.0], "median_days": [2.0, 2.0],
                          "q3_days": [3.0, 3.0]})
    result = OperationsResult.__new__(OperationsResult)
    object.__setattr__(result, "cycle", cycle)
    for name in ("backlog", "spend"):
        object.__setattr__(result, name, None)
    _render(result.plot(kind="cycle"), MATH)
