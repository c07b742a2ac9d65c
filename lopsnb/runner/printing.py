"""``lopsnb run --pdf``: print each report and the index to PDF once the batch has written them.

Printing happens after the HTML of the whole batch is in place, one page at a
time, in the parent process (Chromium starts per page in about a second; the
workers are busy with kernels). A page that cannot be printed is recorded and
does not stop the others; a missing browser is found before any program runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lopsnb.errors import PdfError
from lopsnb.report.pdf import find_browser, html_to_pdf, pdf_path

__all__ = ["PdfOutcome", "check_browser", "print_pages"]


@dataclass(kw_only=True)
class PdfOutcome:
    """PDFs written by :func:`print_pages` and the pages that could not be printed.

    Attributes
    ----------
    written : list of Path
        The PDFs, in the order printed.
    errors : dict of Path to str
        HTML page → why it could not be printed.
    """

    written: list[Path] = field(default_factory=list)
    errors: dict[Path, str] = field(default_factory=dict)


def check_browser(browser: str | os.PathLike[str] | None = None) -> Path:
    """The browser ``--pdf`` will print with; raises :class:`~lopsnb.errors.PdfError` before a batch starts when there is none."""
    return find_browser(browser)


def print_pages(pages: Iterable[Path], *, browser: str | os.PathLike[str] | None = None) -> PdfOutcome:
    """Print every existing page of ``pages`` to the PDF beside it (``report.html`` → ``report.pdf``).

    Parameters
    ----------
    pages : iterable of Path
        HTML files; missing ones are left out, repeated ones printed once.
    browser : path, optional
        Chromium or Chrome executable (default: :func:`lopsnb.report.pdf.find_browser`).

    Returns
    -------
    PdfOutcome
        What was written and what failed (failures never raise).
    """
    outcome = PdfOutcome()
    for page in dict.fromkeys(Path(p) for p in pages):
        if not page.is_file():
            continue
        try:
            outcome.written.append(html_to_pdf(page, pdf_path(page), browser=browser))
        except PdfError as exc:
            outcome.errors[page] = str(exc)
    return outcome
