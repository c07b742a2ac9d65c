"""``lopsnb init DIR``: a workspace folder with commented source examples and a program template."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lopsnb.cli import main
from lopsnb.errors import LopsnbError
from lopsnb.io.programs import load_program
from lopsnb.io.scaffold import init_workspace, uncomment
from lopsnb.io.workspace import FileSource, SqlSource, WorkspaceConfig, XapiSource
from lopsnb.io.yamlfile import load_yaml
from test_docs import _unset_fields


def test_init_writes_the_templates(tmp_path: Path, capsys) -> None:
    target = tmp_path / "northwind"
    assert main(["init", str(target), "--name", "Northwind: L&D"]) == 0
    out = capsys.readouterr().out
    assert "docs/bring-your-data.md" in out
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "exports", "exports/README.txt", "program-template.yml", "programs", "workspace.yml"]
    config = load_yaml(target / "workspace.yml", label="workspace.yml").data
    assert config == {"name": "Northwind: L&D"}, "every source example is commented out"
    assert not list(tmp_path.glob(".northwind-*")), "no staging folder left behind"


def test_the_commented_source_examples_are_valid_once_uncommented(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws")
    config = WorkspaceConfig.model_validate(yaml.safe_load(uncomment((tmp_path / "ws" / "workspace.yml").read_text(encoding="utf-8"))))
    assert {type(s) for s in config.sources.values()} == {FileSource, SqlSource, XapiSource}
    assert {s.preset for s in config.sources.values() if isinstance(s, FileSource)} == {"hris_roster", "moodle_completion", None}


def test_the_program_template_shows_every_field(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws")
    path = tmp_path / "my-program.yml"
    path.write_text(uncomment((tmp_path / "ws" / "program-template.yml").read_text(encoding="utf-8")), encoding="utf-8")
    program = load_program(path)
    # Alternatives stay commented after one uncomment: offset windows, and the fields of design survival.
    assert _unset_fields(program) == {"evaluation.baseline.offset", "evaluation.followup.offset", "evaluation.horizon_days",
                                      "evaluation.origin", "evaluation.event", "evaluation.as_of"}


def test_init_never_overwrites(tmp_path: Path, capsys) -> None:
    target = tmp_path / "ws"
    target.mkdir()
    (target / "people.csv").write_text("person_id\nP1\n", encoding="utf-8")
    assert main(["init", str(target)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in target.iterdir()] == ["people.csv"]
    with pytest.raises(LopsnbError, match="a file"):
        init_workspace(target / "people.csv")


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    written = init_workspace(tmp_path / "ws")
    assert all(p.exists() for p in written)
