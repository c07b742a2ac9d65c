"""The ``lopsnb`` command line.

``lopsnb init DIR``, ``lopsnb validate WORKSPACE``, ``lopsnb run WORKSPACE
[options]``, ``lopsnb demo [WORKSPACE] [options]`` and ``lopsnb pdf FILE.html [-o OUT]``. Exit status: 0 success, 1 a lopsnb
error or at least one failed program, 2 bad command-line arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lopsnb._version import __version__
from lopsnb.errors import LopsnbError, RunError

if TYPE_CHECKING:  # pragma: no cover
    from lopsnb.io.workspace import Workspace

__all__ = ["main", "build_parser", "SAMPLE_FOLDER", "SAMPLE_MARKER", "sample_target"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lopsnb`` command."""
    parser = argparse.ArgumentParser(prog="lopsnb", description="Evidence of the business impact of training.")
    parser.add_argument("--version", action="version", version=f"lopsnb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create a new workspace folder: workspace.yml with commented source examples, a program template")
    p.add_argument("folder")
    p.add_argument("--name", default=None, help="the workspace's display name (default: the folder's name)")

    p = sub.add_parser("validate", help="load and validate a workspace, print its summary, the mappings applied and the identity matching")
    p.add_argument("workspace")

    from lopsnb.runner.command import add_run_arguments

    add_run_arguments(sub.add_parser("run", help="render an impact report per program and the portfolio index"))
    add_run_arguments(
        sub.add_parser("demo", help="write the sample workspace (or take WORKSPACE), validate it, print its summary, then run every program"),
        workspace_optional=True,
    )
    p = sub.add_parser("pdf", help="print an HTML report or index to PDF with the system's headless Chromium or Chrome")
    p.add_argument("html", metavar="FILE.html", help="the page to print (a report.html or index.html)")
    p.add_argument("-o", "--out", default=None, metavar="OUT.pdf", help="the PDF to write (default: FILE.pdf beside FILE.html)")
    p.add_argument("--browser", default=None, metavar="PATH", help="Chromium or Chrome executable (default: $LOPSNB_BROWSER, else chromium on PATH)")
    return parser


def _pdf(args: argparse.Namespace) -> int:
    from lopsnb.report.pdf import html_to_pdf

    print(f"Wrote {html_to_pdf(args.html, args.out, browser=args.browser)}")
    return 0


#: Where ``lopsnb demo`` without a workspace writes the sample: a folder of this
#: name beside ``--out`` (never inside it: the runner refuses an output folder
#: that contains the workspace).
SAMPLE_FOLDER = "acme"

#: File inside a sample folder written by ``lopsnb demo``; only such a folder is
#: ever replaced, so a user's own ``acme`` folder is never touched.
SAMPLE_MARKER = ".lopsnb-sample"


def sample_target(out: str) -> Path:
    """Where ``lopsnb demo --out OUT`` writes the sample workspace: ``acme`` beside ``OUT``."""
    return Path(out).expanduser().resolve().parent / SAMPLE_FOLDER


def _write_sample(out: str) -> str:
    """Write the fictional Acme workspace (fixed seed, default size) beside ``out``; return its path.

    Raises
    ------
    RunError
        If the target exists and was not written by ``lopsnb demo``, or cannot be written.
    """
    import shutil
    import tempfile

    from lopsnb.io.sample import generate

    target = sample_target(out)
    if target.exists() and not (target / SAMPLE_MARKER).is_file():
        raise RunError(
            f"cannot write the sample workspace to {target}: the folder exists and was not written by lopsnb demo; "
            f"move it, pass it as the workspace (lopsnb demo {target}), or choose an --out whose folder has no '{SAMPLE_FOLDER}'"
        )
    print(f"Writing the sample workspace (fictional Acme Corp) to {target}")
    staging: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target, then swapped in: an interrupted demo never
        # leaves a half-written workspace behind.
        staging = Path(tempfile.mkdtemp(prefix=".acme-", dir=target.parent))
        generate(staging)
        (staging / SAMPLE_MARKER).write_text("written by lopsnb demo; lopsnb demo may replace this folder\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except OSError as exc:
        raise RunError(f"cannot write the sample workspace to {target}: {exc}") from exc
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def _demo(args: argparse.Namespace) -> int:
    from lopsnb.runner.command import run_command

    if args.workspace is None:
        out = Path(args.out).expanduser()
        if out.exists() and not out.is_dir():
            raise RunError(f"output folder {out.resolve()} exists and is not a folder; choose another --out")
        args.workspace = _write_sample(args.out)
    status = _validate(args.workspace)
    if status:
        return status
    print()
    return run_command(args)


def _init(folder: str, name: str | None) -> int:
    from lopsnb.io.scaffold import init_workspace

    written = init_workspace(folder, name=name)
    print(f"Created workspace {Path(folder)}:")
    for path in written:
        print(f"  {path}")
    print(
        "\nNext: put your exports in exports/, declare them under sources in workspace.yml, copy program-template.yml to "
        f"programs/<id>.yml, then run: lopsnb validate {folder}   (step by step: docs/bring-your-data.md)"
    )
    return 0


def _validate(workspace: str) -> int:
    from lopsnb.io.workspace import load_workspace

    ws = load_workspace(workspace, on_program_error="collect")
    print(ws.summary())
    if ws.program_errors:
        for pid, err in sorted(ws.program_errors.items()):
            print(f"\nprogram {pid}: {err}", file=sys.stderr)
        return 1
    print("\nWorkspace is valid.")
    _print_design_checks(ws)
    return 0


def _print_design_checks(ws: Workspace) -> None:
    """Design warnings of every evaluated program (exit status unchanged: they are warnings)."""
    from lopsnb.evaluation.checks import workspace_checks

    warnings = workspace_checks(ws)
    if not warnings:
        print("Design checks: no warnings.")
        return
    n = sum(len(v) for v in warnings.values())
    print(f"\nDesign checks: {n} warning(s) in {len(warnings)} program(s) (nothing estimated):")
    for pid, problems in warnings.items():
        for problem in problems:
            print(f"warning: program {pid}: {problem}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "init":
            return _init(args.folder, args.name)
        if args.command == "validate":
            return _validate(args.workspace)
        if args.command == "demo":
            return _demo(args)
        if args.command == "pdf":
            return _pdf(args)
        if args.command == "run":
            from lopsnb.runner.command import run_command

            return run_command(args)
    except LopsnbError as exc:
        print(f"lopsnb: error: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse enforces a known command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
