"""The batch runner's output folder: never the user's data, always the runner's own.

``lopsnb run`` deletes and replaces folders inside ``--out`` (a program's
folder is swapped in whole). Everything here makes sure it only ever does that
to folders it made itself:

- ``--out`` may not be the workspace, lie inside it or contain it (symlinks
  resolved): :func:`check_not_overlapping`.
- Every folder the runner creates holds a marker file, :data:`MARKER`
  (``.lopsnb-output``, JSON with the run id): the output root, each program
  folder and each temporary folder. A folder without it is never replaced or
  deleted; an existing non-empty output root without it is refused.
- ``--out`` must be writable, which is checked by creating a probe file (the
  permission bits say nothing when running as root): :func:`prepare_out`.
- A run holds an exclusive ``flock`` on its temporary folder's marker, so the
  next run can tell the leftovers of a killed run (lock free) from the live
  folder of a concurrent run (lock held): :func:`clean_stale_tmp`.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import IO

from lopsnb.errors import RunError

__all__ = [
    "MARKER", "TMP_PREFIX", "new_run_id", "marker_text", "check_not_overlapping", "prepare_out", "is_marked",
    "write_marker", "TempRoot", "clean_stale_tmp",
]

#: Name of the marker file in every folder the runner created.
MARKER = ".lopsnb-output"
#: Prefix of a run's temporary folder inside ``--out``.
TMP_PREFIX = ".lopsnb-tmp-"


def new_run_id() -> str:
    """A fresh identifier for one run (written into its markers)."""
    return uuid.uuid4().hex


def marker_text(run_id: str, kind: str) -> str:
    """The marker file's content: JSON naming the runner, the folder's kind and the run."""
    from lopsnb._version import __version__

    return json.dumps({"created_by": "lopsnb run", "kind": kind, "run_id": run_id, "lopsnb": __version__}) + "\n"


def write_marker(folder: Path, run_id: str, kind: str = "program") -> None:
    """Mark ``folder`` as made by the runner (``kind``: out, program, tmp)."""
    from lopsnb.runner.files import atomic_write

    atomic_write(Path(folder) / MARKER, marker_text(run_id, kind))


def is_marked(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (not a symlink) holding the runner's marker."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return False
    marker = folder / MARKER
    if marker.is_symlink() or not marker.is_file():
        return False
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("created_by") == "lopsnb run"


def check_not_overlapping(out: Path, workspace: Path) -> None:
    """Refuse an output folder that is the workspace, lies inside it or contains it.

    Both paths are resolved (symlinks followed, also for an ``out`` that does
    not exist yet), so a link cannot smuggle the workspace into ``--out``.
    """
    o, w = Path(out).resolve(), Path(workspace).resolve()
    if o == w:
        why = "is the workspace"
    elif w in o.parents:
        why = "lies inside the workspace"
    elif o in w.parents:
        why = "contains the workspace"
    else:
        return
    raise RunError(
        f"output folder {o} {why} {w}: the runner replaces folders in its output folder, so it must be separate "
        "from the workspace; choose another --out (for example a 'reports' folder next to the workspace)"
    )


def _probe_writable(out: Path) -> None:
    probe = out / f".lopsnb-probe-{uuid.uuid4().hex[:12]}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise RunError(f"output folder {out} is not writable ({exc.strerror or exc}); choose another --out") from exc


def prepare_out(out: Path, run_id: str) -> Path:
    """Create or adopt the output root, check it is writable and mark it; return it resolved.

    A new or empty folder is adopted; a non-empty folder must carry the
    runner's marker, so a user's folder is never written into.
    """
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise RunError(f"output folder {out} exists and is not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create output folder {out}: {exc.strerror or exc}; choose another --out") from exc
    if not is_marked(out):
        try:
            entries = sorted(p.name for p in out.iterdir())
        except OSError as exc:
            raise RunError(f"cannot read output folder {out}: {exc.strerror or exc}") from exc
        if entries:
            shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
            raise RunError(
                f"output folder {out} is not empty ({shown}) and was not created by lopsnb run (no {MARKER} marker); "
                "the runner never writes into a folder it did not make: choose a new or empty --out"
            )
        _probe_writable(out)
        write_marker(out, run_id, "out")
    else:
        _probe_writable(out)
    return out


def _try_lock(fh: IO[bytes]) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: never treat a folder as stale
        return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class TempRoot:
    """A run's marked, locked temporary folder ``<out>/.lopsnb-tmp-<run id>``."""

    def __init__(self, out: Path, run_id: str) -> None:
        self.path = Path(out) / f"{TMP_PREFIX}{run_id[:16]}"
        self.path.mkdir()
        write_marker(self.path, run_id, "tmp")
        # Held until close(): a concurrent run sees the lock and leaves this folder alone.
        self._lock: IO[bytes] | None = open(self.path / MARKER, "rb")  # noqa: SIM115 - held for the run
        _try_lock(self._lock)

    def close(self) -> None:
        """Remove the folder and release the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def clean_stale_tmp(out: Path) -> list[Path]:
    """Remove temporary folders left in ``out`` by killed runs; return them.

    Only folders named ``.lopsnb-tmp-*`` that hold the runner's marker and
    whose lock no live run holds are removed.
    """
    removed: list[Path] = []
    for folder in sorted(Path(out).glob(f"{TMP_PREFIX}*")):
        if not is_marked(folder):
            continue
        try:
            fh = open(folder / MARKER, "rb")  # noqa: SIM115 - closed below
        except OSError:
            continue
        try:
            if _try_lock(fh):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        finally:
            fh.close()
    return removed
