"""The Parquet cache of a validated workspace (lopsnb.io.cache)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lopsnb.errors import ProgramConfigError, ValidationError
from lopsnb.evaluation import evaluate
from lopsnb.io.cache import CACHE_DIRNAME, PROGRAM_TABLES, build_cache, find_cache, program_metrics
from lopsnb.io.workspace import Workspace, load_workspace
from conftest import PROGRAM_YML, SAMPLE


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace, Path]:
    """A copy of the sample workspace, loaded from its sources, and its cache."""
    folder = tmp_path_factory.mktemp("ws") / "acme"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns(CACHE_DIRNAME))
    ws = load_workspace(folder, on_program_error="collect")
    return folder, ws, build_cache(ws)


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_round_trip_equals_the_validated_frames(sample) -> None:
    folder, ws, where = sample
    assert where.parent == folder / CACHE_DIRNAME and (where / "manifest.json").is_file()
    cached = load_workspace(folder, cache=True)
    assert cached.cache_dir == where
    assert set(cached.tables) == set(ws.tables)
    for name, frame in ws.tables.items():
        pd.testing.assert_frame_equal(cached.tables[name], frame, check_exact=True, obj=name)
    assert sorted(cached.programs) == sorted(ws.programs)
    assert cached.programs["sales-enablement"] == ws.programs["sales-enablement"]
    assert (cached.sources, cached.notes, cached.name, cached.data_as_of) == (ws.sources, ws.notes, ws.name, ws.data_as_of)
    # Building again with unchanged sources reuses the folder.
    assert build_cache(ws) == where


@pytest.mark.parametrize("pid", ["sales-enablement", "inventory-planning", "leadership-development"])
def test_sliced_load_has_only_the_program_and_evaluates_the_same(sample, pid: str) -> None:
    folder, ws, where = sample
    part = load_workspace(folder, cache=where, programs=[pid])
    assert part.cache_dir == where and list(part.programs) == [pid]
    for name in PROGRAM_TABLES:
        full = ws.tables[name]
        expected = full[full["program_id"] == pid].reset_index(drop=True)
        pd.testing.assert_frame_equal(part.tables[name], expected, obj=name)
    metrics = program_metrics([ws.programs[pid]])
    assert set(part.kpis["metric"]) <= metrics and 0 < len(part.kpis) < len(ws.kpis)
    pd.testing.assert_frame_equal(part.kpis, ws.kpis[ws.kpis["metric"].isin(sorted(metrics))].reset_index(drop=True))
    pd.testing.assert_frame_equal(part.people, ws.people)
    assert part.data_as_of == ws.data_as_of
    # The same slice without a cache (filtered in memory) is identical.
    uncached = load_workspace(folder, programs=[pid])
    assert uncached.cache_dir is None
    for name in ws.tables:
        pd.testing.assert_frame_equal(uncached.tables[name], part.tables[name], obj=name)
    assert _same(evaluate(part, pid).to_dict(), evaluate(ws, pid).to_dict())


def test_cache_is_not_used_when_a_source_changes(sample, tmp_path: Path) -> None:
    _, _, _ = sample
    folder = tmp_path / "acme"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns(CACHE_DIRNAME))
    where = build_cache(load_workspace(folder, on_program_error="collect"))
    assert find_cache(folder) == where
    costs = folder / "costs.csv"
    frame = pd.read_csv(costs, dtype=str, keep_default_na=False)
    frame.loc[0, "amount"] = "123456.5"
    frame.to_csv(costs, index=False)
    st = costs.stat()
    os.utime(costs, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a coarse-mtime file system still sees a change
    assert find_cache(folder) is None and find_cache(folder, where) is None
    ws = load_workspace(folder, cache=where)
    assert ws.cache_dir is None
    assert 123456.5 in set(ws.costs["amount"])
    # A new build gets a new key; the stale one is never read again.
    assert build_cache(ws) != where
    assert load_workspace(folder, cache=True).cache_dir is not None


def test_damaged_cache_falls_back_to_the_sources(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns(CACHE_DIRNAME))
    where = build_cache(load_workspace(folder, on_program_error="collect"))
    (where / "kpis.parquet").write_bytes(b"not parquet")
    ws = load_workspace(folder, cache=True, programs=["sales-enablement"])
    assert ws.cache_dir is None and len(ws.kpis) > 0


def test_unknown_program_is_reported(sample) -> None:
    folder, _, where = sample
    for cache in (where, False):
        with pytest.raises(ValidationError, match="unknown program"):
            load_workspace(folder, cache=cache, programs=["no-such-program"])


def test_program_errors_survive_the_cache(make_workspace) -> None:
    folder = make_workspace(program=PROGRAM_YML.replace("design: did", "design: nope"))
    ws = load_workspace(folder, on_program_error="collect")
    build_cache(ws)
    cached = load_workspace(folder, on_program_error="collect", cache=True)
    assert cached.cache_dir is not None and not cached.programs
    assert isinstance(cached.program_errors["demo"], ProgramConfigError)
    assert cached.program_errors["demo"].problems == ws.program_errors["demo"].problems
    with pytest.raises(ValidationError) as from_sources:
        load_workspace(folder)
    with pytest.raises(ValidationError) as from_cache:
        load_workspace(folder, cache=True)
    assert from_cache.value.problems == from_sources.value.problems
    assert str(from_cache.value) == str(from_sources.value)
