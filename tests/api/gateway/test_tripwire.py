"""The self-harm phrase list (E3) matches however the words are typed, and only them."""

import pytest
import yaml

from api.gateway import tripwire

DISTRESS = [
    # goodbyes the classifier took for bereavement or a plain goodbye
    "就这样吧，再见了这个世界",
    "来世再见了各位",
    "这是我最后一条消息了",
    "今晚睡了就不想再醒来",
    "真的撑不下去了",
    "我不想活了",
    "不想活在债务里",  # errs on the side of safety, on purpose
    "活着没意思",
    "真的觉得活着没有意思了",
    "我想死",
    "有时候想死的心都有",
    "我要自杀",
    "想去跳楼",
    "割腕算了",
    "我把安眠药都买好了，今晚吃安眠药",
    "干脆一了百了",
    "我想结束生命",
    "有轻生的念头",
    "真的活不下去了",
    "死了算了",
    "我 不 想 活 了",  # spaced
    "想　死",  # ideographic space
    "ｗｏ想死",  # full-width latin around it
    "自\u200b杀",  # zero-width space
    "一了\ufeff百了",  # BOM inside
    "活-不-下-去",  # punctuation between characters
    "不想活！！！",
    "我想自殺",  # traditional
    "I want to KILL myself",
    "活着没意思😞",
]

NOT_DISTRESS = [
    "死机了",
    "笑死",
    "笑死我了哈哈",
    "累死了",
    "烦死了，能不能分期",
    "吓死我了",
    "死记硬背",
    "我想分期还款",
    "这个月活动多，钱不够",
    "能不能减免罚息",
    "",
]


@pytest.mark.parametrize("text", DISTRESS)
def test_distress_phrasings_trip_the_wire(text):
    assert tripwire.match(text) is not None


@pytest.mark.parametrize("text", NOT_DISTRESS)
def test_everyday_phrases_with_death_words_do_not(text):
    assert tripwire.match(text) is None


def test_every_listed_phrase_matches_itself():
    with open(tripwire.PHRASES_FILE, encoding="utf-8") as fh:
        listed = yaml.safe_load(fh)["phrases"]
    assert listed and all(tripwire.match(p) for p in listed)


def test_normalisation_folds_width_and_drops_invisible_characters():
    assert tripwire.normalise("ＡＢ　c\u200d,d") == "abcd"
