"""Human labels of metrics: the one place a metric id becomes words.

Every sentence, tile, axis and table a business reader sees names a metric
through :func:`metric_label` (report sections, figures, the chain diagram,
the portfolio index). The label comes from the program's chain
(``chain.business_metric.label``, ``chain.performance_metrics[].label``)
and falls back to the id made readable (``revenue_per_rep`` → "revenue per
rep"). :func:`rate_unit` makes the unit phrase grammatical: a unit ending
in "per <period>" is a flow per entity, so ``unit: USD per month`` with
``per: rep`` reads "USD per rep per month".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ENTITY_NOUNS", "PERIOD_WORDS", "MetricLabel", "readable", "rate_unit", "metric_label", "metric_refs"]

#: What one entity is called when a metric does not say (``per``).
ENTITY_NOUNS: dict[str, str] = {"person": "participant", "org_unit": "team"}
#: Period words of ``evaluation.frequency``.
PERIOD_WORDS: tuple[str, ...] = ("week", "month", "quarter", "year")


@dataclass(kw_only=True, frozen=True)
class MetricLabel:
    """How a metric reads in business text.

    Attributes
    ----------
    metric : str
        The metric id (as in ``kpis.metric``).
    label : str
        The human name ("revenue per rep").
    unit : str or None
        The unit as configured ("USD per month", "share", "days").
    per : str
        What one value is counted per ("rep"; default from the entity).
    """

    metric: str
    label: str
    unit: str | None
    per: str

    @property
    def rate_unit(self) -> str | None:
        """The unit with the entity inserted before its period: "USD per rep per month"."""
        return rate_unit(self.unit, self.per)


def readable(metric_id: str) -> str:
    """``revenue_per_rep`` → "revenue per rep": underscores and hyphens become spaces."""
    text = re.sub(r"[_\-]+", " ", str(metric_id)).strip()
    return re.sub(r"\s+", " ", text) or str(metric_id)


def rate_unit(unit: str | None, per: str | None) -> str | None:
    """Insert "per <per>" before a trailing "per <period>" of ``unit``.

    "USD per month" with per "rep" → "USD per rep per month". A unit that
    already counts per something else ("incidents per 100 workers per
    month"), names ``per`` already, or has no period ("days", "share") is
    returned unchanged.
    """
    if not unit or not per:
        return unit
    words = unit.split()
    lowered = [w.lower() for w in words]
    if len(words) < 2 or lowered[-2] != "per" or lowered[-1] not in PERIOD_WORDS or lowered.count("per") > 1:
        return unit
    if f"per {per.lower()}" in unit.lower():
        return unit
    return " ".join([*words[:-2], "per", per, *words[-2:]])


def _field(ref: Any, name: str) -> Any:
    return ref.get(name) if isinstance(ref, Mapping) else getattr(ref, name, None)


def metric_refs(program: Any) -> list[Any]:
    """The chain's metric references of a Program or of ``results.json["program"]`` (business metric first)."""
    chain = _field(program, "chain")
    if chain is None:
        return []
    refs = [_field(chain, "business_metric")]
    refs += list(_field(chain, "performance_metrics") or ())
    return [r for r in refs if r is not None]


def metric_label(metric: str, refs: Iterable[Any] = (), *, entity: str = "person", unit: str | None = None) -> MetricLabel:
    """The label of ``metric`` from the chain's references, or a readable form of its id.

    Parameters
    ----------
    metric : str
        The metric id.
    refs : iterable of MetricRef or mapping
        The chain's metric references (:func:`metric_refs`).
    entity : {"person", "org_unit"}
        The evaluation entity: the default ``per`` noun.
    unit : str, optional
        The unit to use when the metric has no reference with a unit.

    Returns
    -------
    MetricLabel
    """
    ref = next((r for r in refs if _field(r, "metric") == metric), None)
    label = (_field(ref, "label") if ref is not None else None) or readable(metric)
    per = (_field(ref, "per") if ref is not None else None) or ENTITY_NOUNS.get(entity, "participant")
    ref_unit = _field(ref, "unit") if ref is not None else None
    return MetricLabel(metric=metric, label=label, unit=ref_unit or unit, per=per)
