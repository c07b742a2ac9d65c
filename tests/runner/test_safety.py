"""The batch runner never loses user data (issue 12, items 1 and 5).

``lopsnb run`` replaces folders inside ``--out``. These tests check that it
refuses an output folder overlapping the workspace (also through symlinks),
never replaces or deletes a folder it did not make, says so before any work
when ``--out`` is not writable, cleans the temporary folders of a killed run
(and only those), and fails only the program whose id is reserved.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lopsnb.errors import RunError
from lopsnb.io.programs import RESERVED_PROGRAM_IDS as RESERVED_IDS
from lopsnb.runner import run_batch
from lopsnb.runner.batch import PAGES
from lopsnb.runner.outdir import MARKER, TempRoot, clean_stale_tmp, is_marked, prepare_out
from runner.nbfactory import write_notebook
from runner.test_batch import add_program, leftovers, needs_kernel

ROOT = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and link under ``folder`` with a hash of its bytes (or link target)."""
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "lopsnb.cli", "run", *args, "--no-progress"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("where", ["same", "inside", "parent", "link-to-workspace", "link-into-workspace"])
def test_out_overlapping_the_workspace_is_refused(make_workspace, tmp_path: Path, where: str) -> None:
    ws = make_workspace()
    links = tmp_path / "links"
    links.mkdir()
    out = {
        "same": ws,
        "inside": ws / "reports",
        "parent": ws.parent,
        "link-to-workspace": links / "ws-link",
        "link-into-workspace": links / "in-link" / "reports",
    }[where]
    if where == "link-to-workspace":
        out.symlink_to(ws, target_is_directory=True)
    if where == "link-into-workspace":
        (links / "in-link").symlink_to(ws / "programs", target_is_directory=True)
    before = snapshot(ws.parent)
    with pytest.raises(RunError, match=r"output folder .*(is the workspace|inside the workspace|contains the workspace)"):
        run_batch(ws, out=out, progress=False)
    assert snapshot(ws.parent) == before


def test_cli_refuses_the_two_data_loss_cases(make_workspace, tmp_path: Path) -> None:
    """The two cases of issue 12: --out WS with a program named ``programs``; --out = WS's parent."""
    ws = make_workspace()
    add_program(ws, "programs")
    before = snapshot(ws.parent)
    same = cli(str(ws), "--out", str(ws))
    assert same.returncode == 1 and "is the workspace" in same.stderr and "Traceback" not in same.stderr, same.stderr
    assert snapshot(ws.parent) == before
    add_program(ws, ws.name)  # a program named like the workspace folder
    before = snapshot(ws.parent)
    parent = cli(str(ws), "--out", str(ws.parent))
    assert parent.returncode == 1 and "contains the workspace" in parent.stderr and "Traceback" not in parent.stderr, parent.stderr
    assert snapshot(ws.parent) == before
    assert (ws / "programs" / "programs.yml").is_file() and (ws / "people.csv").is_file()


def test_unmarked_non_empty_out_is_refused_and_untouched(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    out = tmp_path / "mine"
    (out / "demo").mkdir(parents=True)
    (out / "demo" / "thesis.docx").write_bytes(b"years of work")
    (out / "index.html").write_text("my own page")
    before = snapshot(out)
    result = cli(str(ws), "--out", str(out))
    assert result.returncode == 1 and "not empty" in result.stderr and MARKER in result.stderr, result.stderr
    assert snapshot(out) == before


def test_unmarked_program_folder_is_preserved_byte_for_byte(make_workspace, tmp_path: Path) -> None:
    """A folder the runner did not make, named like a program, fails that program and is left alone."""
    ws = make_workspace()
    out = tmp_path / "out"
    prepare_out(out, "earlier-run")  # an output folder made by an earlier run
    user = out / "demo"
    (user / "sub").mkdir(parents=True)
    (user / "report.html").write_text("<p>the user's own report</p>")
    (user / "sub" / "data.bin").write_bytes(bytes(range(256)))
    os.symlink("report.html", user / "link")
    before = snapshot(user)
    result = run_batch(ws, out=out, notebook=write_notebook(tmp_path / "nb.ipynb"), progress=False, workers=1)
    (outcome,) = result.programs
    assert (outcome.program_id, outcome.status, outcome.error_type, outcome.report) == ("demo", "failed", "OutputFolderConflict", None)
    assert "was not created by lopsnb run" in (outcome.error or "") and str(user) in (outcome.error or "")
    assert snapshot(user) == before and not is_marked(user)
    index = result.index_path.read_text(encoding="utf-8")
    assert "was not created by lopsnb run" in index and 'href="demo/report.html"' not in index
    assert result.exit_code == 1 and leftovers(out) == []


def test_a_marked_folder_is_replaced_but_a_symlink_to_one_is_not(tmp_path: Path) -> None:
    from lopsnb.runner.batch import _Batch

    out = prepare_out(tmp_path / "out", "run-1")

    class Bar:
        total = 0

        def set_postfix_str(self, *a: object, **k: object) -> None: ...

        def update(self, n: int) -> None: ...

    batch = _Batch(out, out, {}, Bar(), "run-2")
    mine = out / "alpha"
    mine.mkdir()
    (mine / MARKER).write_text(json.dumps({"created_by": "lopsnb run", "run_id": "run-1"}))
    assert batch.target("alpha", False) == (mine, None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / MARKER).write_text(json.dumps({"created_by": "lopsnb run"}))
    (out / "beta").symlink_to(elsewhere, target_is_directory=True)
    target, why = batch.target("beta", False)
    assert target is None and "symbolic link" in (why or "")  # never replaced
    (out / "gamma").symlink_to(mine, target_is_directory=True)  # a link to another program's marked folder
    assert batch.target("gamma", False)[0] is None
    assert batch.target("con", False)[0] is None and "reserved" in (batch.target("con", False)[1] or "")


def test_out_that_cannot_be_created_is_an_error_before_any_work(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = cli(str(ws), "--out", str(blocker / "reports"))
    assert result.returncode == 1 and "cannot create output folder" in result.stderr and "Traceback" not in result.stderr, result.stderr
    result = cli(str(ws), "--out", str(blocker))
    assert result.returncode == 1 and "is not a folder" in result.stderr, result.stderr
    assert blocker.read_text() == "x"


def test_read_only_out_is_an_error_before_any_work(make_workspace, tmp_path: Path) -> None:
    """A read-only filesystem (tests run as root, so chmod would not stop a write)."""
    ws = make_workspace()
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to mount a read-only tmpfs")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        empty = cli(str(ws), "--out", str(ro))
        nested = cli(str(ws), "--out", str(ro / "reports"))
    finally:
        subprocess.run(["umount", str(ro)], check=False)
    assert empty.returncode == 1 and "is not writable" in empty.stderr and "Read-only file system" in empty.stderr, empty.stderr
    assert nested.returncode == 1 and "cannot create output folder" in nested.stderr, nested.stderr
    assert "Traceback" not in empty.stderr + nested.stderr


def test_unwritable_marked_out_is_caught_by_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe file, not the permission bits, decides (a failing create stands in for EROFS)."""
    out = prepare_out(tmp_path / "out", "run-1")
    real_open = os.open

    def refuse(path: object, *args: object, **kwargs: object) -> int:
        if ".lopsnb-probe-" in str(path):
            raise OSError(30, "Read-only file system")
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(RunError, match="is not writable"):
        prepare_out(out, "run-2")


def test_stale_temp_folders_cleaned_only_when_marked_and_unlocked(tmp_path: Path) -> None:
    out = prepare_out(tmp_path / "out", "run-0")
    dead = out / ".lopsnb-tmp-dead"
    (dead / "work-demo").mkdir(parents=True)
    (dead / MARKER).write_text(json.dumps({"created_by": "lopsnb run", "kind": "tmp", "run_id": "dead"}))
    user = out / ".lopsnb-tmp-notmine"  # the runner's prefix, but no marker: not ours
    user.mkdir()
    (user / "keep.txt").write_text("keep")
    live = TempRoot(out, "f" * 32)  # a concurrent run: its lock is held
    try:
        assert clean_stale_tmp(out) == [dead]
        assert not dead.exists() and (user / "keep.txt").read_text() == "keep" and live.path.is_dir()
    finally:
        live.close()
    assert not live.path.exists()


def test_reserved_ids_match_the_pages() -> None:
    assert set(PAGES) <= RESERVED_IDS
    assert {"con", "aux", "nul", "prn", "com1", "lpt1", "lpt9"} <= RESERVED_IDS


@needs_kernel
def test_reserved_and_invalid_ids_fail_only_their_program(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    for pid in ("scorecards", "con", "lpt1"):
        add_program(ws, pid)
    (ws / "programs" / "Bad Name.yml").write_text((ws / "programs" / "demo.yml").read_text().replace("id: demo", "id: Bad Name"))
    out = tmp_path / "out"
    nb = write_notebook(tmp_path / "nb.ipynb")
    result = run_batch(ws, out=out, notebook=nb, workers=1, timeout=120, progress=False)
    by_id = {p.program_id: p for p in result.programs}
    assert {p: o.status for p, o in by_id.items()} == {"Bad Name": "failed", "con": "failed", "demo": "ok", "lpt1": "failed", "scorecards": "failed"}
    for pid in ("scorecards", "con", "lpt1"):
        assert "reserved" in (by_id[pid].error or "") and by_id[pid].report is None
        assert not (out / pid).exists()
    assert by_id["Bad Name"].report is None and "'id'" in (by_id["Bad Name"].error or "") and "slug" in (by_id["Bad Name"].error or "")
    index = result.index_path.read_text(encoding="utf-8")
    for pid in ("scorecards", "con", "lpt1", "Bad Name"):
        assert f'<span class="lp-note">{pid}</span>' in index  # listed ...
        assert f'href="{pid}/report.html"' not in index  # ... as failed, without a link
    assert 'href="demo/report.html"' in index
    csv = (out / "portfolio.csv").read_text(encoding="utf-8")
    assert all(pid in csv for pid in ("scorecards", "con", "lpt1", "Bad Name"))
    # A later run limited to demo still lists them.
    again = run_batch(ws, out=out, notebook=nb, workers=1, timeout=120, progress=False, programs=["demo"])
    assert [p.status for p in again.programs] == ["skipped"]
    assert '<span class="lp-note">con</span>' in again.index_path.read_text(encoding="utf-8")
    assert leftovers(out) == []
