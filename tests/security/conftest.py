"""Batch runs shared by the security tests (one per package: each costs kernels and seconds)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from security.kit import ROOT, kernel_available, run, security_workspace

SAMPLE = ROOT / "data_samples" / "acme"
#: Two sample programs with every level measured: enough to scan for people, cheap to run.
SAMPLE_PROGRAMS = ["sales-enablement", "safety-compliance"]


@dataclass
class Batch:
    workspace: Path
    out: Path
    result: object


@pytest.fixture(scope="package")
def security_batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """The security workspace (privacy-demo, tiny, inject, formula) rendered once."""
    if not kernel_available():
        pytest.skip("no Jupyter kernelspec named python3 (run `make install`)")
    base = tmp_path_factory.mktemp("security")
    ws = security_workspace(base / "ws")
    out = base / "out"
    return Batch(ws, out, run(ws, out))


@pytest.fixture(scope="package")
def sample_batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Two programs of the Acme sample workspace, from a copy (a run may write a cache into its workspace)."""
    if not kernel_available():
        pytest.skip("no Jupyter kernelspec named python3 (run `make install`)")
    if not (SAMPLE / "people.csv").is_file():
        pytest.skip("sample workspace not generated")
    base = tmp_path_factory.mktemp("sample")
    ws = base / "acme"
    shutil.copytree(SAMPLE, ws, ignore=shutil.ignore_patterns(".lopsnb-cache", "truth.json"))
    out = base / "out"
    return Batch(ws, out, run(ws, out, programs=SAMPLE_PROGRAMS))
