"""The D3 summary: what a borrower reads before consenting, rendered from the terms.

Amount, schedule with due dates, annualised cost, all fees and what happens if a
payment is missed. Rendered from the (hash-checked) terms alone, so the text shown
before consent and the text stored with the agreement are the same text.
"""

from datetime import date
from typing import Any

from api.agreements.texts import summary_line
from api.core.money import format_fen
from api.offers.texts import format_bp, format_date


def _day(iso: str) -> str:
    return format_date(date.fromisoformat(iso))


def _money_values(terms: dict[str, Any]) -> dict[str, str]:
    return {
        "total_due_before": format_fen(terms["position"]["total_due_fen"]),
        "total_repayable": format_fen(terms["total_repayable_fen"]),
        "interest": format_fen(terms["interest_fen"]),
        "fees": format_fen(terms["fees_fen"]),
        "waived": format_fen(terms["waived_fen"]),
        "remaining_balance": format_fen(terms["remaining_balance_fen"]),
    }


def _fees_line(terms: dict[str, Any], values: dict[str, str]) -> str:
    if terms["fees_fen"] == 0:
        return summary_line("fees_none")
    return summary_line("fees_disclosed", fees=values["fees"], fee_clause=terms["fee_clause"])


def _schedule_lines(terms: dict[str, Any]) -> list[str]:
    return [summary_line("schedule_heading")] + [
        summary_line(
            "schedule_item",
            number=str(item["number"]),
            due_date=_day(item["due_date"]),
            amount=format_fen(item["amount_fen"]),
        )
        for item in terms["schedule"]
    ]


def render_summary(terms: dict[str, Any]) -> str:
    kind = terms["kind"]
    values = _money_values(terms)
    lines = [
        summary_line("title"),
        summary_line(
            f"plan_{kind}",
            name=terms["name"],
            term_days=str(terms["term_days"]),
            term_months=str(terms["term_months"]),
        ),
        summary_line("loan", contract_no=terms["contract_no"], product_name=terms["product_name"]),
        summary_line("total_due_before", as_of=_day(terms["as_of"]), **values),
        summary_line("total_repayable", **values),
    ]
    if terms["waived_fen"]:
        lines.append(summary_line("waived", **values))
    if terms["remaining_balance_fen"]:
        lines.append(summary_line("remaining_balance", **values))
    lines.append(summary_line("annual_cost", annual_cost=format_bp(terms["annual_cost_bp"])))
    lines.append(_fees_line(terms, values))
    lines.extend(_schedule_lines(terms))
    lines.append(summary_line(f"missed_{kind}"))
    lines.append(summary_line("copy_notice"))
    return "\n".join(lines)
