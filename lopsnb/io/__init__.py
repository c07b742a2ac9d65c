"""Loading and validating workspaces (the data contract)."""

from lopsnb.io.programs import Program, load_program
from lopsnb.io.schemas import TABLES
from lopsnb.io.workspace import Workspace, load_workspace

__all__ = ["Program", "TABLES", "Workspace", "load_program", "load_workspace"]
