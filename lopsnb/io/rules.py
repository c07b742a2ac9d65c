"""Domain rules about the canonical tables, each written once.

Every stage that needs to know who took part in a program asks this module,
so that changing the rule changes it everywhere (report, ROI, planner,
operations metrics, workspace summary).

Rules
-----
participant
    A *participant* of a program is a person with an enrollment in it whose
    ``status`` is neither ``dropped`` nor ``waived``.  A missing status counts
    as participating (an enrollment without a status is an enrollment).  A
    ``waived`` enrollment (cmi5: credited without attempt) is no participation:
    the person never received the training, so counting them as treated would
    dilute its effect.  Status values are compared after stripping blanks and
    lower-casing, so the rule gives the same answer on raw frames as on
    validated ones.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "DROPPED",
    "WAIVED",
    "NOT_PARTICIPATING",
    "is_dropped",
    "is_not_participating",
    "active_enrollments",
    "participant_ids",
    "participant_counts",
]

#: The enrollment status that ends participation.
DROPPED = "dropped"
#: The enrollment status of a credit without attempt (cmi5 ``waived``).
WAIVED = "waived"
#: Statuses whose enrollment does not make its person a participant.
NOT_PARTICIPATING: frozenset[str] = frozenset({DROPPED, WAIVED})


def is_dropped(enrollments: pd.DataFrame) -> pd.Series:
    """Boolean mask of the enrollment rows whose status is ``dropped``.

    Parameters
    ----------
    enrollments : DataFrame
        Enrollment rows; a frame without a ``status`` column has no dropped rows.

    Returns
    -------
    Series of bool
        Aligned with ``enrollments``; missing status is False.
    """
    if "status" not in enrollments.columns:
        return pd.Series(False, index=enrollments.index, dtype=bool)
    return _status_in(enrollments, {DROPPED})


def is_not_participating(enrollments: pd.DataFrame) -> pd.Series:
    """Boolean mask of the enrollment rows that make no participant (``dropped`` or ``waived``).

    Parameters
    ----------
    enrollments : DataFrame
        Enrollment rows; a frame without a ``status`` column has none.

    Returns
    -------
    Series of bool
        Aligned with ``enrollments``; missing status is False.
    """
    return _status_in(enrollments, NOT_PARTICIPATING)


def _status_in(enrollments: pd.DataFrame, statuses: set[str] | frozenset[str]) -> pd.Series:
    if "status" not in enrollments.columns:
        return pd.Series(False, index=enrollments.index, dtype=bool)
    status = enrollments["status"].astype("object").str.strip().str.lower()
    return status.isin(statuses).fillna(False).astype(bool)


def active_enrollments(enrollments: pd.DataFrame, program_id: str | None = None) -> pd.DataFrame:
    """The enrollment rows that make their person a participant.

    Parameters
    ----------
    enrollments : DataFrame
        Enrollment rows (``program_id``, ``person_id``, ``status``, ...).
    program_id : str, optional
        Keep only this program's rows.

    Returns
    -------
    DataFrame
        The rows that are neither dropped nor waived, in their original order
        and index.
    """
    if program_id is not None:
        enrollments = enrollments[enrollments["program_id"] == program_id]
    return enrollments[~is_not_participating(enrollments)]


def participant_ids(enrollments: pd.DataFrame, program_id: str | None = None) -> pd.Series:
    """Person ids with a participating enrollment, in order of first appearance.

    Parameters
    ----------
    enrollments : DataFrame
        Enrollment rows.
    program_id : str, optional
        Only this program's participants.

    Returns
    -------
    Series of str
        Distinct, non-missing person ids.
    """
    people = active_enrollments(enrollments, program_id)["person_id"].dropna().astype(str)
    return people.drop_duplicates().reset_index(drop=True)


def participant_counts(enrollments: pd.DataFrame) -> pd.Series:
    """Number of distinct participants of every program with one.

    Parameters
    ----------
    enrollments : DataFrame
        Enrollment rows of any number of programs.

    Returns
    -------
    Series of int
        Indexed by ``program_id``.
    """
    return active_enrollments(enrollments).groupby("program_id")["person_id"].nunique()
