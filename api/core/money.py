"""Money is integer fen (分) end to end; this is the one place it becomes text."""


def format_fen(amount_fen: int) -> str:
    """Render fen as yuan for people: 325000 -> '¥3,250.00'.

    Integer arithmetic only, so no float rounding can creep in.
    """
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise TypeError(f"amount_fen must be int, got {type(amount_fen).__name__}")
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), 100)
    return f"{sign}¥{yuan:,}.{fen:02d}"
