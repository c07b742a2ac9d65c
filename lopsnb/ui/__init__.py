"""Interactive stage: ipywidgets explorer and planner on top of evaluation and report."""

from lopsnb.ui.widgets import Explorer, Planner

__all__ = ["Explorer", "Planner"]
