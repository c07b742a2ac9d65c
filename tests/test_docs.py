"""The data contract documentation must match the code that enforces it.

``docs/data-contract.md`` is written by hand; these tests parse its markdown
tables and compare them with :data:`lopsnb.io.schemas.TABLES`, the
:class:`lopsnb.io.programs.Program` model (recursively) and the
``workspace.yml`` models, so that a column, field or default added or changed
in code without updating the page fails the build.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from lopsnb.io.programs import DESIGNS, Program, load_program
from lopsnb.io.schemas import TABLES, ColumnSpec, TableSpec
from lopsnb.io.lrs import LrsAuth, LrsConfig, LrsSource
from lopsnb.io.workspace import FileSource, SqlSource, WorkspaceConfig, XapiSource

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "data-contract.md"
INDEX = ROOT / "docs" / "index.md"
TEXT = DOC.read_text(encoding="utf-8")

_TABLE_HEADING = re.compile(r"^### Table `([^`]+)`\s*$", re.MULTILINE)
# A cell separator is a pipe not escaped as "\|" (escaped pipes occur inside cells).
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"`([^`]+)`")


# --------------------------------------------------------------------------- markdown parsing


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(inner)]


def _md_table(text: str, first_header: str) -> list[dict[str, str]]:
    """Rows (as header -> cell) of the first markdown table whose first header cell is ``first_header``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("|") and _cells(line)[0] == first_header:
            header = _cells(line)
            rows = []
            for body in lines[i + 2 :]:  # skip the |---| separator
                if not body.lstrip().startswith("|"):
                    break
                cells = _cells(body)
                assert len(cells) == len(header), f"malformed row in table '{first_header}': {body}"
                rows.append(dict(zip(header, cells, strict=True)))
            return rows
    raise AssertionError(f"no markdown table with first column '{first_header}' in {DOC}")


def _table_sections(text: str) -> dict[str, str]:
    """Documented table name -> its section text (up to the next heading of level <= 3)."""
    out: dict[str, str] = {}
    matches = list(_TABLE_HEADING.finditer(text))
    for m in matches:
        rest = text[m.end() :]
        nxt = re.search(r"^#{1,3} ", rest, re.MULTILINE)
        out[m.group(1)] = rest[: nxt.start()] if nxt else rest
    return out


def _plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def _code_block(text: str, first_line: str) -> str:
    """Body of the first ```yaml block whose first line is ``first_line``."""
    m = re.search(r"```yaml\n(" + re.escape(first_line) + r"\n.*?)```", text, re.DOTALL)
    assert m is not None, f"no yaml example starting with {first_line!r}"
    return m.group(1)


# --------------------------------------------------------------------------- expected cells


def _type(col: ColumnSpec) -> str:
    return {"str": "text", "date": "date", "float": "number"}[col.kind]


def _required(col: ColumnSpec) -> str:
    if not col.required:
        return "no"
    return "yes (blank allowed)" if col.nullable else "yes"


def _allowed(col: ColumnSpec) -> str:
    if col.allowed is not None:
        return ", ".join(col.allowed)
    bounds = []
    if col.gt is not None:
        bounds.append(f"> {col.gt:g}")
    if col.ge is not None:
        bounds.append(f"≥ {col.ge:g}")
    if col.le is not None:
        bounds.append(f"≤ {col.le:g}")
    if col.kind == "date":
        bounds.append("1950-01-01 … 2100-12-31")
    return ", ".join(bounds) or "—"


def _default(col: ColumnSpec) -> str:
    if col.default is None:
        return "—"
    return f"{col.default:g}" if isinstance(col.default, float) else str(col.default)


def _table_facts(spec: TableSpec) -> str:
    unique = ", ".join(spec.unique) or "none"
    rules = ", ".join(f"{r.left} {'≤' if r.op == '<=' else '≥'} {r.right}" for r in spec.row_rules) or "none"
    return f"Required table: {'yes' if spec.required_table else 'no'} · Unique key: {unique} · Row rules: {rules}"


# --------------------------------------------------------------------------- tables


def test_documented_tables_are_exactly_the_contract_tables() -> None:
    documented = list(_table_sections(TEXT))
    assert sorted(documented) == sorted(TABLES), "tables documented vs. lopsnb.io.schemas.TABLES"
    assert len(documented) == len(set(documented)), "a table is documented twice"


@pytest.mark.parametrize("name", list(TABLES))
def test_table_columns_match_schema(name: str) -> None:
    spec = TABLES[name]
    section = _table_sections(TEXT)[name]
    rows = _md_table(section, "column")
    documented = [_plain(r["column"]) for r in rows]
    assert documented == [c.name for c in spec.columns], f"{name}: columns (and their order) differ from schemas.py"
    for row, col in zip(rows, spec.columns, strict=True):
        where = f"{name}.{col.name}"
        assert _plain(row["type"]) == _type(col), where
        assert _plain(row["required"]) == _required(col), where
        assert _plain(row["allowed values / bounds"]) == _allowed(col), where
        assert _plain(row["default"]) == _default(col), where
        assert row["meaning"].strip(), f"{where}: empty meaning"
    facts = next(line for line in section.splitlines() if line.startswith("Required table:"))
    assert _plain(facts) == _table_facts(spec), f"{name}: required/unique/row-rule line"


# --------------------------------------------------------------------------- program fields


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model inside ``annotation`` (unwrapping Optional and tuples) and whether it is a list item."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            model, many = _nested_model(arg)
            if model is not None:
                return model, many
    if origin is tuple:
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0], True
    return None, False


def _field_paths(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Dotted path (``[]`` marks list items) -> pydantic FieldInfo, for every field at every depth."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out[path] = info
        nested, many = _nested_model(info.annotation)
        if nested is not None:
            out.update(_field_paths(nested, path + ("[]." if many else ".")))
    return out


def _program_rows() -> dict[str, dict[str, str]]:
    """Documented program field path -> its reference-table row (a row may document several paths)."""
    out: dict[str, dict[str, str]] = {}
    for row in _md_table(TEXT, "program field"):
        paths = _CODE.findall(row["program field"])
        assert paths, f"program field row without a `path`: {row}"
        for p in paths:
            assert p not in out, f"program field {p} documented twice"
            out[p] = row
    return out


def _render_default(value: Any) -> str | None:
    """How a default is written in the reference table (None: not checked, e.g. a nested section)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list, dict)) and not value:
        return "[]" if not isinstance(value, dict) else "{}"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return None


def test_every_program_field_is_documented_and_nothing_else() -> None:
    expected = _field_paths(Program)
    documented = _program_rows()
    assert set(documented) == set(expected), (
        f"missing from docs: {sorted(set(expected) - set(documented))}; "
        f"documented but not in Program: {sorted(set(documented) - set(expected))}"
    )
    # Every field name also appears somewhere in prose or examples, recursively.
    for path in expected:
        assert re.search(rf"\b{re.escape(path.rsplit('.', 1)[-1])}\b", TEXT), path


def test_program_field_defaults_and_choices_match_the_model() -> None:
    rows = _program_rows()
    for path, info in _field_paths(Program).items():
        row = rows[path]
        cell = _plain(row["default"])
        if info.is_required():
            assert cell == "required", f"{path}: documented default {cell!r}, but the field is required"
        else:
            want = _render_default(info.default)
            if want is not None:
                assert cell == want, f"{path}: documented default {cell!r}, model default {want!r}"
            else:
                assert cell != "required", f"{path} is optional"
        if get_origin(info.annotation) is Literal:
            listed = set(_CODE.findall(row["type"] + " " + row["rules"]))
            missing = set(get_args(info.annotation)) - listed
            assert not missing, f"{path}: allowed values {sorted(missing)} not listed"


def _unset_fields(model: BaseModel, path: str = "") -> set[str]:
    """Paths of fields (at any depth) that ``model`` leaves at their default."""
    out: set[str] = set()
    for name in type(model).model_fields:
        here = f"{path}{name}"
        if name not in model.model_fields_set:
            out.add(here)
        value = getattr(model, name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, BaseModel):
                out |= _unset_fields(item, here + ("[]." if isinstance(value, tuple) else "."))
    return out


def test_annotated_program_example_is_valid_and_complete(tmp_path: Path) -> None:
    body = _code_block(TEXT, "# programs/sales-enablement.yml")
    path = tmp_path / "sales-enablement.yml"
    path.write_text(body, encoding="utf-8")
    program = load_program(path)
    # The example uses absolute windows; the offset form and design survival are shown in their own sections.
    offsets = {"evaluation.baseline.offset", "evaluation.followup.offset"}
    survival = {"evaluation.horizon_days", "evaluation.origin", "evaluation.event", "evaluation.as_of"}
    assert _unset_fields(program) == offsets | survival, "the annotated example should show every program field"
    assert "{offset: [" in TEXT


def test_survival_example_is_valid(tmp_path: Path) -> None:
    body = _code_block(TEXT, "# programs/onboarding-retention.yml")
    path = tmp_path / "onboarding-retention.yml"
    path.write_text(body, encoding="utf-8")
    program = load_program(path)
    assert program.evaluation.design == "survival" and program.evaluation.horizon_days == 90
    assert "event: {metric:" in TEXT


def test_every_design_is_described() -> None:
    designs = [_plain(r["design"]) for r in _md_table(TEXT, "design")]
    assert sorted(designs) == sorted(DESIGNS)


# --------------------------------------------------------------------------- workspace.yml


def test_workspace_source_keys_are_documented() -> None:
    expected = set()
    for model in (WorkspaceConfig, SqlSource, XapiSource, FileSource, LrsSource, LrsConfig, LrsAuth):
        expected |= set(model.model_fields)
    documented = {_plain(r["source key"]) for r in _md_table(TEXT, "source key")}
    assert documented == expected
    defaults = {_plain(r["source key"]): _plain(r["default"]) for r in _md_table(TEXT, "source key")}
    for model in (SqlSource, XapiSource, FileSource, LrsSource, LrsConfig, LrsAuth):
        for name, info in model.model_fields.items():
            want = "required" if info.is_required() else _render_default(info.get_default(call_default_factory=True))
            assert defaults[name] == want, f"workspace.yml key {name}"


def test_workspace_yml_example_is_valid() -> None:
    config = WorkspaceConfig.model_validate(yaml.safe_load(_code_block(TEXT, "name: Acme Corp (fictional)")))
    kinds = {type(s) for s in config.sources.values()}
    assert kinds == {SqlSource, XapiSource, FileSource}, "the example should show every source kind"


# --------------------------------------------------------------------------- index


def test_index_lists_the_docs() -> None:
    text = INDEX.read_text(encoding="utf-8")
    for page in ("architecture.md", "data-contract.md", "results-schema.md", "reports.md", "runner.md", "security.md", "performance.md",
                 "culture-and-operations.md"):
        assert f"]({page})" in text, page
