"""Reminder texts: every one passes the language guard (L1), discloses what D1 asks,
says how to stop (T4) and carries no debt detail (P1/P4); a lender's own file that
would break any of this is refused when it is loaded."""

import re
from pathlib import Path

import pytest
import yaml

from api.compliance.flags import RULES_PATH as FLAG_RULES
from api.core.config import Settings
from api.guard import check_message
from api.outreach.models import OutreachKind
from api.outreach.templates import DEFAULT_PATH, TemplateError, _load, load_templates

SETTINGS = Settings(lender_legal_name="测试普惠小额贷款有限公司", lender_hotline="400-123-4567")
FLAG_RULES_YAML = yaml.safe_load(FLAG_RULES.read_text(encoding="utf-8"))


def rendered() -> list[tuple[str, str]]:
    book = load_templates(SETTINGS)
    out = []
    for kind in OutreachKind:
        reminder = book.render(kind, lender_legal_name=SETTINGS.lender_legal_name,
                               lender_hotline=SETTINGS.lender_hotline)
        out.append((f"{kind}.text", reminder.text))
        out.extend((f"{kind}.{name}", value) for name, value in reminder.wechat_fields.items())
    return out


@pytest.mark.parametrize(("where", "text"), rendered())
def test_every_reminder_text_passes_the_language_guard(where, text):
    assert check_message(text) == [], where


@pytest.mark.parametrize("kind", list(OutreachKind))
def test_every_reminder_discloses_lender_ai_recording_and_a_person(kind):
    text = load_templates(SETTINGS).render(kind, lender_legal_name=SETTINGS.lender_legal_name,
                                           lender_hotline=SETTINGS.lender_hotline).text
    assert SETTINGS.lender_legal_name in text and SETTINGS.lender_hotline in text
    for name, pattern in FLAG_RULES_YAML["d1_required"].items():  # what the D1 flag checks
        assert re.search(pattern, text), name
    assert "AI助手" in text and "人工智能生成" in text
    assert "别再发了" in text and "转人工" in text


@pytest.mark.parametrize(("where", "text"), rendered())
def test_no_reminder_carries_debt_detail(where, text):
    for pattern in FLAG_RULES_YAML["p4_debt_detail"]:  # what the P4 flag checks
        assert not re.search(pattern, text), (where, pattern)
    without_hotline = text.replace(SETTINGS.lender_hotline, "")
    assert not re.search(r"\d", without_hotline), where  # no amount, date or number at all


def _custom(tmp_path: Path, **changes) -> Settings:
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    for key, text in changes.items():
        raw["templates"][key]["text"] = text
    path = tmp_path / "lender.zh.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return SETTINGS.model_copy(update={"outreach_templates_path": str(path)})


def test_a_lender_can_use_its_own_texts(tmp_path):
    text = "您好，我是{lender_legal_name}的AI助手（本消息由人工智能生成）。您有一笔还款的约定日期临近，回复本消息即可了解详情。本对话会被记录。人工服务：{lender_hotline}。回复“别再发了”可停止提醒。"
    book = load_templates(_custom(tmp_path, due_soon=text))
    assert book.texts["due_soon"] == text


def test_a_threatening_text_is_refused_when_loaded(tmp_path):
    threat = "{lender_legal_name}提醒：再不还钱就联系你单位领导和你家人。"
    with pytest.raises(TemplateError, match="language guard"):
        load_templates(_custom(tmp_path, missed_payment=threat))


def test_a_text_that_would_carry_an_amount_is_refused(tmp_path):
    with pytest.raises(TemplateError, match="amount_fen"):
        load_templates(_custom(tmp_path, due_today="{lender_legal_name}：今天应还 {amount_fen} 分。"))


def test_a_file_missing_a_kind_is_refused(tmp_path):
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    del raw["templates"]["promise_followup"]
    path = tmp_path / "partial.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TemplateError, match="promise_followup"):
        _load(str(path), "x", "400")
