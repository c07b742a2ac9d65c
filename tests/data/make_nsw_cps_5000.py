"""Regenerate ``nsw_cps_5000.csv``: the LaLonde NSW + CPS subsample of the DRDID reference examples.

Source data: ``DRDID::nsw`` (``data/nsw.rda`` of https://github.com/pedrohcgs/DRDID),
the NSW experimental sample of LaLonde (1986) / Dehejia & Wahba (1999) with the CPS
comparison group (Smith & Todd 2005). The DRDID examples run

    eval_lalonde_cps <- subset(nsw, nsw$treated == 0 | nsw$sample == 2)
    set.seed(123); unit_random <- sample(1:nrow(eval_lalonde_cps), 5000)

This script reproduces R's ``set.seed`` (Mersenne-Twister, Inversion) and
``sample`` (rejection sampling, R >= 3.6) exactly, so the 5000 rows are the
ones behind the published numbers. Needs ``pyreadr`` (not a test dependency):

    python tests/data/make_nsw_cps_5000.py path/to/nsw.rda
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def _r_mersenne_twister(seed: int) -> np.random.MT19937:
    s = seed & 0xFFFFFFFF
    for _ in range(50):  # R's initial scrambling
        s = (69069 * s + 1) & 0xFFFFFFFF
    state = []
    for _ in range(625):  # mti slot + 624 words; R sets mti = 624
        s = (69069 * s + 1) & 0xFFFFFFFF
        state.append(s)
    bg = np.random.MT19937()
    bg.state = {"bit_generator": "MT19937", "state": {"key": np.array(state[1:], dtype=np.uint32), "pos": 624}}
    return bg


def _unif(bg: np.random.MT19937) -> float:
    v = int(bg.random_raw()) * 2.3283064365386963e-10
    return min(max(v, 0.5 * 2.328306437080797e-10), 1.0 - 0.5 * 2.328306437080797e-10)


def _unif_index(bg: np.random.MT19937, dn: int) -> int:
    bits = int(np.ceil(np.log2(dn)))
    while True:
        v, n = 0, 0
        while n <= bits:
            v = 65536 * v + int(np.floor(_unif(bg) * 65536))
            n += 16
        v &= (1 << bits) - 1
        if v < dn:
            return v


def r_sample(n: int, k: int, seed: int) -> list[int]:
    """R ``set.seed(seed); sample(1:n, k)`` (1-based)."""
    bg = _r_mersenne_twister(seed)
    x, out = list(range(n)), []
    for _ in range(k):
        j = _unif_index(bg, n)
        out.append(x[j] + 1)
        n -= 1
        x[j] = x[n]
    return out


def main(rda: str) -> None:
    import pyreadr

    nsw = pyreadr.read_r(rda)["nsw"]
    sub = nsw[(nsw["treated"] == 0) | (nsw["sample"] == 2)]
    rows = sub.iloc[[i - 1 for i in r_sample(len(sub), 5000, 123)]]
    cols = ["experimental", "re75", "re78", "age", "educ", "black", "married", "nodegree", "hisp", "re74"]
    out = rows[cols].reset_index(drop=True)
    for c in ["experimental", "age", "educ", "black", "married", "nodegree", "hisp"]:
        out[c] = out[c].astype(int)
    out.to_csv(Path(__file__).with_name("nsw_cps_5000.csv"), index=False, float_format="%.17g")


if __name__ == "__main__":
    assert r_sample(10, 10, 123) == [3, 10, 2, 8, 6, 9, 1, 7, 5, 4]  # R 4.x: set.seed(123); sample(1:10)
    main(sys.argv[1])
