"""Read an xAPI (Experience API / Tin Can) statement export into lopsnb tables.

An LRS export is turned into the two contract tables it can feed:

* ``enrollments`` — one row per person x program that has at least one
  statement on the program's course activity or on one of its assessment
  activities;
* ``assessments`` — one row per person x program x phase, from statements
  that carry ``result.score`` on an assessment activity.

The mapping from activity IRIs to programs is given by the caller (it is not
in the statements), and actors are resolved to ``person_id`` through the
people table.  Validation is lazy: every malformed statement and every
unresolved actor is collected, then one :class:`~lopsnb.errors.ValidationError`
lists them all.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from lopsnb.errors import Problem, SourceError, ValidationError
from lopsnb.io.schemas import MAX_DATE, MIN_DATE

__all__ = [
    "CMI5_MASTERY_SCORE",
    "CMI5_MOVE_ON",
    "MOVE_ON_VALUES",
    "RECOGNISED_VERBS",
    "VOIDED_VERB",
    "XapiTables",
    "read_xapi",
    "xapi_tables",
]

#: Verbs (last path segment of ``verb.id``) that feed the tables; any other verb
#: is ignored and counted in ``stats["ignored_verbs"]``.  ``satisfied``,
#: ``waived`` and ``abandoned`` are the cmi5 verbs (cmi5 section 9.3).
RECOGNISED_VERBS: frozenset[str] = frozenset(
    {"completed", "passed", "failed", "scored", "attempted", "launched", "satisfied", "waived", "abandoned"}
)
#: Verbs that mark a course activity as completed.  cmi5's ``satisfied`` is
#: issued by the LMS on a course or block once its moveOn criteria are met.
_COMPLETION_VERBS = frozenset({"completed", "passed", "satisfied"})
#: Verbs that show the person attempted the activity.  A person whose only
#: statements are ``waived`` (and ``satisfied``) was credited without attempt.
_ATTEMPT_VERBS = frozenset(RECOGNISED_VERBS - {"waived", "satisfied"})
#: cmi5 context extensions kept on the enrollment (cmi5 section 9.6.3).
CMI5_MOVE_ON = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
CMI5_MASTERY_SCORE = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
#: The moveOn values cmi5 allows (cmi5 section 13.1.4).
MOVE_ON_VALUES: tuple[str, ...] = ("Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable")
#: The xAPI verb of a voiding statement (xAPI 1.0.3, section 2.3.2).
VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

UnknownActors = Literal["error", "drop"]
Phase = Literal["pre", "post", "followup"]
_PHASES: tuple[str, ...] = get_args(Phase)
_PROGRAM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# The dtype the workspace schemas use for dates (lopsnb.io.schemas).
_DATE_DTYPE = "datetime64[ns]"

ENROLLMENT_COLUMNS: tuple[str, ...] = (
    "person_id", "program_id", "enrolled_on", "completed_on", "status", "hours",
)
ASSESSMENT_COLUMNS: tuple[str, ...] = (
    "person_id", "program_id", "phase", "score", "max_score", "taken_on",
)


@dataclass(frozen=True)
class XapiTables:
    """The tables derived from an xAPI export.

    Attributes
    ----------
    enrollments : pandas.DataFrame
        Columns ``person_id`` (str), ``program_id`` (str), ``enrolled_on``
        (datetime64, UTC date of the person's earliest statement on the
        program's course or assessment activities), ``completed_on``
        (datetime64, UTC date of the earliest ``completed``/``passed``/
        ``satisfied`` statement on a course activity; for a waiver, its
        date; NaT if none), ``status`` (str, ``completed``, ``waived`` --
        cmi5 credit without any attempt -- or ``in_progress``) and ``hours``
        (float, sum of ``result.duration`` over the person's statements on
        the program, 0 if none carried a duration).  When some statement
        carried the cmi5 context extensions, also ``move_on`` (str) and
        ``mastery_score`` (float), from the latest statement carrying them.
        Sorted by person_id, program_id.
    assessments : pandas.DataFrame
        Columns ``person_id``, ``program_id``, ``phase`` (str), ``score``,
        ``max_score`` (float; ``max_score`` NaN when a raw score came without
        ``score.max``) and ``taken_on`` (datetime64, UTC date).  One row per
        person x program x phase: the attempt with the latest timestamp.
        Sorted by person_id, program_id, phase (pre, post, followup).
    stats : dict of str to int
        ``statements`` (read from the file) = ``duplicates`` (exact repeats of
        a statement id, dropped) + ``voiding`` (voiding statements) +
        ``voided`` (statements they removed) + ``ignored_activities``
        (object not a mapped activity) + ``ignored_verbs`` (verb not in
        :data:`RECOGNISED_VERBS`) + ``dropped_actors`` (actor not in people,
        with ``unknown_actors="drop"``) + ``used``.
    """

    enrollments: pd.DataFrame
    assessments: pd.DataFrame
    stats: dict[str, int]


# --------------------------------------------------------------------------
# Scalar parsers.  They raise _Bad with the "expected" text; the caller turns
# it into a Problem that knows the file, row and JSON path.


class _Bad(Exception):
    """A value that does not parse; ``args[0]`` says what was expected."""


_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_TIMESTAMP_EXPECTED = "an ISO 8601 date-time such as 2026-03-01T09:30:00Z or 2026-03-01T09:30:00+02:00"


def _parse_timestamp(text: Any) -> datetime:
    """Parse an ISO 8601 date-time into an aware UTC ``datetime``.

    A timestamp without an offset is taken as UTC (xAPI says timestamps SHOULD
    carry one; LRSs store UTC).
    """
    if not isinstance(text, str):
        raise _Bad(_TIMESTAMP_EXPECTED)
    m = _TIMESTAMP.match(text.strip())
    if m is None:
        raise _Bad(_TIMESTAMP_EXPECTED)
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    # Only microseconds survive; finer digits cannot change the UTC date.
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    tz_text = m.group(8)
    try:
        if tz_text is None or tz_text in "Zz":
            tz = timezone.utc
        else:
            sign = -1 if tz_text[0] == "-" else 1
            digits = tz_text[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            tz = timezone(sign * offset)
        stamp = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        return stamp.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise _Bad(f"{_TIMESTAMP_EXPECTED} (a real calendar date-time: {exc})") from None


_RANGE_EXPECTED = (
    f"a date-time between {MIN_DATE:%Y-%m-%d} and {MAX_DATE:%Y-%m-%d} (the data contract's date range; "
    "earlier or later dates are typos or clock errors)"
)


def _in_contract_range(when: datetime) -> bool:
    """Whether the UTC date of ``when`` lies in the contract's date range."""
    return MIN_DATE.date() <= when.date() <= MAX_DATE.date()


_NUM = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$"
)
_DURATION_EXPECTED = (
    "an ISO 8601 duration such as PT1H30M, PT45.5S or P1DT2H "
    "(weeks, days, hours, minutes, seconds; non-zero years or months have no fixed length)"
)


def _parse_duration_seconds(text: Any) -> float:
    """Parse an ISO 8601 duration (``PnWnDTnHnMnS``) into seconds.

    Decimal fractions (``.`` or ``,``) are accepted on any component.  A day is
    24 hours and a week 7 days.  Years and months are accepted only when zero
    (``P0Y0M0DT1H``, which some authoring tools emit), because their length in
    hours is undefined.
    """
    if not isinstance(text, str):
        raise _Bad(_DURATION_EXPECTED)
    s = text.strip()
    m = _DURATION.match(s)
    # "P" alone, "PT" and "P1DT" match the pattern with nothing after P or T.
    if m is None or s in ("P", "PT") or s.endswith("T") or all(g is None for g in m.groups()):
        raise _Bad(_DURATION_EXPECTED)
    years, months, weeks, days, hours, minutes, seconds = (
        float(g.replace(",", ".")) if g is not None else 0.0 for g in m.groups()
    )
    if years or months:
        raise _Bad(_DURATION_EXPECTED)
    return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds


def _finite_number(value: Any) -> float:
    # bool is an int subclass in Python but `true` is not a score.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad("a finite number")
    out = float(value)
    if not math.isfinite(out):
        raise _Bad("a finite number")
    return out


def _show(value: Any, limit: int = 80) -> str:
    """A short printable rendering of a JSON value for a Problem's ``found``."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------
# Arguments


@dataclass(frozen=True)
class _Target:
    program: str
    phase: str | None  # None: the program's course activity


def _check_activities(activities: Any) -> tuple[dict[str, _Target], list[Problem]]:
    problems: list[Problem] = []
    out: dict[str, _Target] = {}
    if not isinstance(activities, Mapping):
        return out, [Problem("activities", None, None, type(activities).__name__,
                             "a mapping of activity id to program_id or {program, phase}")]
    for key, value in activities.items():
        col = str(key)
        if not isinstance(key, str) or not key:
            problems.append(Problem("activities", None, col, _show(key), "a non-empty activity id (IRI)"))
            continue
        if isinstance(value, str):
            program, phase = value, None
        elif isinstance(value, Mapping):
            extra = set(value) - {"program", "phase"}
            if extra:
                problems.append(Problem("activities", None, col, f"unknown key(s) {sorted(map(str, extra))}",
                                        "only the keys 'program' and 'phase'"))
                continue
            program, phase = value.get("program"), value.get("phase")
            if phase not in _PHASES:
                problems.append(Problem("activities", None, col, f"phase {_show(phase)}",
                                        "phase one of 'pre', 'post', 'followup'"))
                continue
        else:
            problems.append(Problem("activities", None, col, _show(value, 60),
                                    "a program_id string or {'program': ..., 'phase': ...}"))
            continue
        if not isinstance(program, str) or not _PROGRAM_ID.match(program):
            problems.append(Problem("activities", None, col, f"program {_show(program)}",
                                    "a program id matching [a-z0-9][a-z0-9_-]*"))
            continue
        out[key] = _Target(program, phase)
    return out, problems


def _as_key(value: Any) -> str | None:
    """A people-table cell as a matching key (integral floats lose their '.0')."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


class _Directory:
    """Lookup of people by e-mail, e-mail hash and account name.

    Each index maps a key to the *set* of person_ids having it, so that a key
    shared by two people is reported as ambiguous instead of guessed.
    """

    def __init__(self, people: pd.DataFrame, account_column: str) -> None:
        ids = [_as_key(v) for v in people["person_id"]]
        self.by_email: dict[str, set[str]] = {}
        self.by_sha1: dict[str, set[str]] = {}
        self.by_account: dict[str, set[str]] = {}
        emails = people["email"] if "email" in people.columns else [None] * len(ids)
        for pid, email in zip(ids, emails, strict=True):
            if pid is None:
                continue
            mail = _as_key(email)
            if mail is not None:
                self.by_email.setdefault(mail.casefold(), set()).add(pid)
                # The spec hashes the mailto IRI as the LRS received it; tools
                # that lower-case addresses first are common, so accept both.
                for variant in {mail, mail.lower()}:
                    digest = hashlib.sha1(f"mailto:{variant}".encode()).hexdigest()
                    self.by_sha1.setdefault(digest, set()).add(pid)
        for pid, name in zip(ids, people[account_column], strict=True):
            key = _as_key(name)
            if pid is not None and key is not None:
                self.by_account.setdefault(key, set()).add(pid)
        self.has_email = "email" in people.columns


# --------------------------------------------------------------------------
# Reading the file


def _read_statements(path: Path, label: str) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """Return ``(row, json value)`` pairs and the per-line JSON problems."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError([Problem(label, None, None, f"unreadable file ({exc.strerror or exc})",
                                   "a readable xAPI export (JSON array or JSONL)")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError([Problem(label, None, None, f"bytes that are not UTF-8 at offset {exc.start}",
                                   "a UTF-8 encoded file")]) from None
    stripped = text.strip()
    if not stripped:
        raise SourceError([Problem(label, None, None, "an empty file",
                                   "a JSON array of xAPI statements or one statement per line (JSONL)")])
    if stripped[0] == "[":
        try:
            values = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nesting too deep"
            raise SourceError([Problem(label, None, None, f"invalid JSON{where}: {msg}",
                                       "a well-formed JSON array of statements")]) from None
        return [(i, v) for i, v in enumerate(values, start=1)], []

    pairs: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pairs.append((lineno, json.loads(line)))
        except (ValueError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nesting too deep"
            problems.append(Problem(label, lineno, None, f"unparseable JSON ({msg}): {line.strip()[:60]!r}",
                                    "one JSON statement object per line"))
    if problems and not pairs and stripped[0] == "{":
        # A single pretty-printed statement is neither form; say so once
        # instead of reporting every line.
        try:
            json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            raise SourceError([Problem(label, None, None, "a single multi-line JSON object",
                                       "a JSON array of statements or one statement per line (JSONL)")])
    return pairs, problems


@dataclass(frozen=True)
class _Statement:
    row: int
    order: int  # position in the file; breaks timestamp ties
    id: str | None
    actor: dict[str, Any]
    verb_id: str
    object_type: str
    object_id: str | None
    when: datetime
    duration_s: float | None
    score: dict[str, float] | None
    canonical: str  # for telling exact duplicates from conflicting ids
    move_on: str | None = None
    mastery_score: float | None = None


_IFIS = ("mbox", "mbox_sha1sum", "account", "openid")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")


def _validate(row: int, order: int, raw: Any, label: str, problems: list[Problem]) -> _Statement | None:
    """Check one statement's structure; append problems; return it if usable."""
    n_before = len(problems)

    def bad(column: str | None, found: str, expected: str) -> None:
        problems.append(Problem(label, row, column, found, expected))

    if not isinstance(raw, dict):
        bad(None, f"a JSON {type(raw).__name__ if raw is not None else 'null'}: {_show(raw, 60)}",
            "an xAPI statement (a JSON object)")
        return None

    sid = raw.get("id")
    if sid is not None and not isinstance(sid, str):
        bad("id", _show(sid), "a statement id string (UUID)")

    actor = raw.get("actor")
    if actor is None:
        bad("actor", "missing", "an actor object (Agent with mbox, mbox_sha1sum, account or openid)")
    elif not isinstance(actor, dict):
        bad("actor", _show(actor), "an actor object")
    elif actor.get("objectType", "Agent") != "Group":
        # An Agent must carry an inverse functional identifier; a Group may be
        # anonymous (then it simply resolves to no person).
        if not any(k in actor for k in _IFIS):
            bad("actor", _show(actor), "an Agent with one of mbox, mbox_sha1sum, account, openid")
        if "mbox" in actor and not (isinstance(actor["mbox"], str) and actor["mbox"].startswith("mailto:")
                                    and len(actor["mbox"]) > len("mailto:")):
            bad("actor.mbox", _show(actor["mbox"]), "a 'mailto:' IRI such as mailto:ana@example.com")
        if "mbox_sha1sum" in actor and not (isinstance(actor["mbox_sha1sum"], str)
                                            and _SHA1.match(actor["mbox_sha1sum"])):
            bad("actor.mbox_sha1sum", _show(actor["mbox_sha1sum"]), "40 hexadecimal digits (SHA-1)")
        if "account" in actor:
            account = actor["account"]
            if not isinstance(account, dict):
                bad("actor.account", _show(account), "an object {homePage, name}")
            elif not isinstance(account.get("name"), str) or not account["name"].strip():
                bad("actor.account.name", _show(account.get("name")) if "name" in account else "missing",
                    "the account name (a non-empty string)")

    verb = raw.get("verb")
    verb_id = ""
    if verb is None:
        bad("verb", "missing", "a verb object with an id IRI")
    elif not isinstance(verb, dict):
        bad("verb", _show(verb), "a verb object with an id IRI")
    elif not isinstance(verb.get("id"), str) or not verb["id"].strip():
        bad("verb.id", _show(verb.get("id")) if "id" in verb else "missing", "a verb IRI string")
    else:
        verb_id = verb["id"].strip()

    obj = raw.get("object")
    object_type, object_id = "Activity", None
    if obj is None:
        bad("object", "missing", "an object (Activity with an id IRI)")
    elif not isinstance(obj, dict):
        bad("object", _show(obj), "an object (Activity with an id IRI)")
    else:
        object_type = obj.get("objectType", "Activity")
        if not isinstance(object_type, str):
            bad("object.objectType", _show(object_type), "an objectType string")
        elif verb_id == VOIDED_VERB and object_type != "StatementRef":
            bad("object.objectType", _show(object_type), "'StatementRef' (the object of a voiding statement)")
        if object_type in ("Activity", "StatementRef"):
            if not isinstance(obj.get("id"), str) or not obj["id"].strip():
                bad("object.id", _show(obj.get("id")) if "id" in obj else "missing",
                    "the activity IRI" if object_type == "Activity" else "the id of the voided statement")
            else:
                object_id = obj["id"].strip()

    when: datetime | None = None
    for key in ("timestamp", "stored"):  # timestamp wins; both must be valid
        if key in raw:
            try:
                parsed = _parse_timestamp(raw[key])
            except _Bad as exc:
                bad(key, _show(raw[key]), exc.args[0])
            else:
                if not _in_contract_range(parsed):
                    bad(key, _show(raw[key]), _RANGE_EXPECTED)
                    continue
                when = when or parsed
    if "timestamp" not in raw and "stored" not in raw:
        bad("timestamp", "missing (no timestamp and no stored)", _TIMESTAMP_EXPECTED)

    duration_s: float | None = None
    score: dict[str, float] | None = None
    result = raw.get("result")
    if result is not None and not isinstance(result, dict):
        bad("result", _show(result), "a result object")
    elif isinstance(result, dict):
        if "duration" in result:
            try:
                duration_s = _parse_duration_seconds(result["duration"])
            except _Bad as exc:
                bad("result.duration", _show(result["duration"]), exc.args[0])
        if "score" in result:
            score = _validate_score(result["score"], bad)

    move_on, mastery = _cmi5_extensions(raw.get("context"), bad)
    if len(problems) > n_before or when is None:
        return None
    return _Statement(
        row=row, order=order, id=sid.strip().casefold() if isinstance(sid, str) else None,
        actor=actor, verb_id=verb_id, object_type=object_type, object_id=object_id,
        when=when, duration_s=duration_s, score=score,
        canonical=json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str),
        move_on=move_on, mastery_score=mastery,
    )


def _cmi5_extensions(context: Any, bad: Callable[[str | None, str, str], None]) -> tuple[str | None, float | None]:
    """The cmi5 ``moveOn`` and ``masteryScore`` of a statement's context, if any."""
    if context is None:
        return None, None
    if not isinstance(context, dict):
        bad("context", _show(context), "a context object")
        return None, None
    ext = context.get("extensions")
    if ext is None:
        return None, None
    if not isinstance(ext, dict):
        bad("context.extensions", _show(ext), "an object of extension IRI to value")
        return None, None
    move_on: str | None = None
    mastery: float | None = None
    if CMI5_MOVE_ON in ext:
        move_on = ext[CMI5_MOVE_ON]
        if move_on not in MOVE_ON_VALUES:
            bad(f"context.extensions.{CMI5_MOVE_ON}", _show(move_on), "one of " + ", ".join(MOVE_ON_VALUES))
            move_on = None
    if CMI5_MASTERY_SCORE in ext:
        try:
            mastery = _finite_number(ext[CMI5_MASTERY_SCORE])
            if not 0.0 <= mastery <= 1.0:
                raise _Bad("a mastery score between 0 and 1")
        except _Bad as exc:
            bad(f"context.extensions.{CMI5_MASTERY_SCORE}", _show(ext[CMI5_MASTERY_SCORE]),
                "a mastery score between 0 and 1" if exc.args[0] == "a finite number" else exc.args[0])
            mastery = None
    return move_on, mastery


def _validate_score(raw: Any, bad: Callable[[str | None, str, str], None]) -> dict[str, float] | None:
    if not isinstance(raw, dict):
        bad("result.score", _show(raw), "a score object {scaled, raw, min, max}")
        return None
    score: dict[str, float] = {}
    ok = True
    for key in ("scaled", "raw", "min", "max"):
        if key in raw and raw[key] is not None:
            try:
                score[key] = _finite_number(raw[key])
            except _Bad as exc:
                bad(f"result.score.{key}", _show(raw[key]), exc.args[0])
                ok = False
    if "scaled" in score and not -1.0 <= score["scaled"] <= 1.0:
        bad("result.score.scaled", _show(raw["scaled"]), "a scaled score between -1 and 1")
        ok = False
    if "min" in score and "max" in score and score["min"] >= score["max"]:
        bad("result.score.max", f"max {_show(raw['max'])} <= min {_show(raw['min'])}", "max greater than min")
        ok = False
    elif "raw" in score:
        if "max" in score and score["raw"] > score["max"]:
            bad("result.score.raw", f"raw {_show(raw['raw'])} > max {_show(raw['max'])}", "raw <= score.max")
            ok = False
        if "min" in score and score["raw"] < score["min"]:
            bad("result.score.raw", f"raw {_show(raw['raw'])} < min {_show(raw['min'])}", "raw >= score.min")
            ok = False
    return score if ok else None


def _score_value(score: dict[str, float]) -> tuple[float, float] | None:
    """``(score, max_score)`` per the lopsnb rule, or None when not computable.

    A raw score is kept in its own units with ``max_score = score.max`` unless
    the scale does not start at zero, in which case it is rescaled to 0-100 so
    that ``score / max_score`` is still the share of the range achieved.
    Without a raw score, ``scaled`` (a share in [-1, 1]) becomes percent.
    """
    if "raw" in score:
        low = score.get("min", 0.0)
        if low == 0.0:
            return score["raw"], score.get("max", math.nan)
        if "max" in score:
            return (score["raw"] - low) / (score["max"] - low) * 100.0, 100.0
    if "scaled" in score:
        return score["scaled"] * 100.0, 100.0
    return None


def _verb_name(verb_id: str) -> str:
    return verb_id.rstrip("/").rsplit("/", 1)[-1].casefold()


def _resolve(actor: dict[str, Any], people: _Directory) -> tuple[str | None, str, str]:
    """Return (person_id or None, JSON path used, found text)."""
    if actor.get("objectType") == "Group":
        return None, "actor", "a Group (not a person)"
    if "mbox" in actor:
        address = actor["mbox"][len("mailto:"):].strip()
        return _one(people.by_email.get(address.casefold())), "actor.mbox", _show(actor["mbox"])
    if "mbox_sha1sum" in actor:
        digest = actor["mbox_sha1sum"].lower()
        return _one(people.by_sha1.get(digest)), "actor.mbox_sha1sum", _show(actor["mbox_sha1sum"])
    if "account" in actor:
        name = actor["account"]["name"].strip()
        return _one(people.by_account.get(name)), "actor.account.name", _show(actor["account"]["name"])
    return None, "actor.openid", _show(actor.get("openid"))


class _Ambiguous(str):
    """Marker: the identifier matches several people."""


def _one(ids: set[str] | None) -> str | None:
    if not ids:
        return None
    if len(ids) > 1:
        return _Ambiguous(",".join(sorted(ids)))
    return next(iter(ids))


# --------------------------------------------------------------------------
# Public entry point


def read_xapi(
    path: str | Path,
    *,
    people: pd.DataFrame,
    activities: Mapping[str, str | Mapping[str, str]],
    account_column: str = "person_id",
    unknown_actors: UnknownActors = "error",
) -> XapiTables:
    """Read an xAPI statement export into ``enrollments`` and ``assessments``.

    Parameters
    ----------
    path : str or Path
        A JSON array of statements, or JSONL (one statement per line, blank
        lines ignored); the form is detected from the first non-space
        character (``[`` = array).  UTF-8, with or without BOM.
    people : DataFrame
        The people table: ``person_id`` and, to resolve ``mbox`` /
        ``mbox_sha1sum`` actors, ``email``.
    activities : mapping
        Activity id (``object.id``) -> program_id (a course activity, feeding
        enrollments) or ``{"program": program_id, "phase": "pre"|"post"|"followup"}``
        (an assessment activity, feeding assessments and the enrollment).
        Statements on other activities are ignored and counted.
    account_column : str, default "person_id"
        Column of ``people`` that ``actor.account.name`` is matched to
        (exactly, after trimming; ``account.homePage`` is not checked).
    unknown_actors : {"error", "drop"}, default "error"
        An actor that matches no person (or a Group) on a statement that would
        be used: reported as a problem, or dropped and counted.  Actors are
        only resolved for statements that are used (mapped activity,
        recognised verb, not voided), since an LRS also holds people outside
        the evaluated population.  An identifier matching *several* people is
        always a problem.

    Returns
    -------
    XapiTables
        See :class:`XapiTables` for the columns and the stats.

    Notes
    -----
    * Date of a statement: ``timestamp`` (else ``stored``), converted to UTC
      and truncated to the date.  An offset-less timestamp is taken as UTC.
    * Voiding: a statement with verb :data:`VOIDED_VERB` and object
      ``{"objectType": "StatementRef", "id": X}`` removes statement ``X``
      (wherever it is in the file; ids compared case-insensitively) and
      itself.  Voiding statements cannot themselves be voided (xAPI rule).
    * A statement id occurring twice with identical content (overlapping
      exports) is kept once; with different content it is a problem.
    * Every statement in the file is validated (structure, timestamps,
      durations, score ranges), including ignored ones.
    * ``hours`` sums ``result.duration`` over all used statements of the
      person on the program's activities; if an authoring tool reports the
      same time on several statements (e.g. ``attempted`` and ``completed``),
      it is counted each time.
    * Several scored attempts in one phase: the one with the latest timestamp
      is kept (ties: the later one in the file), i.e. the final attempt, not
      the best one.
    * Assessment-only activity (e.g. a pre-test without a course statement)
      still creates an ``in_progress`` enrollment row.
    * cmi5: ``satisfied`` on a course or block completes it; a person whose
      statements are only ``waived`` (and ``satisfied``) gets status
      ``waived``; ``abandoned`` leaves the enrollment in progress; ``moveOn``
      and ``masteryScore`` (:data:`CMI5_MOVE_ON`, :data:`CMI5_MASTERY_SCORE`)
      are kept as ``move_on`` / ``mastery_score``.

    Raises
    ------
    SourceError
        The file is missing, unreadable, not UTF-8, empty, or an invalid JSON
        array.
    ValidationError
        Bad arguments, or any malformed statement / unresolved actor; the
        ``problems`` name the file (``path`` as given), the row (1-based line
        for JSONL, 1-based statement index for an array), the column (JSON
        path such as ``result.duration``), the value found and what was
        expected.
    """
    label = str(path)
    targets = _check_arguments(people, activities, account_column, unknown_actors)
    pairs, problems = _read_statements(Path(path), label)
    return _tables(pairs, problems, label=label, targets=targets, people=people,
                   account_column=account_column, unknown_actors=unknown_actors)


def xapi_tables(
    statements: Iterable[tuple[int, Any]],
    *,
    label: str,
    people: pd.DataFrame,
    activities: Mapping[str, str | Mapping[str, str]],
    account_column: str = "person_id",
    unknown_actors: UnknownActors = "error",
) -> XapiTables:
    """The tables of a stream of xAPI statements, as :func:`read_xapi` builds them from a file.

    Parameters
    ----------
    statements : iterable of (int, object)
        ``(row, statement)`` pairs: the row a problem names (e.g. the line of
        a local copy) and the decoded JSON statement.
    label : str
        What problems name as their file (e.g. the local copy of an LRS's
        statements).
    people, activities, account_column, unknown_actors
        As for :func:`read_xapi`.

    Returns
    -------
    XapiTables

    Raises
    ------
    ValidationError
        Bad arguments, or any malformed statement / unresolved actor.
    """
    targets = _check_arguments(people, activities, account_column, unknown_actors)
    return _tables(list(statements), [], label=label, targets=targets, people=people,
                   account_column=account_column, unknown_actors=unknown_actors)


def _tables(
    pairs: list[tuple[int, Any]],
    problems: list[Problem],
    *,
    label: str,
    targets: Mapping[str, _Target],
    people: pd.DataFrame,
    account_column: str,
    unknown_actors: UnknownActors,
) -> XapiTables:
    """Validate, de-duplicate, void, select and tabulate ``pairs`` (the body of both readers)."""
    directory = _Directory(people, account_column)
    stats = dict.fromkeys(("statements", "duplicates", "voiding", "voided", "ignored_activities",
                           "ignored_verbs", "dropped_actors", "used"), 0)
    stats["statements"] = len(pairs)
    parsed = [st for order, (row, raw) in enumerate(pairs)
              if (st := _validate(row, order, raw, label, problems)) is not None]
    survivors = _apply_voiding(_drop_duplicates(parsed, label, problems, stats), stats)
    used = _select_used(survivors, targets, directory, unknown_actors, account_column, label, problems, stats)
    if problems:
        raise ValidationError(problems, f"{len(problems)} problem(s) in xAPI file {label}")
    return XapiTables(_enrollments(used), _assessments(used), stats)


_Used = tuple[_Statement, str, _Target, str]


def _check_arguments(people: Any, activities: Any, account_column: Any, unknown_actors: Any) -> dict[str, _Target]:
    """The activity targets; raises ValidationError for bad arguments."""
    arg_problems: list[Problem] = []
    if unknown_actors not in get_args(UnknownActors):
        arg_problems.append(Problem("read_xapi", None, "unknown_actors", _show(unknown_actors),
                                    "'error' or 'drop'"))
    targets, activity_problems = _check_activities(activities)
    arg_problems += activity_problems
    if not isinstance(people, pd.DataFrame) or "person_id" not in people.columns:
        arg_problems.append(Problem("people", None, "person_id", "no person_id column",
                                    "the people table with a person_id column"))
    elif not isinstance(account_column, str) or account_column not in people.columns:
        arg_problems.append(Problem("people", None, str(account_column), "no such column",
                                    "account_column naming a column of people"))
    if arg_problems:
        raise ValidationError(arg_problems, "invalid arguments to read_xapi")
    return targets


def _drop_duplicates(parsed: list[_Statement], label: str, problems: list[Problem], stats: dict[str, int]) -> list[_Statement]:
    """Keep the first of statements sharing an id; a repeat with other content is a problem."""
    unique: list[_Statement] = []
    seen: dict[str, _Statement] = {}
    for st in parsed:
        if st.id is not None and st.id in seen:
            if seen[st.id].canonical == st.canonical:
                stats["duplicates"] += 1
            else:
                problems.append(Problem(label, st.row, "id", f"{st.id} (also at row {seen[st.id].row})",
                                        "a statement id used by one statement only"))
            continue
        if st.id is not None:
            seen[st.id] = st
        unique.append(st)
    return unique


def _apply_voiding(unique: list[_Statement], stats: dict[str, int]) -> list[_Statement]:
    """Remove voiding statements and the statements they void."""
    voided_ids = {st.object_id.casefold() for st in unique if st.verb_id == VOIDED_VERB and st.object_id}
    survivors = []
    for st in unique:
        if st.verb_id == VOIDED_VERB:
            stats["voiding"] += 1
        elif st.id is not None and st.id in voided_ids:
            stats["voided"] += 1
        else:
            survivors.append(st)
    return survivors


def _select_used(
    survivors: list[_Statement],
    targets: Mapping[str, _Target],
    directory: _Directory,
    unknown_actors: UnknownActors,
    account_column: str,
    label: str,
    problems: list[Problem],
    stats: dict[str, int],
) -> list[_Used]:
    """Statements on mapped activities with recognised verbs, their actors resolved."""
    used: list[_Used] = []
    for st in survivors:
        target = targets.get(st.object_id) if st.object_type == "Activity" and st.object_id else None
        if target is None:
            stats["ignored_activities"] += 1
            continue
        verb = _verb_name(st.verb_id)
        if verb not in RECOGNISED_VERBS:
            stats["ignored_verbs"] += 1
            continue
        person, column, found = _resolve(st.actor, directory)
        if person is None or isinstance(person, _Ambiguous):
            if person is None and unknown_actors == "drop":
                stats["dropped_actors"] += 1
            else:
                problems.append(_actor_problem(st, person, column, found, directory, account_column, label))
            continue
        if target.phase is not None and st.score is not None and _score_value(st.score) is None:
            problems.append(Problem(label, st.row, "result.score", _show(st.score),
                                    "score.raw (with score.max when score.min is not 0) or score.scaled"))
            continue
        stats["used"] += 1
        used.append((st, person, target, verb))
    return used


def _actor_problem(
    st: _Statement, person: str | None, column: str, found: str, directory: _Directory, account_column: str, label: str
) -> Problem:
    """The problem of an actor matching several people (``person`` set) or none."""
    if isinstance(person, _Ambiguous):
        return Problem(label, st.row, column, f"{found} (matches people {person})",
                       "an identifier matching exactly one person")
    how = {"actor.mbox": "email", "actor.mbox_sha1sum": "SHA-1 of mailto:email",
           "actor.account.name": account_column}.get(column)
    hint = "" if column != "actor.mbox" or directory.has_email else " (people has no email column)"
    return Problem(label, st.row, column, found + hint,
                   f"an actor in people (matched on {how})" if how
                   else "an actor identified by mbox, mbox_sha1sum or account")


def _enrollments(used: list[_Used]) -> pd.DataFrame:
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for st, person, target, verb in sorted(used, key=lambda u: (u[0].when, u[0].order)):
        day = st.when.date()
        rec = acc.setdefault((person, target.program), {"enrolled": day, "completed": None, "waived": None,
                                                        "attempted": False, "seconds": 0.0,
                                                        "move_on": None, "mastery": None})
        rec["enrolled"] = min(rec["enrolled"], day)
        if target.phase is None and verb in _COMPLETION_VERBS:
            rec["completed"] = day if rec["completed"] is None else min(rec["completed"], day)
        if verb == "waived":
            rec["waived"] = day if rec["waived"] is None else min(rec["waived"], day)
        rec["attempted"] = rec["attempted"] or verb in _ATTEMPT_VERBS
        rec["seconds"] += st.duration_s or 0.0
        # The latest statement carrying them wins: an LMS re-launching with a
        # changed course structure sends the current criterion.
        rec["move_on"] = st.move_on or rec["move_on"]
        rec["mastery"] = st.mastery_score if st.mastery_score is not None else rec["mastery"]
    keys = sorted(acc)
    recs = [acc[k] for k in keys]
    frame = pd.DataFrame({
        "person_id": pd.Series([k[0] for k in keys], dtype="str"),
        "program_id": pd.Series([k[1] for k in keys], dtype="str"),
        "enrolled_on": _dates([r["enrolled"] for r in recs]),
        "completed_on": _dates([_completed_on(r) for r in recs]),
        "status": pd.Series([_status(r) for r in recs], dtype="str"),
        "hours": pd.Series([r["seconds"] / 3600.0 for r in recs], dtype="float64"),
    })
    # cmi5 columns only when some statement carried them, so a plain xAPI
    # export keeps exactly the contract's columns.
    if any(r["move_on"] is not None for r in recs):
        frame["move_on"] = pd.Series([r["move_on"] for r in recs], dtype="str")
    if any(r["mastery"] is not None for r in recs):
        frame["mastery_score"] = pd.Series([r["mastery"] for r in recs], dtype="float64")
    return frame


def _status(rec: dict[str, Any]) -> str:
    """``waived`` for a credit without any attempt, else completed / in_progress."""
    if rec["waived"] is not None and not rec["attempted"]:
        return "waived"
    return "completed" if rec["completed"] else "in_progress"


def _completed_on(rec: dict[str, Any]) -> date | None:
    """The completion date; a waiver without attempt completes on the date it was credited."""
    if _status(rec) == "waived":
        return rec["completed"] or rec["waived"]
    return rec["completed"]


def _assessments(used: list[_Used]) -> pd.DataFrame:
    latest: dict[tuple[str, str, str], _Statement] = {}
    for st, person, target, _verb in used:
        if target.phase is None or st.score is None:
            continue
        key = (person, target.program, target.phase)
        best = latest.get(key)
        if best is None or (st.when, st.order) > (best.when, best.order):
            latest[key] = st
    keys = sorted(latest, key=lambda k: (k[0], k[1], _PHASES.index(k[2])))
    values = [_score_value(latest[k].score or {}) or (math.nan, math.nan) for k in keys]
    return pd.DataFrame({
        "person_id": pd.Series([k[0] for k in keys], dtype="str"),
        "program_id": pd.Series([k[1] for k in keys], dtype="str"),
        "phase": pd.Series([k[2] for k in keys], dtype="str"),
        "score": pd.Series([v[0] for v in values], dtype="float64"),
        "max_score": pd.Series([v[1] for v in values], dtype="float64"),
        "taken_on": _dates([latest[k].when.date() for k in keys]),
    })


def _dates(days: list[date | None]) -> pd.Series:
    return pd.Series(
        [pd.Timestamp(d) if d is not None else pd.NaT for d in days], dtype=_DATE_DTYPE
    )
