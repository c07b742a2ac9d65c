"""The package works from its wheel: build it, install it in a fresh venv outside the checkout, run ``lopsnb demo``.

This is what a new user does (``pip install lopsnb``, then ``lopsnb demo`` in an
empty folder), so nothing may come from the repository: the report notebooks,
the nbconvert template and the sample generator must all be in the wheel. The
venv has no system site-packages; its dependencies come from the configured
package index (the pip cache keeps this fast on a machine that ran
``make install``). The Jupyter kernel is the venv's own, and the user-level
Jupyter folder is an empty temporary one, so no other Python on the machine can
stand in for the installed package.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "acme"
PACKAGE_DATA = {
    "lopsnb/report/notebooks/impact_report.ipynb",
    "lopsnb/report/notebooks/scorecards.ipynb",
    "lopsnb/report/notebooks/operations.ipynb",
    "lopsnb/report/templates/lopsnb/conf.json",
    "lopsnb/report/templates/lopsnb/index.html.j2",
    "lopsnb/report/templates/lopsnb/lopsnb.css",
    "lopsnb/io/sample.py",
    "lopsnb/py.typed",
}


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    return proc


def _clean_env(tmp: Path) -> dict[str, str]:
    # Nothing that would let the checkout or this test's venv leak in.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "JUPYTER_PATH", "LOPSNB_CACHE", "MPLBACKEND")}
    env["JUPYTER_DATA_DIR"] = str(tmp / "jupyter-data")
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _evaluated_sample_programs() -> list[str]:
    ids = []
    for path in sorted((SAMPLE / "programs").glob("*.yml")):
        if yaml.safe_load(path.read_text(encoding="utf-8")).get("evaluate", True):
            ids.append(path.stem)
    return ids


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("wheel")
    env = _clean_env(tmp)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)], cwd=tmp, env=env, timeout=900)
    (wheel,) = dist.glob("lopsnb-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp, env=env, timeout=300)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp, env=env, timeout=1800)
    _run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], cwd=tmp, env=env, timeout=300)
    return wheel, venv, env


def test_wheel_holds_the_package_data(wheel_venv: tuple[Path, Path, dict[str, str]]) -> None:
    wheel, _, _ = wheel_venv
    names = set(zipfile.ZipFile(wheel).namelist())
    assert PACKAGE_DATA <= names, sorted(PACKAGE_DATA - names)
    metadata = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in metadata.splitlines()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_demo_runs_from_the_installed_wheel_in_an_empty_folder(wheel_venv: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    _, venv, env = wheel_venv
    where = _run([str(venv / "bin" / "python"), "-c", "import lopsnb; print(lopsnb.__file__)"], cwd=tmp_path, env=env, timeout=120)
    installed = Path(where.stdout.strip()).resolve()
    assert installed.is_relative_to(venv.resolve()), installed  # the wheel's copy, not the checkout

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _run([str(venv / "bin" / "lopsnb"), "demo", "--no-progress"], cwd=empty, env=env, timeout=3000)
    reports = empty / "reports"
    assert "Workspace is valid." in proc.stdout and f"Open {reports / 'index.html'}" in proc.stdout
    index = (reports / "index.html").read_text(encoding="utf-8")
    programs = _evaluated_sample_programs()
    assert len(programs) == 9  # 7 KPI programs, the plant pilot and onboarding retention
    for pid in [*programs, "scorecards", "operations"]:
        status = json.loads((reports / pid / "status.json").read_text(encoding="utf-8"))
        assert status["status"] == "ok", (pid, status.get("error"))
        page = (reports / pid / "report.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "<script" not in page.lower()
        assert f'href="{pid}/report.html"' in index
        # every chart (the learning-function pages' too) says what it shows, not nbconvert's placeholder
        alts = re.findall(r'<img\b[^>]*\balt="([^"]*)"', page)
        assert len(alts) == page.count("<img") >= 1 and all(len(a) > 30 and "No description" not in a for a in alts), (pid, alts)
    for pid in programs:
        results = json.loads((reports / pid / "results.json").read_text(encoding="utf-8"))
        assert results["program"]["id"] == pid
    # The sample written next to the reports is the committed one.
    written = empty / "acme"
    assert (written / ".lopsnb-sample").is_file()
    assert sorted(p.name for p in (written / "programs").iterdir()) == sorted(p.name for p in (SAMPLE / "programs").iterdir())
    assert (written / "kpis.csv").read_bytes() == (SAMPLE / "kpis.csv").read_bytes()
