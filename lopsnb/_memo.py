"""Share an expensive pure computation between the kernels of one batch.

The operations page grades the evidence of every program, so it evaluates
each one again, Rambachan–Roth intervals included (seconds to a minute per
program), in its own kernel. When ``lopsnb run`` sets :data:`MEMO_ENV` to a
folder of the batch's scratch space, :func:`memoized` stores the value of
such a computation there under a digest of all its inputs, and a later
kernel with the same inputs reads it instead of computing it again.

Nothing else changes: the value is the same object (pickled), and the
warnings the computation raised are recorded with it and raised again, at
the caller, through the filters and once-per-location registries in force
there, on the first run as on a reuse. Without :data:`MEMO_ENV` (a notebook
run by hand, the explorer, tests) the computation simply runs. The folder is
private to the batch and removed with its scratch space; the runner creates
it, so its pickles are trusted like the runner's own files.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["MEMO_ENV", "memoized", "digest"]

#: Environment variable naming the batch's memo folder (unset: no memo).
MEMO_ENV = "LOPSNB_MEMO"

T = TypeVar("T")

# (message, category, filename, lineno) of one warning raised by a computation.
_Warning = tuple[Any, type, str, int]


def digest(parts: Iterable[bytes | str]) -> str:
    """sha256 of ``parts``, each length-prefixed (so that no two part lists collide)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else bytes(part)
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def memoized(kind: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, or its stored value when the batch already computed it for ``key``.

    Parameters
    ----------
    kind : str
        What is computed (a file-name prefix, e.g. ``"honest"``).
    key : str
        A digest (:func:`digest`) of everything the value depends on.
    compute : callable
        The pure computation. Its exceptions propagate and are not stored.

    Returns
    -------
    The value, with the computation's warnings raised again here.
    """
    root = os.environ.get(MEMO_ENV)
    if not root:
        return compute()
    path = Path(root) / f"{kind}-{key}.pickle"
    stored = _load(path)
    if stored is None:
        with warnings.catch_warnings(record=True) as caught:
            # Every warning is recorded, whatever the filters: they are
            # applied when the record is raised again below.
            warnings.simplefilter("always")
            value = compute()
        stored = (value, [(w.message, w.category, w.filename, w.lineno) for w in caught])
        _store(path, stored)
    value, raised = stored
    _raise_again(raised)
    return value


def _load(path: Path) -> tuple[Any, list[_Warning]] | None:
    try:
        with open(path, "rb") as f:
            stored = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged entry is computed again
        return None
    return stored if isinstance(stored, tuple) and len(stored) == 2 else None


def _store(path: Path, stored: tuple[Any, list[_Warning]]) -> None:
    """Write atomically (two kernels may compute the same entry at once); never fail the caller."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(stored, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # unpicklable value, full disk: the memo is only a shortcut
        pass


def _raise_again(raised: list[_Warning]) -> None:
    """Raise recorded warnings as their own code did: same module, file, line, filters and registry."""
    for message, category, filename, lineno in raised:
        module = _module_of(filename)
        globs = getattr(module, "__dict__", None)
        registry = globs.setdefault("__warningregistry__", {}) if globs is not None else None
        warnings.warn_explicit(message, category, filename, lineno, module=getattr(module, "__name__", None), registry=registry,
                               module_globals=globs)


def _module_of(filename: str) -> Any:
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == filename:
            return module
    return None
