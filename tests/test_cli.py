"""Direct tests of the ``lopsnb`` command line (``lopsnb/cli.py``): arguments, exit codes, demo set-up.

The batch itself is tested in tests/runner; here ``run_batch`` is replaced by a
recorder wherever the test is about what the command line hands it, so no
kernel is started.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lopsnb import __version__, cli
from lopsnb.runner import batch
from lopsnb.runner.batch import BatchResult, ProgramOutcome

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "acme"


class Recorder:
    """Stands in for ``run_batch``: keeps the call, returns a chosen outcome."""

    def __init__(self, status: str = "ok") -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.status = status

    def __call__(self, workspace: Any, **kwargs: Any) -> BatchResult:
        self.calls.append(((workspace,), kwargs))
        out = Path(kwargs["out"])
        return BatchResult(out=out, index_path=out / "index.html", programs=[ProgramOutcome(program_id="demo", status=self.status, error="boom" if self.status == "failed" else None)])  # type: ignore[arg-type]

    @property
    def kwargs(self) -> dict[str, Any]:
        assert len(self.calls) == 1
        return self.calls[0][1]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(batch, "run_batch", rec)
    return rec


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def test_version_and_missing_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"lopsnb {__version__}"
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2 and "required" in capsys.readouterr().err


def test_validate_valid_workspace(make_workspace: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(make_workspace())]) == 0
    assert "Workspace is valid." in capsys.readouterr().out


def test_validate_invalid_program_file_exits_1(make_workspace: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_workspace(program="id: demo\nname: Demo\nlaunch: not-a-date\n")
    assert cli.main(["validate", str(ws)]) == 1
    captured = capsys.readouterr()
    assert "program demo:" in captured.err and "Workspace is valid." not in captured.out


def test_validate_missing_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lopsnb: error:") and "nowhere" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--workers", "0"), ("--workers", "two"), ("--timeout", "-5"), ("--timeout", "soon"), ("--executor", "threads"), ("--program", " , ")],
)
def test_run_rejects_bad_options_with_status_2(option: str, value: str, recorder: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "ws", option, value])
    assert exc.value.code == 2 and option in capsys.readouterr().err
    assert recorder.calls == []


def test_run_hands_every_option_to_run_batch(tmp_path: Path, recorder: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "my-ws", "--program", "a,b", "--program", "c", "--out", str(tmp_path / "out"), "--workers", "3",
            "--timeout", "12.5", "--force", "--notebook", "nb.ipynb", "--template", "tpl", "--kernel", "k1", "--no-progress", "--pdf"]
    assert cli.main(argv) == 0
    (workspace,), kw = recorder.calls[0]
    assert workspace == "my-ws"
    assert kw == {"programs": ["a", "b", "c"], "out": str(tmp_path / "out"), "workers": 3, "timeout": 12.5, "executor": "local",
                  "scheduler": None, "force": True, "notebook": "nb.ipynb", "kernel_name": "k1", "progress": False, "template": "tpl",
                  "pdf": True}
    assert "Open " in capsys.readouterr().out


def test_run_defaults(recorder: Recorder) -> None:
    assert cli.main(["run", "ws"]) == 0
    kw = recorder.kwargs
    assert (kw["programs"], kw["out"], kw["workers"], kw["timeout"], kw["template"], kw["notebook"]) == (None, "reports", None, 600.0, None, None)


def test_run_exit_code_1_when_a_program_failed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(batch, "run_batch", Recorder(status="failed"))
    assert cli.main(["run", "ws"]) == 1
    assert "1 failed" in capsys.readouterr().out


def test_run_requires_a_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["run"])
    assert exc.value.code == 2 and "WORKSPACE" in capsys.readouterr().err


def test_run_unknown_program_and_bad_template_exit_1(make_workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(make_workspace())
    out = tmp_path / "reports"
    assert cli.main(["run", ws, "--program", "nope", "--out", str(out), "--no-progress"]) == 1
    assert "unknown program id(s) 'nope'" in capsys.readouterr().err
    assert cli.main(["run", ws, "--template", str(tmp_path / "no-template"), "--out", str(out), "--no-progress"]) == 1
    assert "template folder" in capsys.readouterr().err
    half = tmp_path / "half-template"
    half.mkdir()
    (half / "conf.json").write_text("{}")
    assert cli.main(["run", ws, "--template", str(half), "--out", str(out), "--no-progress"]) == 1
    assert "lacks index.html.j2" in capsys.readouterr().err
    assert not out.exists()  # bad arguments leave nothing behind


def test_demo_without_workspace_writes_the_committed_sample(tmp_path: Path, recorder: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--no-progress"]) == 0
    # Beside the output folder: the runner refuses an --out containing the workspace.
    sample = tmp_path / cli.SAMPLE_FOLDER
    (workspace,), kw = recorder.calls[0]
    assert workspace == str(sample) and kw["out"] == str(out)
    printed = capsys.readouterr().out
    assert "Writing the sample workspace" in printed and "Workspace is valid." in printed
    committed, written = _files(SAMPLE), _files(sample)
    assert committed.keys() == written.keys()
    assert [k for k in written if written[k] != committed[k]] == []
    assert (sample / cli.SAMPLE_MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [cli.SAMPLE_FOLDER]  # no staging folder left
    # A second demo replaces its own sample.
    (sample / "kpis.csv").write_text("stale", encoding="utf-8")
    assert cli.main(["demo", "--out", str(out), "--no-progress"]) == 0
    assert (sample / "kpis.csv").read_bytes() == (SAMPLE / "kpis.csv").read_bytes()


def test_demo_never_replaces_a_folder_it_did_not_write(tmp_path: Path, recorder: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / cli.SAMPLE_FOLDER
    mine.mkdir()
    (mine / "notes.txt").write_text("my own work", encoding="utf-8")
    assert cli.main(["demo", "--out", str(tmp_path / "reports"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert str(mine) in err and "was not written by lopsnb demo" in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and recorder.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [cli.SAMPLE_FOLDER]


def test_demo_sample_and_default_output_do_not_overlap(tmp_path: Path) -> None:
    from lopsnb.runner.outdir import check_not_overlapping

    out = tmp_path / "reports"
    check_not_overlapping(out, cli.sample_target(str(out)))  # raises if they overlap


def test_demo_with_workspace_uses_it(make_workspace: Any, tmp_path: Path, recorder: Recorder) -> None:
    ws = str(make_workspace())
    assert cli.main(["demo", ws, "--out", str(tmp_path / "r")]) == 0
    assert recorder.calls[0][0] == (ws,)
    assert not (tmp_path / cli.SAMPLE_FOLDER).exists()


def test_demo_stops_before_running_an_invalid_workspace(make_workspace: Any, recorder: Recorder) -> None:
    ws = make_workspace(program="id: demo\nname: Demo\nlaunch: not-a-date\n")
    assert cli.main(["demo", str(ws)]) == 1
    assert recorder.calls == []


def test_demo_unwritable_out_is_a_clear_error(tmp_path: Path, recorder: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli.main(["demo", "--out", str(blocker / "reports")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lopsnb: error: cannot write the sample workspace") and "Traceback" not in err
    assert recorder.calls == []
    # An --out that is a file is refused before any sample is written.
    assert cli.main(["demo", "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert "exists and is not a folder" in err and "Traceback" not in err
    assert recorder.calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_help_imports_no_heavy_library() -> None:
    # Issue 17: `lopsnb --help` must stay fast; asserted on what is imported, not on wall time
    # (benchmarks/run.py prints the timing).
    import subprocess
    import sys

    code = ("import sys, lopsnb.cli as c\n"
            "for argv in (['--help'], ['validate', '--help'], ['run', '--help'], ['demo', '--help']):\n"
            "    try:\n        c.main(argv)\n    except SystemExit:\n        pass\n"
            "heavy = {'pandas', 'numpy', 'scipy', 'statsmodels', 'papermill', 'nbconvert', 'matplotlib', 'pydantic', 'yaml'}\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    # The lazy public names still resolve.
    import lopsnb

    assert callable(lopsnb.evaluate) and callable(lopsnb.run_batch) and "load_workspace" in dir(lopsnb)
