"""The one YAML loader of lopsnb (``workspace.yml`` and ``programs/*.yml``).

YAML files come from users and sometimes from strangers (a workspace shared
by e-mail), so loading is defensive:

* only safe loading: tags such as ``!!python/object`` are errors;
* a key repeated in one mapping is an error naming both lines (PyYAML keeps
  the last value silently, so a typo'd copy would win);
* aliases may not expand to more than :data:`MAX_EXPANDED_NODES` values,
  so an alias bomb ("billion laughs") fails in milliseconds instead of
  exhausting memory in whoever walks the expanded data (pydantic, json);
* an empty file (or one holding only comments) says "the file is empty";
* a file with several documents (``---``) is an error.

Every failure is a :class:`~lopsnb.errors.DataError` subclass chosen by the
caller, with problems naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lopsnb.errors import DataError, Problem, SourceError

__all__ = ["MAX_EXPANDED_NODES", "YamlDocument", "line_of", "load_yaml"]

#: Values (scalars, mappings, sequences) a document may hold once every alias
#: is expanded.  The largest real program file has a few hundred; a bomb has
#: billions.
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True, kw_only=True)
class YamlDocument:
    """A loaded YAML file.

    Attributes
    ----------
    data : Any
        The constructed Python value (``None`` never: empty files are errors).
    root : yaml.Node
        The composed node tree, for mapping field paths to line numbers.
    """

    data: Any
    root: yaml.Node


class _Loader(yaml.SafeLoader):
    """SafeLoader; only here so that changes to the loader stay local."""


def load_yaml(path: str | Path, *, label: str | None = None, error: type[DataError] = SourceError) -> YamlDocument:
    """Read and safely load one YAML file.

    Parameters
    ----------
    path : str or Path
        The file.
    label : str, optional
        How the file is named in messages (defaults to the path).
    error : type of DataError
        The error class raised (``ProgramConfigError`` for program files).

    Returns
    -------
    YamlDocument

    Raises
    ------
    DataError
        Of class ``error``: unreadable, not UTF-8, empty, invalid YAML,
        several documents, duplicate keys or an alias bomb.
    """
    path = Path(path)
    label = label or str(path)
    text = _read_text(path, label, error)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null" and root.value == ""):
            raise error([Problem(label, None, None, "the file is empty", "YAML content (a mapping of fields)")], summary=f"cannot read {label}")
        _check_nodes(root, label, error)
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        raise error(
            [Problem(label, mark.line + 1 if mark else None, None, f"invalid YAML ({what})", "valid YAML (safe subset: no tags such as !!python/...)")],
            summary=f"cannot read {label}",
        ) from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, root=root)


def _read_text(path: Path, label: str, error: type[DataError]) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error([Problem(label, None, None, f"an unreadable file ({exc.strerror or exc})", "a readable YAML file")], summary=f"cannot read {label}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            [Problem(label, line, None, f"bytes that are not UTF-8 (offset {exc.start})", "a UTF-8 YAML file")], summary=f"cannot read {label}"
        ) from None


def _check_nodes(root: yaml.Node, label: str, error: type[DataError]) -> None:
    """Refuse duplicate keys and alias bombs before anything is constructed.

    The node graph of an alias bomb is small (aliases share nodes), so it is
    walked once per distinct node with memoised expanded sizes.
    """
    sizes: dict[int, int] = {}
    problems: list[Problem] = []

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a recursive alias counts once instead of looping
        total = 1
        if isinstance(node, yaml.MappingNode):
            problems.extend(_duplicate_keys(node, label))
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v) for v in node.value)
        sizes[key] = total
        if total > MAX_EXPANDED_NODES:
            raise error(
                [
                    Problem(
                        label,
                        node.start_mark.line + 1,
                        None,
                        f"aliases (*name) that expand to more than {MAX_EXPANDED_NODES:,} values",
                        "a plain configuration file (an alias bomb is refused before it is expanded)",
                    )
                ],
                summary=f"cannot read {label}",
            )
        return total

    size(root)
    if problems:
        raise error(problems, summary=f"duplicate keys in {label}")


def _duplicate_keys(node: yaml.MappingNode, label: str) -> list[Problem]:
    first: dict[str, int] = {}
    out: list[Problem] = []
    for key, _value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        line = key.start_mark.line + 1
        if key.value in first:
            out.append(
                Problem(
                    label,
                    line,
                    key.value,
                    f"the key '{key.value}' again on line {line} (first on line {first[key.value]})",
                    "each key once per mapping (PyYAML would silently keep the last one)",
                )
            )
        else:
            first[key.value] = line
    return out


def line_of(root: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``path`` (or its deepest existing parent)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    node, line = v, k.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
