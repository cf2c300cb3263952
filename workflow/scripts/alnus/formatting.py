"""How the study prints its numbers, as Radiology prints them: percentages
rounded half up (72.5% -> 73%), "0.89 (0.83, 0.95)" for an AUC, "85%
(35/41; 70%, 94%)" for a proportion, P values as ".17", ".004", "<.001".
Shared by Table 2, the figures, the model cards and the checklists."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_half_up(x: float, digits: int = 0, *, scale: int = 1) -> Decimal:
    """`x * scale` rounded half up at `digits` decimals, as the paper rounds
    (72.5% -> 73%). Python's round() rounds halves to even and works on the
    binary value (round(0.725, 2) == 0.72); this works on the shortest
    decimal that represents x, so 29/40 -> 73%."""
    return (Decimal(repr(float(x))) * scale).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_percent(x: float) -> str:
    """0.725 -> "73%"."""
    return f"{round_half_up(x, scale=100)}%"


def format_proportion(k: int, n: int, low: float, high: float) -> str:
    """(35, 41, 0.70, 0.94) -> "85% (35/41; 70%, 94%)"."""
    return f"{format_percent(k / n)} ({int(k)}/{int(n)}; {format_percent(low)}, {format_percent(high)})"


def format_auc(auc: float, low: float, high: float) -> str:
    """(0.891, 0.83, 0.951) -> "0.89 (0.83, 0.95)"."""
    return f"{round_half_up(auc, 2)} ({round_half_up(low, 2)}, {round_half_up(high, 2)})"


def format_p(p: float) -> str:
    """Radiology's style: two decimals, three below .01, "<.001", ">.99"; no
    leading zero. Raises ValueError for a P value outside [0, 1] or NaN."""
    if not 0 <= p <= 1:
        raise ValueError(f"a P value must lie in [0, 1], got {p!r}")
    if p < 0.001:
        return "<.001"
    rounded = round_half_up(p, 3)
    if rounded >= Decimal("0.01"):  # three decimals only below .01, so .0095 -> .01
        rounded = round_half_up(p, 2)
    return ">.99" if rounded >= 1 else str(rounded).removeprefix("0")


def format_difference(x: float) -> str:
    """-0.214 -> "−0.21" (a true minus sign, as typeset)."""
    rounded = round_half_up(x, 2)
    return f"−{-rounded}" if rounded < 0 else str(abs(rounded))
