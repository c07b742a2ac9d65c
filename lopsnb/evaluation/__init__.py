"""Evaluation: Kirkpatrick Levels 0–4, isolation methods, evidence grade and Phillips ROI."""

from lopsnb.evaluation.evaluate import ImpactResult, ProgramEvaluation, evaluate
from lopsnb.evaluation.evidence import EvidenceGrade, grade_evidence
from lopsnb.evaluation.methods import Estimate

__all__ = ["Estimate", "EvidenceGrade", "ImpactResult", "ProgramEvaluation", "evaluate", "grade_evidence"]
