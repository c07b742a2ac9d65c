"""Privacy of shared reports: no person identifiers anywhere, small groups suppressed, comments opt-in and redacted."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from lopsnb.evaluation.levels import BehaviorResult, redact
from lopsnb.report.plots import plot_trend
from lopsnb.report.sections import SUPPRESSED, suppress_series
from security.kit import NAMED_COMMENT, NAMED_COMMENT_REDACTED, output_texts, people_tokens

matplotlib.use("Agg")

MARK = SUPPRESSED.format(n=5).replace("<", "&lt;")


def _scan(out: Path, tokens: list[str]) -> list[tuple[str, str]]:
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
    hits = []
    for path, text in output_texts(out).items():
        hits += [(str(path.relative_to(out)), m.group(0)) for m in pattern.finditer(text)]
    return hits


def test_sample_batch_outputs_hold_no_person_identifiers(sample_batch) -> None:
    """Every person_id, name and e-mail of the Acme roster, searched in every output file (HTML, JSON, CSV, XLSX, ipynb)."""
    assert sample_batch.result.failed == 0, sample_batch.result.summary()
    tokens = people_tokens(sample_batch.workspace / "people.csv")
    assert len(tokens) > 5000  # ids, names and e-mails of ~2000 people
    files = output_texts(sample_batch.out)
    assert {p.name for p in files} >= {"index.html", "portfolio.csv", "portfolio.xlsx", "report.html", "results.json", "status.json", "report.ipynb"}
    assert _scan(sample_batch.out, tokens) == []


def test_security_batch_outputs_hold_no_person_identifiers(security_batch) -> None:
    tokens = people_tokens(security_batch.workspace / "people.csv")
    # e-mails inside comments are redacted; the scan would find them otherwise
    assert _scan(security_batch.out, tokens) == []
    # and the scan itself can fail: a planted identifier is found
    planted = security_batch.out / "planted.txt"
    planted.write_text(f"x {tokens[0]} y")
    try:
        assert _scan(security_batch.out, tokens) == [("planted.txt", tokens[0])]
    finally:
        planted.unlink()


class _Rows(HTMLParser):
    """Table rows of a page as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _rows(page: str, first: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(page)
    return [r for r in parser.rows if r and r[0] == first]


def _page(batch, pid: str) -> str:
    assert (batch.out / pid / "status.json").is_file()
    return (batch.out / pid / "report.html").read_text(encoding="utf-8")


def test_small_groups_are_suppressed_and_marked_in_the_report(security_batch) -> None:
    page = _page(security_batch, "privacy-demo")
    mark = SUPPRESSED.format(n=5)
    # Level 1: the item answered by 2 people shows its n and the marker, no statistic
    (rare,) = _rows(page, "Rare item answered by two")
    assert rare[2] == "2" and rare[3:7] == [mark] * 4, rare
    (shown,) = _rows(page, "Relevant to my job")
    assert mark not in shown and re.fullmatch(r"\d\.\d+", shown[3])
    # Level 3: the 2 peers' rating is replaced, the 6 managers' shown
    rows = {r[1]: r for r in _rows(page, "Uses the checklist")}
    assert rows["peer"][3:7] == [mark] * 4 and "0.93" not in " ".join(rows["peer"])
    assert mark not in rows["manager"]
    # Level 2: 6 paired people, but individual gains exclude the 2 at the maximum: 4 < 5
    (gain,) = _rows(page, "Mean of individual normalized gains")
    assert gain[1] == mark
    (paired,) = _rows(page, "People with pre and post scores")
    assert paired[1] == "6"
    # Level 4: January has 3 participants: not drawn, and said so
    assert "1 point(s) averaging fewer than 5 entities are suppressed" in page


def test_small_cohort_hides_group_means_and_comments(security_batch) -> None:
    page = _page(security_batch, "tiny")
    mark = SUPPRESSED.format(n=5)
    (balance,) = _rows(page, "baseline revenue")
    assert balance[1] == mark and balance[3] == mark  # 3 participants: their mean and the SMD
    (item,) = _rows(page, "Relevant to my job")
    assert item[3] == mark
    assert "point(s) averaging fewer than 5" in page
    # comments exist in the data, but are excluded by default: no block, no text
    assert "TINY-SECRET-COMMENT" not in page and ">Comments<" not in page


def test_comments_included_only_on_request_and_redacted(security_batch) -> None:
    page = _page(security_batch, "privacy-demo")
    assert "<h4>Comments</h4>" in page
    for text in ("Call [redacted] anytime", "Great, mail me at [redacted]", "Loved it"):
        assert f"<li>{text}</li>" in page
    assert "(555) 123-4567" not in page and "123-4567" not in page and "corp.example" not in page
    for pid in ("formula", "tiny"):
        assert "<h4>Comments</h4>" not in _page(security_batch, pid)
    assert all("TINY-SECRET" not in t for t in output_texts(security_batch.out).values())


def test_results_json_does_not_carry_excluded_comments(security_batch) -> None:
    import json

    tiny = json.loads((security_batch.out / "tiny" / "results.json").read_text())
    assert tiny["reaction"]["comments"] is None
    demo = json.loads((security_batch.out / "privacy-demo" / "results.json").read_text())
    assert demo["reaction"]["comments"] == sorted(["Great, mail me at [redacted]", "Call [redacted] anytime", "Loved it", "Useful",
                                                   NAMED_COMMENT_REDACTED])


def test_plots_do_not_draw_suppressed_groups() -> None:
    """Figures are images in the report: check what the plot helpers draw, before rasterising."""
    import matplotlib.pyplot as plt

    rates = pd.DataFrame({
        "behavior": ["a", "a"], "observer": ["manager", "peer"], "scale": ["share"] * 2, "n": [6, 2], "n_obs": [6, 2],
        "mean": [0.6, 0.93], "sd": [0.1, 0.0], "ci_low": [0.5, 0.9], "ci_high": [0.7, 0.96], "n_applying": [4, 2],
        "share_applying": [0.66, 1.0], "share_ci_low": [0.3, 0.3], "share_ci_high": [0.9, 1.0], "suppressed": [False, True],
    })
    ax = BehaviorResult(measured=True, rates=rates).plot()
    heights = [bar.get_width() for bar in ax.patches]
    assert heights == [pytest.approx(0.6), 0.0]  # the peers' 0.93 is not drawn
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a · manager", "a · peer (suppressed)"]
    plt.close(ax.figure)

    series = pd.DataFrame({"period": pd.to_datetime(["2026-01-01", "2026-02-01"] * 2), "group": ["participants"] * 2 + ["comparison"] * 2,
                           "mean": [111.0, 222.0, 100.0, 101.0], "n": [3, 6, 10, 10]})
    ax = plot_trend(suppress_series(series, 5))
    drawn = [list(line.get_ydata()) for line in ax.get_lines()]
    assert [222.0] in drawn and not any(111.0 in ys for ys in drawn)
    plt.close(ax.figure)


def test_people_named_in_comments_are_redacted_in_every_output(security_batch) -> None:
    """A comment with a person's full name, id, last name (other case) and e-mail: redacted in report, results.json and notebook."""
    import json

    out = security_batch.out / "privacy-demo"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"<li>{NAMED_COMMENT_REDACTED}</li>" in page
    assert NAMED_COMMENT_REDACTED in json.loads((out / "results.json").read_text())["reaction"]["comments"]
    notebook = (out / "report.ipynb").read_text(encoding="utf-8")
    assert NAMED_COMMENT_REDACTED in notebook
    for text in (page, (out / "results.json").read_text(), notebook):
        for token in ("Zqlast002", "zq-emp-003", "ZQLAST004", "Zq.Person005", "Zqfirst"):
            assert token.lower() not in text.lower(), token


def _people() -> pd.DataFrame:
    return pd.DataFrame({"person_id": ["E-1001", "7", "E-1003"], "name": ["Ann Li", "Will Grant", "Anne-Marie O'Neil"],
                         "email": ["ann.li@corp.example", None, "amo@corp.example"]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ann Li ran it", "[redacted] ran it"),  # the full name, with its 2-letter part
        ("ask ann or e-1001", "ask [redacted] or [redacted]"),  # case-insensitive; ids whole
        ("Annual review, Annie and Lisa", "Annual review, Annie and Lisa"),  # whole words only
        ("Li said so", "Li said so"),  # a part shorter than 3 letters is not redacted on its own
        ("will grant it; Will's fault", "[redacted] it; [redacted]'s fault"),  # names that are words: privacy wins
        ("rated 7 of 10", "rated 7 of 10"),  # a 1-character id is not redacted on its own
        ("O'Neil and Anne-Marie", "[redacted] and [redacted]"),
        ("mail amo or ann.li", "mail [redacted] or [redacted]"),  # e-mail local parts
        ("ann.li@corp.example / +1 555 123 4567", "[redacted] / [redacted]"),
        ("E-10012 is another id", "E-10012 is another id"),
    ],
)
def test_redact_replaces_people_of_the_table_as_whole_words(text: str, expected: str) -> None:
    from lopsnb.evaluation.redaction import people_terms

    assert redact(text, people=people_terms(_people())) == expected


def test_evaluate_and_report_redact_people_in_comments(tmp_path: Path) -> None:
    """Through evaluate() and the report section, without a kernel: results.json and the Comments block."""
    import json

    from lopsnb.evaluation import evaluate
    from lopsnb.report.sections import comments_block
    from security.kit import security_workspace

    ev = evaluate(security_workspace(tmp_path / "ws"), "privacy-demo")
    assert NAMED_COMMENT in (tmp_path / "ws" / "reactions.csv").read_text()  # the raw comment is in the data
    d = json.dumps(ev.to_dict())
    assert NAMED_COMMENT_REDACTED in d and "Zqlast002" not in d and "zq-emp-003" not in d
    assert f"<li>{NAMED_COMMENT_REDACTED}</li>" in comments_block(ev)
    # the section redacts again: a comment list built elsewhere cannot slip through
    ev.reaction.comments = [NAMED_COMMENT]
    assert f"<li>{NAMED_COMMENT_REDACTED}</li>" in comments_block(ev)
