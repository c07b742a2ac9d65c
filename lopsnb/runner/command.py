"""The ``lopsnb run`` sub-command: argument definitions and entry point."""

from __future__ import annotations

import argparse

__all__ = ["add_run_arguments", "run_command", "EXIT_INTERRUPTED"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError(f"expected a program id, got {text!r}")
    return ids


def add_run_arguments(parser: argparse.ArgumentParser, *, workspace_optional: bool = False) -> argparse.ArgumentParser:
    """Add the batch-run arguments to ``parser`` (a sub-command parser) and return it.

    ``WORKSPACE [--program ID ...] [--out DIR] [--workers N] [--timeout SECONDS]
    [--executor local|dask] [--scheduler ADDRESS] [--force] [--notebook PATH]
    [--template DIR] [--kernel NAME] [--no-progress] [--pdf]``; with
    ``workspace_optional`` WORKSPACE may be left out (``lopsnb demo``).
    """
    if workspace_optional:
        parser.add_argument("workspace", metavar="WORKSPACE", nargs="?", default=None,
                            help="workspace folder (default: write the sample workspace to OUT/acme and use it)")
    else:
        parser.add_argument("workspace", metavar="WORKSPACE", help="workspace folder")
    parser.add_argument("--program", dest="programs", metavar="ID", action="extend", type=_ids, default=None,
                        help="run only this program (repeat the option, or give ids separated by commas; default: all)")
    parser.add_argument("--out", default="reports", metavar="DIR", help="output folder (default: reports)")
    parser.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                        help="parallel workers (default: min(cores, programs, memory cap))")
    parser.add_argument("--timeout", type=_positive_float, default=600.0, metavar="SECONDS",
                        help="time allowed per program, kernel start included (default: 600)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local", help="local process pool or dask.distributed")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address (default: a local cluster)")
    parser.add_argument("--force", action="store_true", help="re-run programs whose inputs are unchanged")
    parser.add_argument("--notebook", default=None, metavar="PATH", help="notebook to run (default: the shipped impact_report.ipynb)")
    parser.add_argument("--template", default=None, metavar="DIR",
                        help="your copy of the report template folder templates/lopsnb (default: the shipped template)")
    parser.add_argument("--kernel", dest="kernel_name", default="python3", metavar="NAME", help="Jupyter kernel name (default: python3)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--pdf", action="store_true",
                        help="also print report.pdf beside each report.html and index.pdf, with the system's headless Chromium or Chrome")
    return parser


#: Exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_command(args: argparse.Namespace) -> int:
    """Run the batch described by parsed ``args``; print the summary; return the exit code.

    Ctrl-C (or SIGTERM) prints one line, ``interrupted: N done, M not started;
    rerun to continue``, and returns 130; the batch has already stopped its
    workers and kernels and removed its temporary files.
    """
    import signal
    import sys

    from lopsnb.runner.batch import BatchInterrupted

    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return _run(args)
    except BatchInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted before any program ran; rerun to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from lopsnb.runner.batch import run_batch

    result = run_batch(
        args.workspace,
        programs=args.programs,
        out=args.out,
        workers=args.workers,
        timeout=args.timeout,
        executor=args.executor,
        scheduler=args.scheduler,
        force=args.force,
        notebook=args.notebook,
        kernel_name=getattr(args, "kernel_name", "python3"),
        progress=getattr(args, "progress", True),
        template=getattr(args, "template", None),
        pdf=getattr(args, "pdf", False),
    )
    print(result.summary())
    print(f"Open {result.index_path}")
    return result.exit_code
