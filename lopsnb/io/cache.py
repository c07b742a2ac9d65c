"""A columnar cache of a validated workspace, read back by program.

Validating an enterprise-size workspace (hundreds of MB of CSV) takes tens
of seconds; a batch of reports needs it once, not once per program.
:func:`build_cache` writes every validated canonical table of a loaded
workspace to Parquet, with the validated program list, under::

    <workspace>/.lopsnb-cache/<key>/manifest.json
    <workspace>/.lopsnb-cache/<key>/<table>.parquet

``<key>`` is derived from the names, sizes and modification times of the
source files (data files, ``workspace.yml``, program files, files named in
``workspace.yml``) and from the lopsnb version, so it is cheap to compute and
changes whenever a source file does. ``load_workspace(path, cache=...,
programs=[...])`` reads a valid cache instead of the sources, with filters:
the program tables (enrollments, reactions, assessments, behaviors, costs,
estimates) are read for the selected programs only, and ``kpis`` for the
metrics their chains name (outcome, business and performance metrics). The
rows keep their source order and ``_row`` numbers, so a cached slice is
exactly the corresponding rows of the validated frames.

A cache that is missing, stale (any source file changed since it was built)
or unreadable is ignored: the workspace is then loaded and validated from
its sources as usual.

Program tables are stored sorted by ``program_id`` and ``kpis`` by
``metric`` (with the source position kept in a hidden column), so that a
filtered read touches only the row groups of the selected programs: reading
one program costs the same however many other programs the workspace holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lopsnb.errors import LopsnbError, Problem, ProgramConfigError, ValidationError

from lopsnb.io.identity import IdentityReport
from lopsnb.io.model import Workspace
from lopsnb.io.programs import load_program

if TYPE_CHECKING:  # pragma: no cover
    from lopsnb.io.programs import Program

__all__ = [
    "CACHE_DIRNAME",
    "CACHE_ENV",
    "CacheError",
    "build_cache",
    "cache_key",
    "find_cache",
    "program_metrics",
    "read_cache",
    "slice_workspace",
    "source_signature",
]

#: Folder (inside the workspace) holding one sub-folder per cache key.
CACHE_DIRNAME = ".lopsnb-cache"
#: Environment variable through which the batch runner hands its cache to notebooks.
CACHE_ENV = "LOPSNB_CACHE"
#: Bumped whenever the layout or the meaning of the files changes.
CACHE_FORMAT = 1
#: Tables whose rows belong to one program (``program_id`` required).
PROGRAM_TABLES: tuple[str, ...] = ("enrollments", "reactions", "assessments", "behaviors", "costs", "estimates")
#: Column a table is clustered and filtered on.
_CLUSTER = {**{t: "program_id" for t in PROGRAM_TABLES}, "kpis": "metric"}
_POS = "__lopsnb_pos"
#: Rows per Parquet row group: small enough that a filter skips most of a big
#: table, large enough that a whole-table read is not slowed by the overhead.
_ROW_GROUP = 64_000
#: Key folders kept in the cache root (older ones are pruned).
_KEEP = 3
_DATA_PATTERNS = ("*.csv", "*.parquet", "*.xlsx", "*.json", "*.jsonl", "*.db", "*.sqlite", "workspace.yml", "programs/*.yml", "programs/*.yaml")


class CacheError(LopsnbError):
    """The cache could not be written (the workspace loads fine without it)."""


# --------------------------------------------------------------------------- keys


def _stat_entry(path: Path, label: str) -> list[Any]:
    try:
        st = path.stat()
    except OSError:
        return [label, None, None]
    return [label, st.st_size, st.st_mtime_ns]


def source_signature(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Names, sizes and mtimes of everything a workspace is built from.

    Parameters
    ----------
    path : path
        The workspace folder.

    Returns
    -------
    dict
        ``files``: ``[name, size, mtime_ns]`` per source file (data files,
        ``workspace.yml``, program files, and files referenced by
        ``workspace.yml``); ``code``: the same for the modules that parse and
        validate (a changed data contract invalidates the cache);
        ``volatile``: True when a table comes from a database server, whose
        changes no file reveals.
    """
    folder = Path(path)
    files: dict[str, list[Any]] = {}
    for pattern in _DATA_PATTERNS:
        for f in folder.glob(pattern):
            if f.is_file():
                rel = f.relative_to(folder).as_posix()
                files[rel] = _stat_entry(f, rel)
    volatile = False
    cfg = folder / "workspace.yml"
    if cfg.is_file():
        from lopsnb.io.yamlfile import load_yaml

        try:
            data = load_yaml(cfg).data
        except LopsnbError:  # an invalid config fails the normal load, not the key
            data = {}
        sources = data.get("sources") if isinstance(data, dict) else None
        for table, src in (sources or {}).items() if isinstance(sources, dict) else ():
            if not isinstance(src, dict):
                continue
            if "lrs" in src:
                volatile = True  # a Learning Record Store changes without any file showing it
            ref = src.get("file") or src.get("xapi")
            if isinstance(ref, str):
                files[f"source:{table}"] = _stat_entry(folder / ref, f"source:{table}")
            url = src.get("url")
            if isinstance(url, str):
                prefix = "sqlite:///"
                if url.startswith(prefix) and url != prefix + ":memory:":
                    db = Path(url[len(prefix):])
                    files[f"source:{table}"] = _stat_entry(db if db.is_absolute() else folder / db, f"source:{table}")
                else:
                    volatile = True
    io_dir = Path(__file__).resolve().parent
    code = [_stat_entry(p, p.name) for p in sorted(io_dir.glob("*.py"))]
    from lopsnb._version import __version__

    return {"format": CACHE_FORMAT, "version": __version__, "files": sorted(files.values()), "code": code, "volatile": volatile}


def cache_key(signature: dict[str, Any]) -> str:
    """Short hex key of a :func:`source_signature` (the cache folder name)."""
    text = json.dumps({k: signature[k] for k in ("format", "version", "files", "code")}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _same_sources(manifest: dict[str, Any], signature: dict[str, Any]) -> bool:
    return all(manifest.get("signature", {}).get(k) == signature[k] for k in ("format", "version", "files", "code"))


def find_cache(workspace: str | os.PathLike[str], cache: bool | str | os.PathLike[str] = True) -> Path | None:
    """The folder of a valid (up-to-date) cache of ``workspace``, or None.

    Parameters
    ----------
    workspace : path
        The workspace folder.
    cache : True or path
        True: look in ``<workspace>/.lopsnb-cache``; a path: a cache root or
        one cache folder (as returned by :func:`build_cache`).
    """
    folder = Path(workspace)
    signature = source_signature(folder)
    if cache is True:
        if signature["volatile"]:
            return None  # a database server may have changed: never reuse
        candidates = [folder / CACHE_DIRNAME / cache_key(signature)]
    elif cache is False or cache is None:
        return None
    else:
        given = Path(cache)
        candidates = [given] if (given / "manifest.json").is_file() else [given / cache_key(signature)]
    for cand in candidates:
        manifest = _read_manifest(cand)
        if manifest is not None and _same_sources(manifest, signature):
            return cand
    return None


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else None


# --------------------------------------------------------------------------- writing


def _write_table(frame: pd.DataFrame, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = target.stem
    col = _CLUSTER.get(name)
    out = frame.assign(**{_POS: range(len(frame))})
    if col is not None and col in out.columns and len(out):
        # Clustering by the filter column lets a filtered read skip the row
        # groups of other programs (and the hidden position restores order).
        out = out.sort_values(col, kind="stable", na_position="last")
    table = pa.Table.from_pandas(out, preserve_index=False)
    pq.write_table(table, target, row_group_size=_ROW_GROUP, compression="zstd")


def build_cache(workspace: Workspace, *, root: str | os.PathLike[str] | None = None) -> Path:
    """Write the validated tables and programs of a workspace to a Parquet cache.

    Parameters
    ----------
    workspace : Workspace
        A loaded workspace; its tables are written as they are (the batch
        runner passes the one it has just validated).  To cache a folder,
        load it first with ``load_workspace(folder, on_program_error="collect")``
        so that invalid program files are recorded rather than raised; the
        cache never loads a workspace itself (the loader reads the cache, so
        the reverse import would be a cycle).
    root : path, optional
        Cache root (default ``<workspace>/.lopsnb-cache``).

    Returns
    -------
    Path
        The cache folder ``<root>/<key>``; an existing valid one is reused.
        Pass it to ``load_workspace(..., cache=path)`` or set it in the
        ``LOPSNB_CACHE`` environment variable for notebooks.

    Raises
    ------
    CacheError
        When the folder cannot be written or a table cannot be stored.
    """
    if not isinstance(workspace, Workspace):
        raise TypeError(f"build_cache needs a loaded Workspace (lopsnb.load_workspace(folder)); got {type(workspace).__name__}")
    ws = workspace
    folder = Path(ws.path)
    # The signature taken before the sources were read: a file changed while
    # loading then makes the cache stale instead of silently wrong.
    signature = ws.source_signature or source_signature(folder)
    key = cache_key(signature)
    base = Path(root) if root is not None else folder / CACHE_DIRNAME
    target = base / key
    if not signature["volatile"]:
        manifest = _read_manifest(target)
        if manifest is not None and _same_sources(manifest, signature):
            return target
    try:
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=base))
    except OSError as exc:
        raise CacheError(f"cannot write a cache in {base}: {exc}") from exc
    try:
        tables: dict[str, dict[str, Any]] = {}
        for name, frame in ws.tables.items():
            _write_table(frame, staging / f"{name}.parquet")
            tables[name] = {"rows": int(len(frame)), "file": f"{name}.parquet"}
        ranges = {}
        for name in ws.tables:
            rng = ws.date_range(name)
            ranges[name] = [rng[0].isoformat(), rng[1].isoformat()] if rng else None
        manifest = {
            "format": CACHE_FORMAT,
            "signature": signature,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "workspace": str(folder.resolve()),
            "name": ws.name,
            "tables": tables,
            "sources": ws.sources,
            "notes": ws.notes,
            "intake": ws.intake,
            "identity": {t: r.to_dict() for t, r in ws.identity.items()},
            "date_ranges": ranges,
            "programs": sorted(ws.programs),
            "program_files": {pid: _program_file(folder, pid) for pid in ws.programs},
            "program_errors": {
                pid: {"summary": err.summary, "problems": [p.to_dict() for p in err.problems]} for pid, err in ws.program_errors.items()
            },
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staging, target)
        except OSError:
            # Another process installed the same key meanwhile: theirs is as good.
            if _read_manifest(target) is None:
                raise
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, CacheError):
            raise
        raise CacheError(f"cannot write the cache {target}: {type(exc).__name__}: {exc}") from exc
    shutil.rmtree(staging, ignore_errors=True)
    _prune(base, keep=target)
    return target


def _program_file(folder: Path, pid: str) -> str:
    for ext in (".yml", ".yaml"):
        if (folder / "programs" / f"{pid}{ext}").is_file():
            return f"programs/{pid}{ext}"
    return f"programs/{pid}.yml"


def _prune(base: Path, keep: Path) -> None:
    """Remove all but the newest cache folders (best effort)."""
    try:
        # The LRS copies are incremental state, not a cache generation.
        dirs = [d for d in base.iterdir() if d.is_dir() and d != keep and not d.name.startswith(".tmp-") and d.name != "lrs"]
        dirs.sort(key=lambda d: d.stat().st_mtime, reverse=True)
        for d in dirs[_KEEP - 1 :]:
            shutil.rmtree(d, ignore_errors=True)
    except OSError:
        pass


# --------------------------------------------------------------------------- reading


def program_metrics(programs: Iterable[Program]) -> set[str]:
    """KPI metrics an evaluation of these programs reads: outcome, business and performance metrics, and a survival event's KPI."""
    out: set[str] = set()
    for p in programs:
        out.add(p.outcome)
        out.add(p.chain.business_metric.metric)
        out.update(m.metric for m in p.chain.performance_metrics)
        if p.evaluation.event is not None:
            out.add(p.evaluation.event.metric)
    return out


def _read_table(path: Path, column: str | None, values: Sequence[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    filters = [(column, "in", list(values))] if column is not None and values is not None else None
    table = pq.read_table(path, filters=filters)
    frame = table.to_pandas()
    if _POS in frame.columns:
        frame = frame.sort_values(_POS, kind="stable").drop(columns=_POS)
    return frame.reset_index(drop=True)


def _check_programs(folder: Path, programs: Sequence[str], known: Iterable[str]) -> None:
    known = sorted(known)
    unknown = [p for p in programs if p not in known]
    if unknown:
        raise ValidationError(
            [Problem(str(folder / "programs" / f"{p}.yml"), None, None, f"no program {p!r}", "one of: " + (", ".join(known) or "none")) for p in unknown],
            summary=f"unknown program(s) requested from workspace {folder}",
        )


def read_cache(
    workspace: str | os.PathLike[str],
    cache: bool | str | os.PathLike[str] = True,
    *,
    programs: Sequence[str] | None = None,
    on_program_error: str = "raise",
) -> Workspace | None:
    """Load a workspace from its cache, or return None when there is no valid one.

    Parameters
    ----------
    workspace : path
        The workspace folder.
    cache : True or path
        Where to look (see :func:`find_cache`).
    programs : sequence of str, optional
        Read only these programs' rows (see :func:`slice_workspace`).
    on_program_error : {"raise", "collect"}
        As in :func:`~lopsnb.io.workspace.load_workspace`: with ``"raise"``
        invalid program files recorded in the cache raise the same
        :class:`~lopsnb.errors.ValidationError` a normal load would.

    Returns
    -------
    Workspace or None
        None when the cache is missing, stale or unreadable (the caller
        then loads from the sources).
    """
    folder = Path(workspace)
    where = find_cache(folder, cache)
    if where is None:
        return None
    manifest = _read_manifest(where)
    if manifest is None:
        return None
    errors = {
        pid: ProgramConfigError([Problem(**p) for p in e["problems"]], summary=e["summary"]) for pid, e in manifest["program_errors"].items()
    }
    if on_program_error == "raise" and errors:
        problems = [p for err in errors.values() for p in err.problems]
        raise ValidationError(problems, summary=f"{len(problems)} problem(s) in workspace {folder}")
    wanted = list(dict.fromkeys(programs)) if programs is not None else None
    if wanted is not None:
        _check_programs(folder, wanted, set(manifest["programs"]) | set(errors))
    ids = [p for p in manifest["programs"] if wanted is None or p in wanted]
    try:
        progs = {pid: load_program(folder / manifest["program_files"][pid]) for pid in ids}
    except (OSError, LopsnbError):
        return None  # changed under our feet: the signature check raced; load normally
    metrics = sorted(program_metrics(progs.values())) if wanted is not None else None
    tables: dict[str, pd.DataFrame] = {}
    try:
        for name, info in manifest["tables"].items():
            column = _CLUSTER.get(name) if wanted is not None else None
            values = (wanted if name in PROGRAM_TABLES else metrics) if column is not None else None
            tables[name] = _read_table(where / info["file"], column, values)
    except Exception:  # noqa: BLE001 - a damaged or pruned cache is just a miss
        return None
    ranges = {
        name: (pd.Timestamp(r[0]), pd.Timestamp(r[1])) if r else None for name, r in (manifest.get("date_ranges") or {}).items()
    }
    return Workspace(
        folder,
        tables,
        progs,
        dict(manifest["sources"]),
        {pid: e for pid, e in errors.items() if wanted is None or pid in wanted},
        list(manifest["notes"]),
        name=manifest["name"],
        source_signature=manifest["signature"],
        full_date_ranges=ranges if wanted is not None else None,
        cache_dir=where,
        intake={t: list(a) for t, a in (manifest.get("intake") or {}).items()},
        identity={t: IdentityReport.from_dict(r) for t, r in (manifest.get("identity") or {}).items()},
    )


def slice_workspace(ws: Workspace, programs: Sequence[str]) -> Workspace:
    """The part of a loaded workspace that evaluating ``programs`` reads.

    The program tables keep the rows of these programs, ``kpis`` the rows of
    the metrics their chains name, every other table is kept whole (people
    are the comparison pool). ``data_as_of`` and the date ranges stay those
    of the full workspace, so an evaluation of the slice equals one of the
    whole workspace.

    Raises
    ------
    ValidationError
        When a requested program is neither valid nor a collected program error.
    """
    wanted = list(dict.fromkeys(programs))
    _check_programs(Path(ws.path), wanted, set(ws.programs) | set(ws.program_errors))
    progs = {pid: p for pid, p in ws.programs.items() if pid in wanted}
    metrics = program_metrics(progs.values())
    tables: dict[str, pd.DataFrame] = {}
    for name, frame in ws.tables.items():
        col = _CLUSTER.get(name)
        if col is None or col not in frame.columns:
            tables[name] = frame
            continue
        keep = frame[col].isin(wanted if name in PROGRAM_TABLES else sorted(metrics))
        tables[name] = frame[keep].reset_index(drop=True)
    ranges = ws.full_date_ranges or {name: ws.date_range(name) for name in ws.tables}
    return Workspace(
        ws.path,
        tables,
        progs,
        dict(ws.sources),
        {pid: e for pid, e in ws.program_errors.items() if pid in wanted},
        list(ws.notes),
        name=ws.name,
        source_signature=ws.source_signature,
        full_date_ranges=ranges,
        cache_dir=ws.cache_dir,
        intake=dict(ws.intake),
        identity=dict(ws.identity),
    )
