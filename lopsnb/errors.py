"""Exception hierarchy of lopsnb.

Every error lopsnb raises on purpose derives from :class:`LopsnbError`, and
also from the builtin exception a Python caller would expect, so that one
``except`` clause suffices:

==========================  =====================================
lopsnb error                also a
==========================  =====================================
:class:`DataError`          ``ValueError`` (bad input values)
:class:`ValidationError`    ``ValueError`` (via DataError)
:class:`SourceError`        ``ValueError`` (via DataError); not an
                            ``OSError``: the operating-system error, when
                            there is one, is its ``__cause__``
:class:`UnknownProgramError` ``KeyError`` (a program id that is not there)
:class:`EvaluationError`    ``ValueError`` (an evaluation that cannot be
                            computed as configured, including a singular
                            design matrix: ``numpy.linalg.LinAlgError``
                            never escapes an estimator)
:class:`RunError`           ``RuntimeError``
:class:`PdfError`           ``RuntimeError`` (via RunError): no
                            browser to print with, or printing
                            a page to PDF failed
==========================  =====================================

Callers therefore catch ``LopsnbError`` (everything lopsnb raises on purpose)
or the builtin, never a tuple such as ``(LopsnbError, KeyError, ValueError,
LinAlgError)``.  Errors
about input data carry structured :class:`Problem` records (file, row, column,
what was found, what was expected) so that a user — or a test — can act on them
without parsing the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "LopsnbError",
    "Problem",
    "DataError",
    "ValidationError",
    "SourceError",
    "ProgramConfigError",
    "EvaluationError",
    "InsufficientDataError",
    "RunError",
    "PdfError",
    "UnknownProgramError",
]

#: How many problems a message lists before summarising the rest; the full
#: list stays available on ``error.problems``.
MAX_LISTED = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    Attributes
    ----------
    file : str
        The file (or source label such as ``sql:kpis``) the problem is in.
    row : int or None
        Row number as a person sees it in a spreadsheet: the header is row 1,
        the first data row is row 2 (for Parquet and SQL sources, the 1-based
        record number; for YAML and JSONL files, the line number).  ``None``
        when the problem concerns the whole file or column.
    column : str or None
        Column (or, for YAML files, the dotted field path) concerned.
    found : str
        The offending value, or a description of what was found.
    expected : str
        What a valid value looks like.
    """

    file: str
    row: int | None
    column: str | None
    found: str
    expected: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            # YAML and JSONL problems point at a text line, tables at a row.
            name = self.file.lower()
            unit = "line" if name.endswith((".yml", ".yaml", ".jsonl")) else ("record" if name.endswith(".json") else "row")
            where.append(f"{unit} {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: found {self.found}; expected {self.expected}"

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-serialisable dict."""
        return asdict(self)


class LopsnbError(Exception):
    """Base class of every error lopsnb raises deliberately."""


class DataError(LopsnbError, ValueError):
    """Input data is unusable; ``problems`` lists every problem found.

    Parameters
    ----------
    problems : iterable of Problem
        All problems found (validation is lazy: nothing stops at the first one).
    summary : str, optional
        A one-line headline placed before the list.
    """

    def __init__(self, problems: Iterable[Problem], summary: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.summary = summary or f"{len(self.problems)} problem(s) in the input data"
        super().__init__(self._message())

    def _message(self) -> str:
        lines = [self.summary + ":"]
        lines += [f"  - {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more (see .problems)")
        return "\n".join(lines)

    @property
    def files(self) -> Sequence[str]:
        """Distinct files named by the problems, in order of first mention."""
        return list(dict.fromkeys(p.file for p in self.problems))


class ValidationError(DataError):
    """A table or program failed validation against the data contract."""


class SourceError(DataError):
    """A source could not be read at all (missing, empty, undecodable, bad SQL)."""


class ProgramConfigError(ValidationError):
    """A program YAML file does not follow the program schema."""


class EvaluationError(LopsnbError, ValueError):
    """An evaluation cannot be computed as configured (e.g. unknown metric)."""


class InsufficientDataError(EvaluationError):
    """Too little data for the requested estimator (e.g. empty comparison group)."""


class RunError(LopsnbError, RuntimeError):
    """A batch run failed as a whole (bad arguments, unusable output folder)."""


class PdfError(RunError):
    """A page could not be printed to PDF: no Chromium/Chrome found, or the browser failed or timed out."""


class UnknownProgramError(LopsnbError, KeyError):
    """A program id that the workspace does not define.

    Parameters
    ----------
    program_id : str
        The id asked for.
    where : object
        The workspace folder (or another label) searched.
    known : sequence of str
        The program ids that do exist, listed in the message.
    """

    def __init__(self, program_id: str, where: object, known: Sequence[str]) -> None:
        self.program_id = program_id
        self.known = list(known)
        super().__init__(f"no program {program_id!r} in {where}; programs: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and add quotes.
        return str(self.args[0])
