"""Safe output paths and atomic writes for the batch runner.

Everything the runner writes appears whole or not at all: files are written
to a temporary name in the same folder and renamed over the target
(``os.replace`` is atomic on one filesystem), and a program's folder is
assembled in a staging folder and swapped in as a whole.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from lopsnb.errors import RunError

__all__ = ["SLUG", "check_slug", "program_dir", "atomic_write", "replace_dir"]

#: Program ids are slugs (the loader checks this too; the runner re-checks
#: before building any path from one, so a crafted id can never escape ``out``).
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def check_slug(program_id: str) -> str:
    """Return ``program_id`` if it is a slug, else raise :class:`RunError`."""
    if not isinstance(program_id, str) or not SLUG.fullmatch(program_id):
        raise RunError(f"program id {program_id!r} is not a slug ([a-z0-9][a-z0-9_-]*); no output path is built from it")
    return program_id


def program_dir(out: Path, program_id: str) -> Path:
    """The output folder of one program, ``<out>/<program_id>``, checked to stay inside ``out``."""
    check_slug(program_id)
    root = Path(out).resolve()
    path = (root / program_id).resolve()
    if path.parent != root:
        raise RunError(f"output path for {program_id!r} escapes {root}")
    return path


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_dir(target: Path, files: Mapping[str, str | bytes], *, staging_root: Path, marker: tuple[str, str] | None = None) -> None:
    """Replace folder ``target`` by a new folder holding exactly ``files``.

    The new folder is built under ``staging_root`` (which must be on the same
    filesystem as ``target``) and renamed into place, so readers see either
    the previous complete folder or the new complete one. ``marker``: a
    (hidden file name, text) pair written too — the runner's mark that it
    made the folder (names in ``files`` may not start with a dot).
    """
    stage = staging_root / f"stage-{target.name}-{uuid.uuid4().hex[:12]}"
    stage.mkdir(parents=True)
    old: Path | None = None
    try:
        for name, data in files.items():
            if "/" in name or name.startswith("."):
                raise RunError(f"invalid output file name {name!r}")
            atomic_write(stage / name, data)
        if marker is not None:
            atomic_write(stage / marker[0], marker[1])
        if target.exists():
            old = staging_root / f"old-{target.name}-{uuid.uuid4().hex[:12]}"
            os.replace(target, old)
        os.replace(stage, target)
    except BaseException:
        # Put the previous folder back rather than leave nothing behind.
        if old is not None and old.exists() and not target.exists():
            os.replace(old, target)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
