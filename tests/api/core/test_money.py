import pytest

from api.core.money import format_fen


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "¥0.00"),
        (1, "¥0.01"),
        (99, "¥0.99"),
        (325_000, "¥3,250.00"),
        (1_248_050, "¥12,480.50"),
        (123_456_789_01, "¥123,456,789.01"),
        (-4_000, "-¥40.00"),
    ],
)
def test_fen_is_rendered_as_yuan_with_thousands_separators(fen, text):
    assert format_fen(fen) == text


@pytest.mark.parametrize("bad", [32.5, "3250", True, None])
def test_non_integer_money_is_refused(bad):
    with pytest.raises(TypeError):
        format_fen(bad)
