"""``environment.yml`` (conda) and ``pyproject.toml`` (pip) declare the same packages with the same lower bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_REQ = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(>=\s*[^,;\s]+)?")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(req: str) -> tuple[str, str | None, list[str]]:
    m = _REQ.match(req)
    assert m, req
    extras = [e.strip() for e in (m.group(2) or "[]")[1:-1].split(",") if e.strip()]
    return _norm(m.group(1)), (m.group(3) or "").replace(" ", "") or None, extras


def _pyproject() -> dict[str, str | None]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        reqs += [r for r in extra if not r.startswith("lopsnb[")]
    out: dict[str, str | None] = {"python": project["requires-python"]}
    for req in reqs:
        name, bound, extras = _parse(req)
        out[name] = bound
        for e in extras:  # dask[distributed] is conda's dask + distributed
            out[_norm(e)] = bound
    return out


def _environment() -> dict[str, str | None]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out: dict[str, str | None] = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if item in ("pip", "-e .") or item.startswith("-"):
                continue
            name, bound, extras = _parse(item)
            out[name] = bound
            for e in extras:  # a pip line keeps its extras, as pyproject does
                out[_norm(e)] = bound
    return out


def test_environment_yml_matches_pyproject() -> None:
    assert _environment() == _pyproject()


def test_build_requires_a_setuptools_with_spdx_license_support() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (setuptools,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert tuple(int(x) for x in setuptools.split(">=")[1].split(".")[:1]) >= (77,)
    assert meta["project"]["license"] == "MIT" and all((ROOT / f).is_file() for f in meta["project"]["license-files"])
