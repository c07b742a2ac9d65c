"""Export an executed program notebook to a self-contained HTML report.

The report is meant to be e-mailed to executives and opened offline: the
``lopsnb`` nbconvert template (package data ``lopsnb/report/templates/lopsnb``;
``templates/lopsnb`` in the repository links to it) emits no scripts and no
external references, hides code, prompts, stderr streams and tracebacks, and
adds a header, a table of contents and a footer built from the notebook's
``lopsnb`` metadata (``title``, ``program_id``, ``generated_at``,
``data_as_of``, ``version``).

When a program's notebook cannot be produced, :func:`failure_page` renders a
small standalone page that says so and why.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat import NotebookNode

from lopsnb._version import __version__
from lopsnb.errors import RunError
from lopsnb.report.page import add_header_scope, print_footer_css, shell_loader

__all__ = ["TEMPLATE_DIR", "TEMPLATE_NAME", "TEMPLATE_FILES", "CSS_PATH", "package_dir", "template_location", "make_exporter", "export_html", "failure_page", "toc_entries", "report_css"]

#: Name of the report template (a folder of :data:`TEMPLATE_DIR`).
TEMPLATE_NAME = "lopsnb"
#: Files a report template folder must hold (an nbconvert template on the ``lab`` base).
TEMPLATE_FILES = ("conf.json", "index.html.j2")


def package_dir(name: str) -> Path:
    """A folder of package data in ``lopsnb/report`` (``templates`` or ``notebooks``) as a path.

    Read with :mod:`importlib.resources`, so it is found wherever lopsnb is
    installed (a wheel, an editable checkout), never relative to a repository.

    Raises
    ------
    RunError
        lopsnb is installed in a way that keeps package data off the file
        system (a zip import): nbconvert and papermill need real files.
    """
    found = resources.files("lopsnb.report") / name
    if not isinstance(found, Path) or not found.is_dir():
        raise RunError(f"lopsnb's package data folder {name!r} is not on the file system ({found}); install lopsnb from a wheel or a checkout")
    return found


#: Folder holding the nbconvert templates shipped inside the package.
TEMPLATE_DIR: Path = package_dir("templates")
#: The stylesheet shared by reports, failure pages and the portfolio index.
CSS_PATH: Path = TEMPLATE_DIR / TEMPLATE_NAME / "lopsnb.css"


def template_location(template: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """(base folder, template name) of a report template folder for nbconvert.

    Parameters
    ----------
    template : path, optional
        A folder holding a copy of the ``lopsnb`` template (``conf.json``,
        ``index.html.j2``, ``lopsnb.css``), e.g. ``templates/lopsnb`` copied and
        edited; None: the template shipped with lopsnb.

    Returns
    -------
    (Path, str)
        nbconvert's ``extra_template_basedirs`` entry and ``template_name``: the
        folder's parent and its name.

    Raises
    ------
    RunError
        The folder does not exist or lacks a template file.
    """
    if template is None:
        return TEMPLATE_DIR, TEMPLATE_NAME
    folder = Path(template).expanduser().resolve()
    if not folder.is_dir():
        raise RunError(f"template folder {folder} not found; copy templates/lopsnb (or lopsnb/report/templates/lopsnb) and point --template at the copy")
    missing = [f for f in TEMPLATE_FILES if not (folder / f).is_file()]
    if missing:
        raise RunError(f"template folder {folder} lacks {', '.join(missing)}; expected a copy of the lopsnb template ({', '.join(TEMPLATE_FILES)}, lopsnb.css)")
    return folder.parent, folder.name

_HEADING = re.compile(r"<h([23])\b[^>]*\bid=\"([^\"]*)\"[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
_ANCHOR_LINK = re.compile(r"<a\b[^>]*class=\"anchor-link\"[^>]*>.*?</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def report_css() -> str:
    """The report stylesheet (one palette for reports and the portfolio index)."""
    return CSS_PATH.read_text(encoding="utf-8")


def _markdown_sources(nb: NotebookNode) -> list[str]:
    # Headings come from markdown cells and from markdown the notebook
    # displays at run time (e.g. a section titled with the program's name).
    out: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            out.append("".join(src) if isinstance(src, list) else str(src))
        elif cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
                md = data.get("text/markdown")
                if md:
                    out.append("".join(md) if isinstance(md, list) else str(md))
    return out


def toc_entries(nb: NotebookNode) -> list[dict[str, Any]]:
    """Table-of-contents entries of the notebook's level-2 and level-3 headings.

    Parameters
    ----------
    nb : NotebookNode
        The notebook.

    Returns
    -------
    list of dict
        ``{"level": 2 | 3, "anchor": str, "text": str}`` in document order.
        ``anchor`` is the ``id`` nbconvert gives the rendered heading; ``text``
        is plain (unescaped) text, so the template must escape both.
    """
    entries: list[dict[str, Any]] = []
    for source in _markdown_sources(nb):
        # Render with nbconvert's own markdown renderer so anchors match the
        # ids of the headings in the page body exactly.
        rendered = markdown2html_mistune(source)
        for level, anchor, inner in _HEADING.findall(rendered):
            text = html.unescape(_TAG.sub("", _ANCHOR_LINK.sub("", inner))).strip()
            if text:
                entries.append({"level": int(level), "anchor": html.unescape(anchor), "text": text})
    return entries


def make_exporter(template: str | os.PathLike[str] | None = None) -> HTMLExporter:
    """An HTML exporter configured for lopsnb reports (reusable across notebooks).

    Code inputs, input and output prompts are excluded; stderr streams,
    tracebacks, JavaScript and widget outputs are dropped by the template;
    images stay embedded as base64 data URIs (nbconvert's default).

    Parameters
    ----------
    template : path, optional
        A user's copy of the template folder (see :func:`template_location`);
        None: the template shipped with lopsnb.
    """
    base, name = template_location(template)
    exporter = HTMLExporter(
        template_name=name,
        extra_template_basedirs=[str(base)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_raw=True,
        exclude_unknown=True,
        embed_images=True,
        # The page shell shared with the index and failure pages (lopsnb.report.page).
        extra_loaders=[shell_loader()],
    )
    exporter.register_filter("lopsnb_toc", toc_entries)
    exporter.register_filter("lopsnb_print_css", print_footer_css)
    return exporter


_TITLE_HEADING = re.compile(r"^#[ \t]+[^\n]*(\n|$)", re.MULTILINE)


def _without_title_headings(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` whose markdown cells have no level-1 heading.

    The page header's ``<h1>`` is the page's title and its only level-1
    heading (one ``h1``, then ``h2``/``h3`` in order); a notebook's own
    ``# Title`` line, there for JupyterLab, would repeat it.
    """
    import copy

    out = copy.deepcopy(nb)
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            cell["source"] = _TITLE_HEADING.sub("", src)
    return out


def export_html(nb: NotebookNode, *, exporter: HTMLExporter | None = None, resources_meta: Mapping[str, Any] | None = None) -> str:
    """Render an executed notebook as a self-contained HTML report.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook; its ``metadata["lopsnb"]`` fills the header.
    exporter : HTMLExporter, optional
        A reusable exporter from :func:`make_exporter` (one is made if omitted).
    resources_meta : mapping, optional
        nbconvert ``resources["metadata"]`` (e.g. ``{"name": ...}``, used as the
        title when the notebook has no ``lopsnb.title``).

    Returns
    -------
    str
        The HTML page.
    """
    exporter = exporter if exporter is not None else make_exporter()
    resources = {"metadata": dict(resources_meta or {})}
    body, _ = exporter.from_notebook_node(_without_title_headings(nb), resources=resources)
    return add_header_scope(body)


def failure_page(program_id: str, program_name: str | None, error: str, *, duration_s: float | None, log_tail: str = "") -> str:
    """A small standalone HTML page saying a program's report could not be produced.

    Parameters
    ----------
    program_id, program_name : str
        The program (the name may be None when its file could not be read).
    error : str
        What went wrong, in one or a few lines.
    duration_s : float or None
        How long the attempt took.
    log_tail : str
        The end of the log or traceback (plain text; ANSI codes are removed).

    Returns
    -------
    str
        The page; every value is HTML-escaped.
    """
    from markupsafe import Markup

    from lopsnb.report.page import render_page

    title = program_name or program_id
    meta = [("Program", program_id)] + ([("Duration", f"{duration_s:.1f} s")] if duration_s is not None else []) + [("lopsnb", __version__)]
    tail = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", log_tail or "").strip()
    body = Markup(
        '<div class="lp-alert">\n<p><strong>The report for this program could not be produced.</strong></p>\n<p>{}</p>\n</div>\n'
        "<p>The other programs of the batch are not affected. Fix the cause above (often the program file or its data),\n"
        "then run the batch again; an analyst can open <code>report.ipynb</code> (when present) to see where it stopped.</p>\n"
    ).format(error)
    if tail:
        body += Markup("<h2>Log (last lines)</h2>\n<pre>{}</pre>\n").format(tail)
    footer = [Markup("Program {} &middot; lopsnb {}. This page works offline and contains no scripts.").format(program_id, __version__)]
    return render_page(kicker="Training impact report", title=title, meta=meta, body=body, footer=footer, css=report_css(),
                       head_title=f"Report not produced: {title}")
