"""Amounts and dates as borrowers type them become integer fen and borrower-local dates."""

from datetime import date, datetime, timezone

import pytest

from actions.normalize import (
    IN_THE_PAST,
    NEEDS_SPECIFIC_DAY,
    NO_SUCH_DAY,
    UNRECOGNISED,
    amount_to_fen,
    date_phrase_to_date,
    read_date_phrase,
)

SHANGHAI = "Asia/Shanghai"
MONDAY = date(2026, 11, 30)  # a Monday, last day of a 30-day month
FRIDAY = date(2026, 12, 4)


# ------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("两千五", 250_000),
        ("两千五百元", 250_000),
        ("八百", 80_000),
        ("八百块", 80_000),
        ("一千二", 120_000),
        ("一千五", 150_000),
        ("三千零五十", 305_000),
        ("四百五", 45_000),
        ("两万", 2_000_000),
        ("2500", 250_000),
        ("2500块", 250_000),
        ("2500元", 250_000),
        ("2500块钱", 250_000),
        ("2500 元", 250_000),
        ("2.5k", 250_000),
        ("2.5K", 250_000),
        ("1k", 100_000),
        ("2.5千", 250_000),
        ("3千", 300_000),
        ("2.5w", 2_500_000),
        ("2.5W", 2_500_000),
        ("1.2万", 1_200_000),
        ("2千5", 250_000),
        ("1万2", 1_200_000),
        ("1w2", 1_200_000),
        ("3千零50", 305_000),
        ("¥3,250.50", 325_050),
        ("￥3,250.50", 325_050),
        ("¥ 1,500", 150_000),
        ("12480.5元", 1_248_050),
        ("0.01", 1),
        ("两块五", 250),
        ("3块5毛", 350),
        ("10元5角3分", 1_053),
        ("一千二百三十四点五", 123_450),
        ("２５００元", 250_000),  # full-width digits from a Chinese IME
        ("800左右", 80_000),
        ("大概两千", 200_000),
        ("人民币1000元", 100_000),
    ],
)
def test_amounts_as_typed_become_integer_fen(text, fen):
    result = amount_to_fen(text)
    assert result == fen
    assert type(result) is int


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "零",
        "0.00",
        "-500",
        "−500",
        "负五百",
        "一百万亿",  # absurd: beyond any plausible amount
        "99999999999",
        "3250.555",  # below one fen
        "1,2,3",
        "12,34.5",
        "",
        "   ",
        "abc",
        "块",
        "点五",
        "月底",
        "15号",
        "两千五左右吧我觉得",
    ],
)
def test_what_is_not_one_positive_plausible_amount_is_none(text):
    assert amount_to_fen(text) is None


@pytest.mark.parametrize("text", ["五六百", "两三千块", "一两千", "1000-2000", "一千多", "2000多", "几百", "千把块"])
def test_ranges_and_approximations_are_none_so_the_bot_asks_for_one_figure(text):
    assert amount_to_fen(text) is None


def test_a_non_string_is_none():
    assert amount_to_fen(None) is None  # type: ignore[arg-type]
    assert amount_to_fen(2500) is None  # type: ignore[arg-type]


def test_the_plausibility_bound_is_a_parameter():
    assert amount_to_fen("2万", max_fen=1_000_000) is None
    assert amount_to_fen("1万", max_fen=1_000_000) == 1_000_000


def test_decimal_amounts_do_not_go_through_float():
    # 0.1 + 0.2 style drift would turn 1.1万 into 1100000.0000000002 fen.
    assert amount_to_fen("1.1万") == 1_100_000
    assert amount_to_fen("0.29") == 29
    assert amount_to_fen("1.15k") == 115_000


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2026, 11, 30)),
        ("今晚", date(2026, 11, 30)),
        ("明天", date(2026, 12, 1)),
        ("后天", date(2026, 12, 2)),
        ("大后天", date(2026, 12, 3)),
        ("3天后", date(2026, 12, 3)),
        ("一周后", date(2026, 12, 7)),
        ("月底", date(2026, 11, 30)),  # today is the last day of the month
        ("月末", date(2026, 11, 30)),
        ("月底前", date(2026, 11, 30)),
        ("下个月底", date(2026, 12, 31)),
        ("这周五", date(2026, 12, 4)),
        ("本周五", date(2026, 12, 4)),
        ("周五", date(2026, 12, 4)),
        ("星期五", date(2026, 12, 4)),
        ("下周五", date(2026, 12, 11)),
        ("下礼拜五", date(2026, 12, 11)),
        ("下个星期一", date(2026, 12, 7)),
        ("星期天", date(2026, 12, 6)),
        ("下周日", date(2026, 12, 13)),
        ("15号", date(2026, 12, 15)),
        ("15日", date(2026, 12, 15)),
        ("十五号", date(2026, 12, 15)),
        ("15号之前", date(2026, 12, 15)),
        ("30号", date(2026, 11, 30)),
        ("下个月15号", date(2026, 12, 15)),
        ("下月15号", date(2026, 12, 15)),
        ("下个月31号", date(2026, 12, 31)),
        ("12月3日", date(2026, 12, 3)),
        ("12月3号", date(2026, 12, 3)),
        ("十二月三号", date(2026, 12, 3)),
        ("1月5号", date(2027, 1, 5)),  # already past this year: next January
        ("2026-12-03", date(2026, 12, 3)),
        ("2026/12/3", date(2026, 12, 3)),
        ("2026年12月3日", date(2026, 12, 3)),
        (" 下周五 ", date(2026, 12, 11)),
        ("我下周五", date(2026, 12, 11)),  # jieba's "我下|周五": the entity spans 我
        ("最晚15号那天", date(2026, 12, 15)),
        ("等到月底", date(2026, 11, 30)),
    ],
)
def test_payment_date_phrases_become_dates(text, expected):
    assert date_phrase_to_date(text, today=MONDAY, tz=SHANGHAI) == expected


def test_the_reading_gives_the_iso_date():
    reading = read_date_phrase("下周五", today=MONDAY, tz=SHANGHAI)
    assert reading.iso == "2026-12-11"
    assert reading.reason is None


@pytest.mark.parametrize(
    "text", ["发工资那天", "发工资的时候", "等发工资", "发薪日", "下个月", "下月初", "月初", "过年前", "下周末", "这周"]
)
def test_a_day_only_the_borrower_knows_gives_none_and_asks_which_day(text):
    reading = read_date_phrase(text, today=MONDAY, tz=SHANGHAI)
    assert reading.value is None
    assert reading.reason == NEEDS_SPECIFIC_DAY
    assert date_phrase_to_date(text, today=MONDAY, tz=SHANGHAI) is None


def test_the_31st_in_a_30_day_month_is_refused_not_moved():
    reading = read_date_phrase("31号", today=date(2026, 4, 10), tz=SHANGHAI)
    assert reading.value is None
    assert reading.reason == NO_SUCH_DAY


def test_the_31st_said_on_the_30th_of_a_30_day_month_is_refused():
    assert read_date_phrase("31号", today=MONDAY, tz=SHANGHAI).reason == NO_SUCH_DAY


def test_a_day_already_past_this_month_means_next_month():
    assert date_phrase_to_date("10号", today=date(2026, 4, 20), tz=SHANGHAI) == date(2026, 5, 10)


def test_the_30th_said_after_it_in_january_falls_in_february_and_is_refused():
    reading = read_date_phrase("30号", today=date(2026, 1, 31), tz=SHANGHAI)
    assert reading.reason == NO_SUCH_DAY


@pytest.mark.parametrize("text", ["2月30日", "2026-02-30", "下个月31号"])
def test_impossible_calendar_dates_are_refused(text):
    # today 2026-01-15: next month is February, which has no 30th or 31st
    reading = read_date_phrase(text, today=date(2026, 1, 15), tz=SHANGHAI)
    assert reading.value is None
    assert reading.reason == NO_SUCH_DAY


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 2, 10), date(2026, 2, 28)),
        (date(2028, 2, 10), date(2028, 2, 29)),  # leap year
        (date(2026, 1, 31), date(2026, 1, 31)),
        (date(2026, 12, 5), date(2026, 12, 31)),
    ],
)
def test_month_end_is_the_last_day_of_the_current_month(today, expected):
    assert date_phrase_to_date("月底", today=today, tz=SHANGHAI) == expected


def test_next_friday_said_on_a_friday_is_a_week_later():
    assert date_phrase_to_date("下周五", today=FRIDAY, tz=SHANGHAI) == date(2026, 12, 11)


def test_this_friday_said_on_a_friday_is_today():
    assert date_phrase_to_date("这周五", today=FRIDAY, tz=SHANGHAI) == FRIDAY
    assert date_phrase_to_date("周五", today=FRIDAY, tz=SHANGHAI) == FRIDAY


def test_next_friday_said_on_a_sunday_is_in_the_following_monday_to_sunday_week():
    sunday = date(2026, 12, 6)
    assert date_phrase_to_date("下周五", today=sunday, tz=SHANGHAI) == date(2026, 12, 11)


def test_this_friday_said_on_a_saturday_is_in_the_past():
    saturday = date(2026, 12, 5)
    reading = read_date_phrase("这周五", today=saturday, tz=SHANGHAI)
    assert reading.value is None
    assert reading.reason == IN_THE_PAST
    assert date_phrase_to_date("周五", today=saturday, tz=SHANGHAI) == date(2026, 12, 11)


@pytest.mark.parametrize("text", ["2026-11-29", "这个月25号", "2026年1月15日"])
def test_a_date_before_today_is_refused(text):
    assert read_date_phrase(text, today=MONDAY, tz=SHANGHAI).reason == IN_THE_PAST


def test_an_aware_now_is_read_in_the_borrowers_time_zone():
    # 17:00 UTC on 30 Nov is already 1 Dec in Shanghai but still 30 Nov in Dubai.
    now = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
    assert date_phrase_to_date("明天", today=now, tz=SHANGHAI) == date(2026, 12, 2)
    assert date_phrase_to_date("明天", today=now, tz="Asia/Dubai") == date(2026, 12, 1)
    assert date_phrase_to_date("月底", today=now, tz=SHANGHAI) == date(2026, 12, 31)


def test_a_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        date_phrase_to_date("明天", today=datetime(2026, 11, 30, 9, 0), tz=SHANGHAI)


@pytest.mark.parametrize("text", ["", "随便", "xyz", "32号", "0号", "周八"])
def test_unreadable_phrases_give_none(text):
    reading = read_date_phrase(text, today=MONDAY, tz=SHANGHAI)
    assert reading.value is None
    assert reading.reason == UNRECOGNISED
