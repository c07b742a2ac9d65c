"""The runner <-> notebook contract, defined once, and the helper notebooks open it with.

``lopsnb run`` executes the report notebooks (``impact_report.ipynb`` per
program, ``scorecards.ipynb`` and ``operations.ipynb`` per batch) with
papermill. What passes between the runner and a notebook is fixed here:

* papermill parameters: :data:`PARAM_WORKSPACE` (the workspace folder, an
  absolute path in a batch), :data:`PARAM_PROGRAM_ID` (program notebooks
  only) and :data:`PARAM_RESULTS_PATH` (where the notebook writes its
  ``results.json``; ``None`` when run by hand);
* environment: :data:`CACHE_ENV` (``LOPSNB_CACHE``) names the batch's
  validated Parquet cache (see :mod:`lopsnb.io.cache`); absent or empty: the
  notebook reads and validates the sources;
* the results file: :data:`RESULTS_FILE` in the program's output folder,
  written by :meth:`NotebookContext.write_results` (JSON, sorted keys, no NaN).

A notebook's setup cell is one call::

    ctx = open_notebook(workspace, program_id=program_id, results_path=results_path)

so the notebooks hold no path lookups, cache handling or file writing of their
own. The runner imports the names from here (the runner stage sits above the
report stage), never spells them itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lopsnb.io.workspace import Workspace

__all__ = [
    "PARAM_WORKSPACE",
    "PARAM_PROGRAM_ID",
    "PARAM_RESULTS_PATH",
    "CACHE_ENV",
    "RESULTS_FILE",
    "INLINE_BACKEND",
    "notebook_parameters",
    "locate_workspace",
    "NotebookContext",
    "open_notebook",
    "show",
    "figure_alt",
    "show_table",
    "say",
]

#: papermill parameter: the workspace folder.
PARAM_WORKSPACE = "workspace"
#: papermill parameter: the program a program notebook reports on.
PARAM_PROGRAM_ID = "program_id"
#: papermill parameter: the file the notebook writes its results to (None: none).
PARAM_RESULTS_PATH = "results_path"
#: Environment variable naming the batch's validated Parquet cache folder.
CACHE_ENV = "LOPSNB_CACHE"
#: Name of the results file in a program's output folder.
RESULTS_FILE = "results.json"
#: Matplotlib backend the kernels use: figures become images in the report.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def notebook_parameters(workspace: str, results_path: str, program_id: str | None = None) -> dict[str, str]:
    """The papermill parameters the runner passes to a report notebook.

    Parameters
    ----------
    workspace : str
        The workspace folder.
    results_path : str
        Where the notebook must write its results.
    program_id : str, optional
        The program (program notebooks); ``None`` for the learning-function pages.

    Returns
    -------
    dict
        ``{PARAM_WORKSPACE: ..., PARAM_RESULTS_PATH: ...[, PARAM_PROGRAM_ID: ...]}``.
    """
    params = {PARAM_WORKSPACE: workspace, PARAM_RESULTS_PATH: results_path}
    if program_id is not None:
        params[PARAM_PROGRAM_ID] = program_id
    return params


def locate_workspace(path: str | os.PathLike[str] = "../data_samples/acme") -> Path:
    """Find a workspace folder given as ``path``, wherever the notebook runs from.

    Tries ``path`` as given (relative to the working directory), then relative
    to each parent of the working directory, then the same with leading ``..``
    parts removed. A notebook run from the repository root or from
    ``notebooks/`` therefore finds ``data_samples/acme`` with the same
    parameter. Nothing is looked up relative to where lopsnb is installed: an
    installed package has no sample folder (``lopsnb demo`` writes one).

    Parameters
    ----------
    path : str or path
        Absolute, or relative to the working directory or one of its parents.

    Returns
    -------
    Path
        The resolved folder (it has a ``programs/`` sub-folder).

    Raises
    ------
    FileNotFoundError
        Naming every place looked at.
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        if p.is_dir():
            return p.resolve()
        raise FileNotFoundError(f"workspace folder {p} does not exist")
    stripped = Path(*[part for part in p.parts if part not in ("..", ".")]) if p.parts else p
    cwd = Path.cwd()
    tried: list[Path] = []
    for rel in (p, stripped):
        for base in (cwd, *cwd.parents):
            cand = base / rel
            tried.append(cand)
            if (cand / "programs").is_dir():
                return cand.resolve()
    raise FileNotFoundError(
        f"no workspace folder {str(path)!r}; looked in: " + ", ".join(str(t) for t in dict.fromkeys(tried))
        + " (`lopsnb demo --out DIR` writes the sample workspace to acme beside DIR)"
    )


@dataclass(kw_only=True)
class NotebookContext:
    """What a report notebook works on, as the runner (or the analyst) handed it over.

    Attributes
    ----------
    workspace : Workspace
        The loaded workspace (from the batch cache when there is one).
    workspace_path : Path
        Its folder.
    program_id : str or None
        The program of a program notebook.
    results_path : Path or None
        Where :meth:`write_results` writes; None when run by hand.
    cache : str or None
        The cache folder named by :data:`CACHE_ENV`, if any.
    """

    workspace: "Workspace"
    workspace_path: Path
    program_id: str | None
    results_path: Path | None
    cache: str | None

    def write_results(self, payload: Mapping[str, Any]) -> None:
        """Write ``payload`` as the notebook's results (sorted-key JSON; nothing when run by hand)."""
        from lopsnb._result import jsonable

        if self.results_path is None:
            return
        text = json.dumps(jsonable(dict(payload)), indent=2, sort_keys=True, allow_nan=False)
        self.results_path.write_text(text, encoding="utf-8")


def open_notebook(
    workspace: str | os.PathLike[str], *, program_id: str | None = None, results_path: str | os.PathLike[str] | None = None
) -> NotebookContext:
    """Set up a report notebook: find and load the workspace, note where results go.

    In a batch the workspace was validated once into the Parquet cache named
    by ``LOPSNB_CACHE``; a program notebook then reads only its program's rows
    from it (same results as the whole workspace). A stale or missing cache
    falls back to reading and validating the sources. Invalid program files
    are collected, not raised, so the pages still render for the others.

    Parameters
    ----------
    workspace : str or path
        The :data:`PARAM_WORKSPACE` parameter (see :func:`locate_workspace`).
    program_id : str, optional
        The :data:`PARAM_PROGRAM_ID` parameter of program notebooks.
    results_path : str or path, optional
        The :data:`PARAM_RESULTS_PATH` parameter.

    Returns
    -------
    NotebookContext
    """
    import matplotlib

    from lopsnb.io.workspace import load_workspace

    # Figures must be inline images even when the kernel inherited MPLBACKEND=Agg.
    matplotlib.use(INLINE_BACKEND)
    path = locate_workspace(workspace)
    cache = os.environ.get(CACHE_ENV) or None
    programs = [program_id] if cache and program_id is not None else None
    ws = load_workspace(path, on_program_error="collect", cache=cache or False, programs=programs)
    return NotebookContext(
        workspace=ws, workspace_path=path, program_id=program_id,
        results_path=Path(results_path) if results_path else None, cache=cache,
    )


def show(fig_or_ax: Any, alt: str | None = None) -> None:
    """Display a matplotlib figure (or the figure of an axes) once, then close it.

    Parameters
    ----------
    fig_or_ax : Figure or Axes
        What to display.
    alt : str, optional
        The chart's text alternative (what it shows and its key number; see
        :mod:`lopsnb.report.alt`), plain text. It travels in the output's
        ``image/png`` metadata and the report template writes it, escaped,
        as the image's ``alt`` attribute.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = fig_or_ax.figure if hasattr(fig_or_ax, "figure") and not hasattr(fig_or_ax, "savefig") else fig_or_ax
    alt = alt or figure_alt(fig)
    if alt:
        display(fig, metadata={"image/png": {"alt": str(alt)}})
    else:
        display(fig)
    plt.close(fig)


def figure_alt(fig: Any) -> str:
    """A minimal alt text from a figure's axes titles ("" when it has none).

    Titles hold ``\\$`` where a user string had ``$`` (``plots.literal``,
    which keeps matplotlib from reading mathtext); alt text is plain text,
    so the escape is undone here.
    """
    titles = [ax.get_title().replace("\\$", "$") for ax in getattr(fig, "axes", [])]
    titles = [t for t in titles if t.strip()]
    return ("Chart: " + "; ".join(titles)) if titles else ""


def show_table(frame: Any, formats: Mapping[str, str] | None = None) -> None:
    """Display a table as escaped HTML: values from the data are never trusted as markup.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (not changed).
    formats : mapping, optional
        ``{column: "{:.2f}"}`` format strings; missing values show as "–".
    """
    import pandas as pd
    from IPython.display import HTML, display

    out = frame.copy()
    for col, fmt in (formats or {}).items():
        if col in out:
            out[col] = [("–" if pd.isna(v) else fmt.format(v)) for v in out[col]]
    display(HTML(_html_table(out)))


def _html_table(frame: Any) -> str:
    """An escaped HTML table: column headers with ``scope="col"``; numbers right-aligned (class ``num``), text left."""
    import html as _html
    import numbers

    import pandas as pd

    def cell(v: Any) -> str:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return "<td>–</td>"
        if isinstance(v, numbers.Number) and not isinstance(v, bool):
            return f"<td class='num'>{_html.escape(f'{v:,}' if isinstance(v, numbers.Integral) else str(v))}</td>"
        text = str(v)
        looks_numeric = text.replace(",", "").replace("%", "").replace("+", "").replace("−", "-").replace(" to ", "").replace("-", "").replace(".", "").strip().isdigit()
        return f"<td class='num'>{_html.escape(text)}</td>" if looks_numeric else f"<td>{_html.escape(text)}</td>"

    head = "".join(f"<th scope='col'>{_html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False, name=None))
    return f"<table class='lopsnb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def say(text: str) -> None:
    """Display a Markdown sentence (escape data in it with ``html.escape`` first)."""
    from IPython.display import Markdown, display

    display(Markdown(text))
