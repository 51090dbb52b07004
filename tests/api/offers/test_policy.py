"""Policy files: loading, validation errors and content-hash versions."""

import hashlib
from pathlib import Path

import pytest

from api.offers.codes import HardshipReason
from api.offers.errors import PolicyInvalid, PolicyNotFound
from api.offers.policy import (
    POLICY_DIR,
    load_policies,
    load_policy,
    parse_policy,
    policy_for_product,
)
from api.offers.policy_parts import FeeBasis, RateBasis
from tests.api.offers.builders import PRODUCT, policy_yaml


def test_shipped_policy_for_the_demo_product_loads():
    policy = policy_for_product(PRODUCT)
    assert policy.product_name == "普惠信用贷"
    assert policy.cost.cap_annual_bp == 2400
    assert policy.cost.flag_threshold_bp == 1200  # 4 × LPR 300 bp
    assert set(policy.penalty_waiver.accepted_reasons) == set(HardshipReason)
    assert policy.instalment.rate.basis is RateBasis.ANNUAL_NOMINAL


def test_every_shipped_policy_file_validates():
    assert PRODUCT in load_policies(POLICY_DIR)


def test_unknown_product_has_no_policy():
    with pytest.raises(PolicyNotFound) as caught:
        policy_for_product("不存在的产品")
    assert caught.value.status_code == 404


def test_version_is_the_short_sha256_of_the_file_bytes(tmp_path: Path):
    path = tmp_path / "p.yml"
    path.write_bytes(policy_yaml())
    expected = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert load_policy(path).version == expected


def test_version_changes_when_the_yaml_changes_and_only_then(tmp_path: Path):
    path = tmp_path / "p.yml"
    path.write_bytes(policy_yaml())
    first = load_policy(path).version
    assert load_policy(path).version == first
    path.write_bytes(policy_yaml(cost={"cap_annual_bp": 2000}))
    changed = load_policy(path).version
    path.write_bytes(policy_yaml(cost={"cap_annual_bp": 2000}) + b"# comment\n")
    assert len({first, changed, load_policy(path).version}) == 3


def test_fee_rule_values():
    policy = parse_policy(policy_yaml())
    assert policy.extension.fee.basis is FeeBasis.BP_OF_PRINCIPAL
    assert policy.extension.fee.amount_fen(principal_fen=300_001, rescheduled_fen=0) == 450


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cost": {"cap_annual_bp": 24.0}}, "cost.cap_annual_bp"),
        ({"cost": {"cap_annual_bp": "2400"}}, "cost.cap_annual_bp"),
        ({"cost": {"lpr_one_year_bp": 0}}, "cost.lpr_one_year_bp"),
        ({"cost": {"cap_bp": 2400}}, "cost.cap_bp"),
        ({"cost": None}, "cost"),
        ({"extension": {"lengths_days": []}}, "extension.lengths_days"),
        ({"extension": {"lengths_days": [30, 30]}}, "must not repeat"),
        ({"extension": {"accrue_contract_interest": "yes"}}, "accrue_contract_interest"),
        ({"extension": {"contract_interest_days_per_year": 366}}, "days_per_year"),
        ({"instalment": {"min_months": 12, "max_months": 3}}, "min_months"),
        ({"instalment": {"menu_months": [24]}}, "menu_months [24]"),
        ({"instalment": {"min_instalment_fen": 0}}, "min_instalment_fen"),
        ({"instalment": {"rate": {"basis": "daily", "bp": 5}}}, "instalment.rate.basis"),
        ({"instalment": {"fee": {"basis": "fixed_fen", "value": 500}}}, "disclosed_clause"),
        ({"partial_payment": {"min_share_bp": 12_000}}, "partial_payment.min_share_bp"),
        ({"penalty_waiver": {"accepted_reasons": ["lottery_loss"]}}, "accepted_reasons"),
        ({"penalty_waiver": {"accepted_reasons": []}}, "accepted_reasons"),
        ({"version": "0123456789abcdef"}, "derived from the file bytes"),
    ],
)
def test_invalid_policy_is_rejected_with_the_field_named(overrides, message):
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(policy_yaml(**overrides), source="bad.yml")
    assert "bad.yml" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"product_name: [unclosed", "not valid YAML"), (b"- a\n- b\n", "mapping")],
)
def test_malformed_yaml_is_rejected(content, message):
    with pytest.raises(PolicyInvalid, match=message):
        parse_policy(content, source="bad.yml")


def test_two_files_for_one_product_are_rejected(tmp_path: Path):
    (tmp_path / "a.yml").write_bytes(policy_yaml())
    (tmp_path / "b.yml").write_bytes(policy_yaml(cost={"cap_annual_bp": 2000}))
    with pytest.raises(PolicyInvalid, match="second policy"):
        load_policies(tmp_path)


def test_a_left_out_section_means_the_kind_is_not_offered():
    assert parse_policy(policy_yaml(extension=None)).extension is None
