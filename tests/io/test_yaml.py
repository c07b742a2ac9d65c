"""workspace.yml and programs/*.yml: one safe loader, duplicate keys, alias bombs, empty files."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from badfiles import assert_refused, workspace
from conftest import PROGRAM_YML
from lopsnb.errors import ProgramConfigError, SourceError
from lopsnb.io.programs import load_program
from lopsnb.io.workspace import load_workspace
from lopsnb.io.yamlfile import MAX_EXPANDED_NODES, load_yaml

# The classic "billion laughs": nine levels of nine aliases, 9**9 (387 million)
# strings once expanded, in 700 bytes.
BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
) + "\n"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws")


def test_duplicate_key_in_a_program_names_both_lines(ws: Path, capsys) -> None:
    # 'evaluation:' on line 9 of PROGRAM_YML; a second 'design:' added inside it.
    text = PROGRAM_YML.replace("  design: did\n", "  design: did\n  design: ancova\n")
    (ws / "programs" / "demo.yml").write_text(text, encoding="utf-8")
    lines = text.splitlines()
    first, second = (i + 1 for i, line in enumerate(lines) if line.strip().startswith("design:"))
    p = assert_refused(ws, capsys, file="demo.yml", row=second, column="design", found=f"again on line {second} (first on line {first})", expected="each key once")
    assert p.row == second


def test_duplicate_top_level_key_in_workspace_yml(ws: Path, capsys) -> None:
    (ws / "workspace.yml").write_text("name: Acme\nsources: {}\nname: Other\n", encoding="utf-8")
    assert_refused(ws, capsys, file="workspace.yml", row=3, column="name", found="again on line 3 (first on line 1)", expected="each key once")


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = "base: &base {x: 1, y: 2}\nmerged:\n  <<: *base\n  y: 3\n"
    (tmp_path / "a.yml").write_text(text, encoding="utf-8")
    assert load_yaml(tmp_path / "a.yml").data["merged"] == {"x": 1, "y": 3}


def test_alias_bomb_in_a_program_fails_fast_and_small(ws: Path, capsys) -> None:
    (ws / "programs" / "demo.yml").write_text(BOMB, encoding="utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ProgramConfigError) as info:
        load_program(ws / "programs" / "demo.yml")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 2.0 and peak < 200 * 2**20, (elapsed, peak)
    (problem,) = info.value.problems
    assert problem.row is not None and f"more than {MAX_EXPANDED_NODES:,} values" in problem.found
    assert_refused(ws, capsys, file="demo.yml", row=problem.row, column=None, found="aliases (*name) that expand", expected="alias bomb is refused")


def test_alias_bomb_in_workspace_yml(ws: Path, capsys) -> None:
    (ws / "workspace.yml").write_text(BOMB, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        load_workspace(ws)
    row = info.value.problems[0].row
    assert row is not None and 1 <= row <= 9
    assert_refused(ws, capsys, file="workspace.yml", row=row, column=None, found="expand to more than", expected="a plain configuration file")


def test_small_aliases_still_work(tmp_path: Path) -> None:
    text = "w: &w {start: 2026-01-01, end: 2026-02-28}\nbaseline: *w\nagain: *w\n"
    (tmp_path / "a.yml").write_text(text, encoding="utf-8")
    assert load_yaml(tmp_path / "a.yml").data["again"]["end"].isoformat() == "2026-02-28"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_program_file(ws: Path, capsys, text: str) -> None:
    (ws / "programs" / "demo.yml").write_text(text, encoding="utf-8")
    assert_refused(ws, capsys, file="demo.yml", row=None, column=None, found="the file is empty", expected="YAML content")


def test_empty_workspace_yml(ws: Path, capsys) -> None:
    (ws / "workspace.yml").write_text("", encoding="utf-8")
    assert_refused(ws, capsys, file="workspace.yml", row=None, column=None, found="the file is empty", expected="YAML content")


def test_python_tags_are_refused_not_run(ws: Path, capsys, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    (ws / "programs" / "demo.yml").write_text(text, encoding="utf-8")
    assert_refused(ws, capsys, file="demo.yml", row=1, column=None, found="invalid YAML", expected="no tags such as !!python")
    assert not marker.exists()


def test_several_documents_are_refused(ws: Path, capsys) -> None:
    (ws / "workspace.yml").write_text("name: a\n---\nname: b\n", encoding="utf-8")
    assert_refused(ws, capsys, file="workspace.yml", row=2, column=None, found="invalid YAML", expected="valid YAML")


def test_not_utf8_names_the_line(ws: Path, capsys) -> None:
    (ws / "programs" / "demo.yml").write_bytes(PROGRAM_YML.encode().replace(b"Demo Program", b"Demo Caf\xe9"))
    assert_refused(ws, capsys, file="demo.yml", row=2, column=None, found="not UTF-8", expected="a UTF-8 YAML file")


def test_workspace_yml_that_is_not_a_mapping(ws: Path, capsys) -> None:
    (ws / "workspace.yml").write_text("- a\n- b\n", encoding="utf-8")
    assert_refused(ws, capsys, file="workspace.yml", row=None, column=None, found="a list at the top level", expected="a mapping")


def test_every_yaml_reader_uses_the_one_loader() -> None:
    """No module of lopsnb parses YAML except lopsnb.io.yamlfile (dumping is fine)."""
    root = Path(__file__).resolve().parents[2] / "lopsnb"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "yamlfile.py"
        and any(call in p.read_text(encoding="utf-8") for call in ("yaml.safe_load", "yaml.load(", "yaml.compose", "yaml.full_load", "yaml.unsafe_load"))
    ]
    assert offenders == []
