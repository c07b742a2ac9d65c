#!/usr/bin/env python
"""Regenerate the fictional "Acme Corp" sample workspace (``data_samples/acme`` by default).

The generator is :mod:`lopsnb.io.sample` (inside the package, so ``lopsnb demo``
works from an installed wheel); this script only changes the default target
folder. Usage::

    python data_samples/generate.py [--out DIR] [--people N] [--seed S] [--extra-programs K]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a checkout without installing lopsnb
    sys.path.insert(0, str(HERE.parent))

from lopsnb.io.sample import DEFAULT_PEOPLE, DEFAULT_SEED, generate, main  # noqa: E402

__all__ = ["DEFAULT_PEOPLE", "DEFAULT_SEED", "generate", "main"]

if __name__ == "__main__":
    raise SystemExit(main(default_out=HERE / "acme"))
