"""Every number a business reader sees, formatted by one set of rules.

The report sections, figures, chain diagram, portfolio index and the
plain-language reasons of the evaluation stage all format through these
functions, so each rule lives here once:

* never scientific notation: very large numbers read "1.2 million" /
  "3.4 billion", very small ones are rounded to at most six decimals
  ("≈ 0" below that);
* integers as integers, with thousands separators ("2,000");
* other numbers with ``sig`` significant figures (3 by default);
* money with its currency symbol and thousands separators ("$1,220",
  "-€3,400", "SEK 1,220" for a currency without a symbol);
* shares (0..1) as percentages ("87%"), *changes* of a share in percentage
  points ("+2.1 percentage points");
* p-values as "p < 0.001" / "p = 0.03";
* a payback period that the benefits never reach within the horizon as
  "not reached within the horizon";
* a probability whose uncertainty is not modelled never as a bare 100%:
  it says what it rests on.

This is a foundation module (no lopsnb imports), so the evaluation stage
(decision and evidence reasons) and the report stage share it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = [
    "CURRENCY_SYMBOLS",
    "MINUS",
    "finite",
    "number",
    "money",
    "percent",
    "share_pct",
    "pp",
    "pvalue",
    "payback",
    "probability",
    "is_share",
    "is_money",
    "measure",
    "effect",
    "interval",
]

#: Currencies written with a symbol before the amount; any other code is written "SEK 1,220".
CURRENCY_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥", "KRW": "₩"}
#: The minus sign: ASCII, so a figure copied into a spreadsheet stays a number.
MINUS = "-"
_MAX_DECIMALS = 6
_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
_NA = "—"


def finite(value: Any) -> bool:
    """True for a real, finite number (bools and None are not numbers here)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False  # None, text, bools (numpy numbers are Real)
    return math.isfinite(float(value))


def _sign(v: float, signed: bool) -> str:
    if v < 0:
        return MINUS
    return "+" if signed and v > 0 else ""


def _digits(a: float, sig: int) -> str:
    """``a`` (>= 0) with ``sig`` significant figures, thousands separators, no exponent."""
    if a == 0:
        return "0"
    if a >= 1e15:  # beyond "999 trillion": still no exponent
        return f"{a / 1e12:,.0f} trillion"
    for size, word in _SCALES:
        if a >= size:
            return f"{_digits(a / size, sig)} {word}"
    decimals = max(sig - 1 - math.floor(math.log10(a)), 0)
    if decimals > _MAX_DECIMALS:
        rounded = round(a, _MAX_DECIMALS)
        if rounded == 0:
            return "≈ 0"
        decimals = _MAX_DECIMALS
    text = f"{a:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def number(value: Any, unit: str | None = None, *, signed: bool = False, sig: int = 3) -> str:
    """A number for a business reader: "2,000", "22.5", "0.00105", "1.22 million".

    Parameters
    ----------
    value : float or int
        The number; None, NaN and infinities read "—".
    unit : str, optional
        Appended after a space.
    signed : bool
        Prefix positive numbers with "+".
    sig : int
        Significant figures of a non-integer (integers keep every digit below a million).

    Returns
    -------
    str
    """
    if not finite(value):
        return _NA
    v = float(value)
    a = abs(v)
    if v == int(v) and a < 1e6:
        body = f"{int(a):,d}"
    else:
        body = _digits(a, sig)
        # Rounded to zero: no sign, no "+0".
        if body in ("0", "≈ 0"):
            return f"{body} {unit}".strip() if unit else body
    out = _sign(v, signed) + body
    return f"{out} {unit}" if unit else out


def money(value: Any, currency: str | None, *, signed: bool = False) -> str:
    """Money with its currency symbol and thousands separators: "$1,220", "-€3,400", "SEK 95".

    Amounts of 100 and more are whole; smaller ones keep up to two decimals
    ("$0.25"); from a trillion on they read "$1.22 trillion".
    """
    if not finite(value):
        return _NA
    v = float(value)
    a = abs(v)
    if a >= 1e12:  # beyond a billion billions the digits stop being readable
        body = _digits(a, 3)
    elif a >= 100 or a == int(a):
        body = f"{a:,.0f}"
    else:
        body = f"{a:,.2f}"
        if round(a, 2) == 0:
            body = "0"
    code = (currency or "").strip()
    symbol = CURRENCY_SYMBOLS.get(code.upper())
    sign = "" if body == "0" else _sign(v, signed)
    if symbol:
        return f"{sign}{symbol}{body}"
    return f"{sign}{code} {body}".strip() if code else sign + body


def percent(value: Any, *, signed: bool = False) -> str:
    """A value already in percent: "-95%", "12%", "2.5%", "1,234%"."""
    if not finite(value):
        return _NA
    v = float(value)
    a = abs(v)
    body = f"{a:,.0f}" if a >= 10 or a == 0 else _digits(a, 2)
    if body == "0" or body == "≈ 0":
        return "0%"
    return f"{_sign(v, signed)}{body}%"


def share_pct(value: Any, *, signed: bool = False) -> str:
    """A share (0..1) as a percentage: 0.873 -> "87%", 0.0512 -> "5.1%"."""
    return percent(float(value) * 100, signed=signed) if finite(value) else _NA


def pp(value: Any, *, signed: bool = True) -> str:
    """A change of a share (0..1) in percentage points: 0.021 -> "+2.1 percentage points"."""
    if not finite(value):
        return _NA
    body = number(float(value) * 100, signed=signed, sig=2)
    word = "percentage point" if body.lstrip("+" + MINUS) == "1" else "percentage points"
    return f"{body} {word}"


def pvalue(p: Any) -> str:
    """A p-value as "p < 0.001", "p = 0.03" or "p = 0.27"; "—" when unknown."""
    if not finite(p):
        return _NA
    v = float(p)
    if v < 0.001:
        return "p < 0.001"
    if v < 0.01:
        return f"p = {v:.3f}"
    return f"p = {min(v, 1.0):.2f}"


def payback(months: Any, horizon_months: float | None = None) -> str:
    """The payback period, or "not reached within the horizon" when benefits never cover the costs.

    Parameters
    ----------
    months : float or None
        Months until cumulative benefits equal the costs; None, NaN, infinite
        or non-positive when they never do.
    horizon_months : float, optional
        The benefit horizon; a payback beyond it is not reached either.
    """
    horizon = f" ({number(horizon_months)} months)" if finite(horizon_months) else ""
    if not finite(months) or float(months) <= 0 or (finite(horizon_months) and float(months) > float(horizon_months)):  # type: ignore[arg-type]
        return "not reached within the horizon" + horizon
    return f"{number(round(float(months), 1))} months"  # type: ignore[arg-type]


def probability(p: Any, *, modelled: bool = True, basis: str | None = None) -> str:
    """A probability such as P(ROI > 0), never a bare 0% or 100%.

    Parameters
    ----------
    p : float
        The probability (0..1).
    modelled : bool
        False when the design does not model the uncertainty the probability
        is about (participants' own estimates, before/after without a
        comparison group): the figure is then replaced by what it rests on.
    basis : str, optional
        What the probability rests on ("participants' own estimates").

    Returns
    -------
    str
        "over 99%", "under 1%", "87%", or "not modelled (rests on …)".
    """
    if not modelled:
        return "not modelled" + (f" (rests on {basis})" if basis else "")
    if not finite(p):
        return _NA
    v = float(p)
    if v > 0.99:
        return "over 99%"
    if v < 0.01:
        return "under 1%"
    return f"{v * 100:.0f}%"


def _text(unit: Any) -> str:
    """A unit as text ("" for None, NaN or anything that is not a string)."""
    return unit.strip() if isinstance(unit, str) else ""


def is_share(unit: str | None) -> bool:
    """True for the unit of a share (0..1): "share" or "proportion"."""
    return _text(unit).lower() in ("share", "proportion", "fraction")


def is_money(unit: str | None, currency: str | None) -> bool:
    """True when ``unit`` starts with the currency code ("USD per month")."""
    first = _text(unit).split(" ", 1)[0].upper()
    return bool(first) and (first == (currency or "").upper() or first in CURRENCY_SYMBOLS)


def _money_unit(value: Any, unit: str, signed: bool) -> str:
    code, _, rest = unit.strip().partition(" ")
    return f"{money(value, code, signed=signed)} {rest}".strip()


def measure(value: Any, unit: str | None = None, *, currency: str | None = None, signed: bool = False) -> str:
    """A level of a metric in its unit: shares as "87%", money as "$1,220 per month", else "22.5 days"."""
    if not finite(value):
        return _NA
    if is_share(unit):
        return share_pct(value, signed=signed)
    if _text(unit) == "%":
        return percent(value, signed=signed)
    if is_money(unit, currency):
        return _money_unit(value, _text(unit), signed)
    return number(value, _text(unit) or None, signed=signed)


def effect(value: Any, unit: str | None = None, *, currency: str | None = None, signed: bool = True) -> str:
    """A change of a metric: shares in percentage points, else as :func:`measure` (signed)."""
    if is_share(unit):
        return pp(value, signed=signed)
    if _text(unit) == "%" and finite(value):
        return number(value, "percentage points", signed=signed, sig=2)
    return measure(value, unit, currency=currency, signed=signed)


def interval(low: Any, high: Any, unit: str | None = None, *, currency: str | None = None, change: bool = True) -> str:
    """A 95% interval in words: "between +$800 and +$1,640 per month" (the unit said once).

    ``change`` formats the bounds as changes (signed, shares in percentage
    points), else as levels.
    """
    f = effect if change else measure
    lo, hi = f(low, unit, currency=currency), f(high, unit, currency=currency)
    lo_words, hi_words = lo.split(" "), hi.split(" ")
    # Drop the words both bounds end with (the unit) from the low bound.
    k = 0
    while k < len(lo_words) - 1 and k < len(hi_words) - 1 and lo_words[-1 - k] == hi_words[-1 - k]:
        k += 1
    if k:
        lo = " ".join(lo_words[:-k])
    return f"between {lo} and {hi}"
