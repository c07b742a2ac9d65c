"""Print a lopsnb HTML page to PDF with the system's headless Chromium or Chrome.

No browser is ever downloaded: :func:`find_browser` looks for the Debian
``chromium`` package (``make browser`` installs it), ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable`` on ``PATH``, or the executable
named by the ``LOPSNB_BROWSER`` environment variable. The page's own print
style sheet (``templates/lopsnb/lopsnb.css``) sets the paper, the margins and
the footer (program name, "Page N of M"); Chromium's own header and footer
(date, file path) are switched off.

The browser runs with a throw-away profile, networking disabled (every host
name fails to resolve) and a time limit. The PDF is written to a temporary
file beside the target and renamed into place, so a target is either the old
file, the new one, or absent — never half written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from lopsnb.errors import PdfError

__all__ = ["BROWSER_ENV", "CANDIDATES", "DEFAULT_TIMEOUT_S", "find_browser", "html_to_pdf", "pdf_path"]

#: Environment variable naming a Chromium or Chrome executable to use instead of the ones on PATH.
BROWSER_ENV = "LOPSNB_BROWSER"
#: Executable names searched on PATH, in order.
CANDIDATES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Seconds one page may take to print (a long report prints in about two).
DEFAULT_TIMEOUT_S = 120.0

_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--mute-audio", "--disable-quic",
    # The pages are self-contained: nothing may leave the machine even if one tried.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    # Chromium's own header and footer print the date and the file path; the page's CSS has its own footer.
    "--no-pdf-header-footer",
)


def find_browser(browser: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium or Chrome executable to print with.

    Parameters
    ----------
    browser : path, optional
        An executable (a path or a name on PATH). Default: ``$LOPSNB_BROWSER``,
        else the first of :data:`CANDIDATES` found on PATH.

    Returns
    -------
    Path
        The executable.

    Raises
    ------
    PdfError
        No browser was found (the message says how to install one).
    """
    wanted = browser if browser is not None else os.environ.get(BROWSER_ENV) or None
    names: Sequence[str] = (str(wanted),) if wanted is not None else CANDIDATES
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    if wanted is not None:
        raise PdfError(f"browser {wanted!s} not found or not executable (from {'--browser' if browser is not None else BROWSER_ENV}); "
                       "point it at a Chromium or Chrome executable")
    raise PdfError("cannot write PDF: no Chromium or Chrome found on PATH (looked for "
                   f"{', '.join(CANDIDATES)}). Install the system package (Debian/Ubuntu: sudo apt-get install chromium; "
                   f"or run make browser), or set {BROWSER_ENV} to a Chrome executable")


def pdf_path(html: str | os.PathLike[str]) -> Path:
    """Where the PDF of ``html`` goes by default: beside it, ``report.html`` → ``report.pdf``."""
    return Path(html).with_suffix(".pdf")


def html_to_pdf(
    html: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    browser: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Print one HTML file to PDF.

    Parameters
    ----------
    html : path
        The page (a lopsnb report, index or any local HTML file).
    out : path, optional
        The PDF to write (default: :func:`pdf_path`); its folder must exist.
    browser : path, optional
        The browser executable (default: :func:`find_browser`).
    timeout : float
        Seconds allowed before the browser is stopped.

    Returns
    -------
    Path
        The PDF written.

    Raises
    ------
    PdfError
        The page is missing, no browser is found, or the browser failed,
        timed out or wrote no PDF. The target is then left as it was.
    """
    source = Path(html).expanduser().resolve()
    if not source.is_file():
        raise PdfError(f"cannot write PDF: {source} is not a file")
    target = Path(out).expanduser().resolve() if out is not None else pdf_path(source)
    if not target.parent.is_dir():
        raise PdfError(f"cannot write PDF: folder {target.parent} does not exist")
    exe = find_browser(browser)
    with tempfile.TemporaryDirectory(prefix="lopsnb-pdf-") as profile:
        fd, partial_name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".pdf.part", dir=target.parent)
        os.close(fd)
        partial = Path(partial_name)
        try:
            _print(exe, source, partial, Path(profile), timeout)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def _print(exe: Path, source: Path, partial: Path, profile: Path, timeout: float) -> None:
    """Run the browser once; raise :class:`PdfError` unless ``partial`` holds a PDF afterwards."""
    partial.unlink(missing_ok=True)  # a PDF there afterwards can only be the browser's
    cmd = [str(exe), *_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={partial}", source.as_uri()]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise PdfError(f"cannot write PDF of {source}: {exe} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise PdfError(f"cannot write PDF of {source}: {exe} could not be started ({exc})") from exc
    ok = partial.is_file() and partial.read_bytes()[:5] == b"%PDF-"
    if proc.returncode != 0 or not ok:
        tail = "\n".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:])
        raise PdfError(f"cannot write PDF of {source}: {exe} exited with status {proc.returncode}"
                       + ("" if ok else " and wrote no PDF") + (f"; its last messages:\n{tail}" if tail else ""))
