"""Integer arithmetic on fen and basis points. Every rounding direction is named here."""

from fractions import Fraction

BP_PER_UNIT = 10_000  # 1 = 100 % = 10 000 basis points


def require_int(name: str, value: object, *, minimum: int = 0) -> int:
    """Refuse floats, bools and out-of-range values where money or rates are expected."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def div_ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def round_half_up(value: Fraction) -> int:
    """Nearest integer, halves away from zero for the non-negative values used here."""
    if value < 0:
        raise ValueError("only non-negative amounts are rounded")
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def share_floor(amount_fen: int, share_bp: int) -> int:
    """A share that may not exceed its rate (fees, waivers): rounded down to the fen."""
    return amount_fen * share_bp // BP_PER_UNIT


def share_ceil(amount_fen: int, share_bp: int) -> int:
    """A share that must reach its rate (a minimum payment): rounded up to the fen."""
    return div_ceil(amount_fen * share_bp, BP_PER_UNIT)


def split_evenly(total_fen: int, parts: int) -> list[int]:
    """Floor-divide into `parts`; the last part absorbs the remainder (sum is exact)."""
    base, remainder = divmod(total_fen, parts)
    return [base] * (parts - 1) + [base + remainder]
