"""The lopsnb version, in a module of its own.

Every stage reads the version from here rather than from the top-level
package, whose ``__init__`` imports the io and evaluation stages: importing
it from inside a stage would make an import cycle.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
