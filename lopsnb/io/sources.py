"""Where ``workspace.yml`` sources may point: inside the workspace, and existing.

A workspace folder is often received from someone else, so its
``workspace.yml`` is untrusted: a source ``file: ../../etc/passwd`` must not
make lopsnb read (and echo in an error message) a file outside the folder,
and a mistyped SQLite path must not silently create an empty database.
"""

from __future__ import annotations

from pathlib import Path

from lopsnb.errors import Problem, SourceError

__all__ = ["SQLITE_PREFIX", "checked_source_path", "checked_sqlite_url"]

SQLITE_PREFIX = "sqlite:///"
_INSIDE = "a path inside the workspace folder (no '..', absolute path or symbolic link leading out of it)"


def checked_source_path(folder: Path, relative: str, *, config: str, field: str, line: int | None) -> Path:
    """The resolved path of a source file, refused when it leads out of ``folder``.

    Parameters
    ----------
    folder : Path
        The workspace folder.
    relative : str
        The path as written in ``workspace.yml``.
    config : str
        The ``workspace.yml`` path, named in the problem.
    field : str
        The user's field, e.g. ``sources.kpis.file``.
    line : int or None
        Line of the field in ``workspace.yml``.

    Raises
    ------
    SourceError
        When the path, with every symbolic link resolved, is not inside the
        workspace folder. Nothing of the file is read.
    """
    root = folder.resolve()
    target = (folder / relative).resolve()
    if not target.is_relative_to(root):
        raise SourceError(
            [Problem(config, line, field, f"{relative!r}, which resolves outside the workspace folder", _INSIDE)],
            summary=f"refused source {field}",
        )
    return target


def checked_sqlite_url(url: str, folder: Path, *, config: str, field: str, line: int | None) -> str:
    """``url`` with a relative SQLite path made absolute, after checking the file.

    Non-SQLite URLs (a database server) and ``sqlite:///:memory:`` pass
    unchanged. A SQLite file must exist (SQLite would otherwise create an
    empty one and the query would fail with a confusing "no such table") and
    must lie inside the workspace folder.

    Raises
    ------
    SourceError
        Naming ``config``, ``line`` and ``field`` (``sources.<table>.url``).
    """
    if not url.startswith(SQLITE_PREFIX) or url in (SQLITE_PREFIX + ":memory:", SQLITE_PREFIX):
        return url
    written, _sep, query = url[len(SQLITE_PREFIX) :].partition("?")
    target = checked_source_path(folder, written, config=config, field=field, line=line)
    if not target.is_file():
        raise SourceError(
            [Problem(config, line, field, f"{url!r}: no such database file {written!r}", "the path of an existing SQLite database file, relative to the workspace folder")],
            summary=f"cannot read source {field}",
        )
    return SQLITE_PREFIX + str(target) + ("?" + query if query else "")
