"""End-to-end tests of the batch runner with a tiny notebook and real kernels.

The notebook (tests/runner/nbfactory.py) raises for program ``boom``, sleeps
past the timeout for ``sleepy`` and SIGKILLs its worker process for
``killer``; every other program writes a results.json and a figure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import PROGRAM_YML
from lopsnb.errors import RunError
from lopsnb.runner import BatchResult, input_fingerprint, run_batch
from lopsnb.runner.files import atomic_write, check_slug, program_dir, replace_dir
from runner.nbfactory import write_notebook

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STATUS_KEYS = {"program_id", "status", "error", "error_type", "duration_s", "parameters", "versions", "input_fingerprint", "started_at", "finished_at"}


def _kernel_available() -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return False
    return True


needs_kernel = pytest.mark.skipif(not _kernel_available(), reason="no Jupyter kernelspec named python3 (run `make install`)")


def add_program(ws: Path, pid: str, name: str | None = None, extra: str = "") -> None:
    text = PROGRAM_YML.replace("id: demo", f"id: {pid}").replace("name: Demo Program", f"name: {json.dumps(name or 'Program ' + pid)}")
    (ws / "programs" / f"{pid}.yml").write_text(text + extra, encoding="utf-8")


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".lopsnb-tmp")]


def status(out: Path, pid: str) -> dict:
    return json.loads((out / pid / "status.json").read_text(encoding="utf-8"))


@needs_kernel
def test_batch_failures_isolated_skip_and_force(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    add_program(ws, "alpha", name="<script>alert(1)</script> Leaders")
    for pid in ("boom", "sleepy", "killer"):
        add_program(ws, pid)
    add_program(ws, "broken", extra="bogus_key: 1\n")  # invalid program file
    nb = write_notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "out"

    result = run_batch(ws, out=out, notebook=nb, workers=2, timeout=12, progress=False)

    assert isinstance(result, BatchResult)
    by_id = {p.program_id: p for p in result.programs}
    assert {p: o.status for p, o in by_id.items()} == {
        "alpha": "ok", "boom": "failed", "broken": "failed", "demo": "ok", "killer": "failed", "sleepy": "failed",
    }
    assert (result.ok, result.failed, result.exit_code) == (2, 4, 1)
    assert by_id["boom"].error_type == "ValueError" and "planned failure in boom" in by_id["boom"].error
    assert by_id["sleepy"].error_type == "Timeout"
    assert by_id["killer"].error_type == "WorkerCrashed"
    assert by_id["broken"].error_type == "ProgramConfigError" and "bogus_key" in by_id["broken"].error
    assert "failed" in result.summary() and str(result.index_path) in result.summary()

    # successful programs: every file, status fields, an exported report
    for pid in ("demo", "alpha"):
        folder = out / pid
        assert sorted(p.name for p in folder.iterdir() if p.name != ".lopsnb-output") == ["report.html", "report.ipynb", "results.json", "status.json"]
        st = status(out, pid)
        assert STATUS_KEYS <= set(st)
        assert st["status"] == "ok" and st["error"] is None and st["duration_s"] > 0
        assert st["parameters"]["program_id"] == pid and Path(st["parameters"]["workspace"]).is_absolute()
        assert set(st["versions"]) == {"lopsnb", "python", "pandas", "statsmodels", "papermill", "nbconvert"}
        assert re.fullmatch(r"[0-9a-f]{64}", st["input_fingerprint"])
        assert json.loads((folder / "results.json").read_text())["program"]["id"] == pid
        page = (folder / "report.html").read_text(encoding="utf-8")
        assert "data:image/png;base64," in page  # the figure, embedded
        assert "STDERR-NOISE-XYZ" not in page and "FAIL, SLEEP, KILL" not in page  # no stderr, no code
        assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", page)
        assert 'href="#Overview"' in page  # table of contents
        meta = json.loads((folder / "report.ipynb").read_text())["metadata"]["lopsnb"]
        assert meta["program_id"] == pid and meta["data_as_of"] == "2026-05-01"
    alpha = (out / "alpha" / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Leaders" in alpha and "<script>alert" not in alpha

    # failed programs: a failure page and a failed status; the rest unaffected
    for pid, needle in (("boom", "planned failure in boom"), ("sleepy", "limit"), ("killer", "worker process"), ("broken", "bogus_key")):
        st = status(out, pid)
        assert st["status"] == "failed" and STATUS_KEYS <= set(st)
        assert not (out / pid / "results.json").exists()
        page = (out / pid / "report.html").read_text(encoding="utf-8")
        assert "could not be produced" in page and needle in page

    # portfolio files
    index = result.index_path.read_text(encoding="utf-8")
    assert result.index_path == out.resolve() / "index.html"
    for pid in ("demo", "alpha", "boom", "sleepy", "killer", "broken"):
        assert f'href="{pid}/report.html"' in index
    assert "<script>alert" not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    csv = pd.read_csv(out / "portfolio.csv")
    assert set(csv["program_id"]) == {"demo", "alpha", "boom", "sleepy", "killer", "broken"}
    assert list(pd.read_excel(out / "portfolio.xlsx").columns) == list(csv.columns)
    assert leftovers(out) == []

    # unchanged inputs: ok programs are skipped, failed ones run again
    stamp = (out / "demo" / "report.html").stat().st_mtime_ns
    again = run_batch(ws, out=out, notebook=nb, workers=2, timeout=12, progress=False, programs=["demo", "alpha", "boom", "broken"])
    assert {p.program_id: p.status for p in again.programs} == {"demo": "skipped", "alpha": "skipped", "boom": "failed", "broken": "failed"}
    assert (out / "demo" / "report.html").stat().st_mtime_ns == stamp
    assert again.exit_code == 1
    assert 'href="sleepy/report.html"' in again.index_path.read_text(encoding="utf-8")  # index keeps every program

    # --force re-runs; a changed program file re-runs without force
    forced = run_batch(ws, out=out, notebook=nb, workers=1, timeout=12, progress=False, programs=["demo"], force=True)
    assert [p.status for p in forced.programs] == ["ok"] and forced.exit_code == 0
    assert (out / "demo" / "report.html").stat().st_mtime_ns != stamp
    add_program(ws, "alpha", name="Alpha renamed")
    changed = run_batch(ws, out=out, notebook=nb, workers=1, timeout=12, progress=False, programs=["alpha"])
    assert [p.status for p in changed.programs] == ["ok"]
    assert "Alpha renamed" in (out / "alpha" / "report.html").read_text(encoding="utf-8")
    assert leftovers(out) == []


@needs_kernel
def test_dask_local_cluster(make_workspace, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    ws = make_workspace()
    add_program(ws, "boom")
    nb = write_notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "dask-out"
    result = run_batch(ws, out=out, notebook=nb, workers=1, timeout=30, executor="dask", progress=False)
    assert {p.program_id: p.status for p in result.programs} == {"demo": "ok", "boom": "failed"}
    assert status(out, "demo")["status"] == "ok" and (out / "demo" / "results.json").is_file()
    assert status(out, "boom")["error_type"] == "ValueError"
    assert (out / "index.html").is_file() and leftovers(out) == []


@needs_kernel
def test_cli_entry_points(make_workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from lopsnb.runner import add_run_arguments, run_command

    ws = make_workspace()
    nb = write_notebook(tmp_path / "nb.ipynb")
    parser = add_run_arguments(argparse.ArgumentParser())
    args = parser.parse_args([str(ws), "--program", "demo", "--out", str(tmp_path / "o"), "--workers", "1", "--timeout", "30", "--notebook", str(nb), "--no-progress"])
    assert args.programs == ["demo"] and args.executor == "local" and args.progress is False
    assert run_command(args) == 0
    printed = capsys.readouterr().out
    assert "1 ok" in printed and "index.html" in printed
    with pytest.raises(SystemExit):
        parser.parse_args([str(ws), "--workers", "0"])


def test_unknown_program_lists_known_ids(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    nb = write_notebook(tmp_path / "nb.ipynb")
    with pytest.raises(RunError, match=r"'nope'.*demo"):
        run_batch(ws, programs=["nope"], out=tmp_path / "o", notebook=nb, progress=False)
    with pytest.raises(RunError, match="executor"):
        run_batch(ws, out=tmp_path / "o", notebook=nb, executor="spark", progress=False)  # type: ignore[arg-type]
    with pytest.raises(RunError, match="timeout"):
        run_batch(ws, out=tmp_path / "o", notebook=nb, timeout=0, progress=False)
    with pytest.raises(RunError, match="not found"):
        run_batch(ws, out=tmp_path / "o", notebook=tmp_path / "missing.ipynb", progress=False)


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "A", ".hidden", "x" * 101, "-a"])
def test_program_paths_recheck_slugs(tmp_path: Path, bad: str) -> None:
    with pytest.raises(RunError):
        program_dir(tmp_path, bad)
    assert program_dir(tmp_path, "ok-id_1") == tmp_path.resolve() / "ok-id_1"
    assert check_slug("a") == "a"


def test_atomic_writes_and_folder_swap(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write(target, "one")
    atomic_write(target, b"two")
    assert target.read_text() == "two"
    folder, staging = tmp_path / "prog", tmp_path / "stage"
    staging.mkdir()
    replace_dir(folder, {"a.txt": "1", "b.txt": "2"}, staging_root=staging)
    replace_dir(folder, {"a.txt": "3"}, staging_root=staging)
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lopsnb-output") == ["a.txt"] and (folder / "a.txt").read_text() == "3"
    with pytest.raises(RunError):  # a bad file name aborts the swap and keeps the old folder
        replace_dir(folder, {"ok.txt": "x", "../evil": "y"}, staging_root=staging)
    assert (folder / "a.txt").read_text() == "3"
    assert list(staging.iterdir()) == [] and [p for p in tmp_path.rglob("*.tmp")] == []


def test_input_fingerprint_covers_every_input() -> None:
    base = input_fingerprint("ws", b"prog", b"nb", "0.1.0", [("t", b"x")])
    assert base == input_fingerprint("ws", b"prog", b"nb", "0.1.0", [("t", b"x")])
    variants = [
        input_fingerprint("ws2", b"prog", b"nb", "0.1.0", [("t", b"x")]),
        input_fingerprint("ws", b"prog2", b"nb", "0.1.0", [("t", b"x")]),
        input_fingerprint("ws", b"prog", b"nb2", "0.1.0", [("t", b"x")]),
        input_fingerprint("ws", b"prog", b"nb", "0.2.0", [("t", b"x")]),
        input_fingerprint("ws", b"prog", b"nb", "0.1.0", [("t", b"y")]),
        input_fingerprint("ws", b"progn", b"b", "0.1.0", [("t", b"x")]),  # no ambiguity at part boundaries
    ]
    assert base not in variants and len(set(variants)) == len(variants)
