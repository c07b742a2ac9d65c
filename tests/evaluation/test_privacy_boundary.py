"""Small-group suppression happens where the result is built: results.json never carries a hidden mean."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lopsnb import evaluate, load_workspace
from lopsnb.evaluation.privacy import suppress_series

SAMPLE = Path(__file__).resolve().parents[2] / "data_samples" / "acme"


def test_suppress_series_blanks_exactly_the_small_groups() -> None:
    series = pd.DataFrame({"period": ["2025-01", "2025-01", "2025-02"], "group": ["participants", "comparison", "participants"],
                           "mean": [10.0, 12.0, 11.0], "n": [4, 5, 6]})
    out = suppress_series(series, 5)
    assert out["suppressed"].tolist() == [True, False, False]
    assert np.isnan(out["mean"].iloc[0]) and out["mean"].iloc[1:].tolist() == [12.0, 11.0]
    assert out["n"].tolist() == [4, 5, 6]  # counts stay: they reveal no one's value
    again = suppress_series(out, 5)
    pd.testing.assert_frame_equal(again, out)  # idempotent
    assert suppress_series(series, 4)["suppressed"].tolist() == [False, False, False]


def test_results_json_carries_no_suppressed_mean() -> None:
    ws = load_workspace(SAMPLE)
    prog = ws.program("ai-assistant-pilot")  # 6 participating entities
    strict = prog.model_copy(update={"privacy": prog.privacy.model_copy(update={"min_group_size": 7})})
    d = json.loads(json.dumps(evaluate(ws, prog.id, program=strict).to_dict()))
    rows = d["results"]["series"]
    hidden = [r for r in rows if r["group"] == "participants"]
    assert hidden and all(r["suppressed"] and r["mean"] is None for r in hidden)
    assert any(r["mean"] is not None for r in rows if r["group"] == "comparison")
    # At the program's own threshold nothing of the participants is hidden.
    d5 = evaluate(ws, prog.id).to_dict()
    assert all(not r["suppressed"] for r in d5["results"]["series"] if r["group"] == "participants")
