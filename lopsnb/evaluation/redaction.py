"""People's identifiers in free text: which words of the ``people`` table are redacted.

:func:`lopsnb.evaluation.levels.redact` is the one redaction function of
lopsnb (reaction comments in ``results.json``, ``report.html`` and the
executed notebook all go through it). Besides e-mail addresses and phone
numbers it replaces, given the :class:`PeopleTerms` of the workspace:

* every ``person_id`` and ``email`` of the ``people`` table, and the e-mail's
  local part (``j.smith`` of ``j.smith@corp.example``);
* every full ``name`` (``Anne-Marie López``), and each part of a name
  split at spaces (``Anne-Marie``, ``López``) and at hyphens (``Anne``, ``Marie``);

matched case-insensitively as whole words (not inside a longer word, so the
name ``Ann`` leaves ``Annual`` alone). Terms shorter than
:data:`MIN_TERM_LENGTH` characters (``Li``, ``Jo``, an id ``7``) are not
redacted on their own, as they would erase ordinary words and numbers; they
go with the full name they are part of. A name that is also a common word
(``Will``, ``May``, ``Grant``) is redacted everywhere: privacy wins over
readability. Nicknames, initials and misspellings that are not in the table
are not recognised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

__all__ = ["REDACTED", "MIN_TERM_LENGTH", "PeopleTerms", "people_terms", "redact_people"]

REDACTED = "[redacted]"

#: Shortest id, name part or e-mail local part redacted on its own.
MIN_TERM_LENGTH = 3

_PART_SPLIT = re.compile(r"[\s\-]+")
_PART_STRIP = ".,;:'\"()[]{}"


@dataclass(frozen=True, kw_only=True)
class PeopleTerms:
    """The lower-cased words of a ``people`` table that :func:`redact_people` replaces.

    Attributes
    ----------
    terms : frozenset of str
        Person ids, e-mails and their local parts, full names and name parts
        (each at least :data:`MIN_TERM_LENGTH` characters, lower-cased).
    """

    terms: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.terms)


def _clean(values: Iterable[object]) -> list[str]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            continue
        text = " ".join(str(v).split())
        if text:
            out.append(text)
    return out


def people_terms(people: pd.DataFrame | None) -> PeopleTerms:
    """Collect the identifiers of ``people`` (columns ``person_id``, ``name``, ``email``; any may be missing).

    Parameters
    ----------
    people : DataFrame or None
        The workspace's ``people`` table.

    Returns
    -------
    PeopleTerms
        Empty when ``people`` is None or has none of the columns.
    """
    if people is None or len(people) == 0:
        return PeopleTerms(terms=frozenset())
    terms: set[str] = set()
    col = people.get
    terms.update(_clean(col("person_id", [])))
    for email in _clean(col("email", [])):
        terms.add(email)
        terms.add(email.split("@", 1)[0])
    for name in _clean(col("name", [])):
        terms.add(name)
        # "Anne-Marie" as one word, and "Anne" and "Marie" on their own
        terms.update(p.strip(_PART_STRIP) for p in name.split())
        terms.update(p.strip(_PART_STRIP) for p in _PART_SPLIT.split(name))
    return PeopleTerms(terms=frozenset(t.lower() for t in terms if len(t) >= MIN_TERM_LENGTH))


def redact_people(text: str, people: PeopleTerms | None) -> str:
    """Replace each whole-word, case-insensitive occurrence of a term of ``people`` by ``"[redacted]"``.

    Longer terms win (a full name is replaced as one, not part by part).
    """
    if not people or not text:
        return text
    low = text.lower()
    # Only the terms present as substrings go into the pattern: thousands of
    # names in one alternation would make every comment slow to scan.
    present = sorted((t for t in people.terms if t in low), key=len, reverse=True)
    if not present:
        return text
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, present)) + r")(?!\w)", re.IGNORECASE)
    return pattern.sub(REDACTED, text)
