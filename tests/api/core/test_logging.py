"""api/core/logging.py: one JSON object per line, request id included, PII masked."""

import json
import logging
import warnings

import pytest

from api.core.logging import QUIET_LOGGERS, SERVER_LOGGERS, SILENCED_LOGGERS, configure_logging
from api.core.request_id import REQUEST_ID

ID_NUMBER = "110101199003071234"
ID_NUMBER_X = "11010519491231002X"
PHONE = "13912345678"
CARD = "6222 0212 3456 7890 123"


@pytest.fixture(autouse=True)
def restore_logging():
    """Each test configures logging its way; the process gets its own setup back."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {
        name: (list(lg.handlers), lg.propagate, lg.level)
        for name in (*SERVER_LOGGERS, *SILENCED_LOGGERS, *QUIET_LOGGERS)
        for lg in [logging.getLogger(name)]
    }
    logging.captureWarnings(False)  # undo an earlier setup's, so each test starts clean
    showwarning = warnings.showwarning
    yield
    logging.captureWarnings(False)
    warnings.showwarning = showwarning
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, propagate, level) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.propagate = handlers, propagate
        lg.setLevel(level)


def json_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_a_json_line_has_time_level_logger_message_request_id_and_extras(capsys):
    configure_logging("json")
    token = REQUEST_ID.set("req-123")
    try:
        logging.getLogger("api.gateway.test").info(
            "turn for %s", "c-1", extra={"conversation_id": "c-1", "attempt": 2}
        )
    finally:
        REQUEST_ID.reset(token)

    [line] = json_lines(capsys.readouterr().err)
    assert line["level"] == "INFO" and line["logger"] == "api.gateway.test"
    assert line["message"] == "turn for c-1"
    assert line["request_id"] == "req-123"
    assert line["conversation_id"] == "c-1" and line["attempt"] == 2
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_outside_a_request_the_request_id_is_null(capsys):
    configure_logging("json")
    logging.getLogger("api.jobs").warning("nightly job")
    [line] = json_lines(capsys.readouterr().err)
    assert line["request_id"] is None and line["level"] == "WARNING"


def test_id_phone_and_card_numbers_are_masked_everywhere_in_a_line(capsys):
    configure_logging("json")
    log = logging.getLogger("api.test")
    try:
        raise ValueError(f"bad id {ID_NUMBER}")
    except ValueError:
        log.exception(
            "borrower %s called from %s about card %s and %s", ID_NUMBER_X, PHONE, CARD, ID_NUMBER,
            extra={"phone": int(PHONE), "payload": {"id_number": ID_NUMBER, "cards": [CARD]}},
        )

    raw = capsys.readouterr().err
    for secret in (ID_NUMBER, ID_NUMBER_X, PHONE, CARD, CARD.replace(" ", "")):
        assert secret not in raw
    [line] = json_lines(raw)
    assert "110105********002X" in line["message"] and "139****5678" in line["message"]
    assert "*" * 15 + "0123" in line["message"]
    assert line["phone"] == "139****5678"
    assert line["payload"]["id_number"] == "110101********1234"
    assert line["payload"]["cards"] == ["*" * 15 + "0123"]
    assert "ValueError: bad id 110101********1234" in line["exception"]


def test_amounts_dates_and_ids_of_our_own_are_left_alone(capsys):
    configure_logging("json")
    logging.getLogger("api.test").info(
        "¥3,250.00 due 2026-05-01", extra={"amount_fen": 325_000, "message_id": 42}
    )
    [line] = json_lines(capsys.readouterr().err)
    assert line["message"] == "¥3,250.00 due 2026-05-01"
    assert line["amount_fen"] == 325_000 and line["message_id"] == 42


def test_text_format_is_one_readable_line_and_masked_too(capsys):
    configure_logging("text")
    token = REQUEST_ID.set("req-9")
    try:
        logging.getLogger("api.test").info("call %s", PHONE, extra={"id_number": ID_NUMBER})
    finally:
        REQUEST_ID.reset(token)
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if "api.test" in x]
    assert "INFO" in line and "[req-9]" in line and "call 139****5678" in line
    assert "id_number=110101********1234" in line
    assert PHONE not in err and ID_NUMBER not in err


def test_uvicorn_loggers_lose_their_handlers_and_write_json_lines(capsys):
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(logging.StreamHandler())  # what uvicorn's own dictConfig installs
    uvicorn.propagate = False
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)  # uvicorn's --log-level, kept
    configure_logging("json")

    logging.getLogger("uvicorn.error").info("Started server process [1]")

    assert uvicorn.handlers == [] and uvicorn.propagate
    lines = json_lines(capsys.readouterr().err)
    assert [(x["logger"], x["message"]) for x in lines] == [("uvicorn.error", "Started server process [1]")]


def test_uvicorn_s_access_line_gives_way_to_the_api_s_own(capsys):
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.StreamHandler())
    configure_logging("json")

    assert not access.hasHandlers()  # uvicorn then skips its access line altogether
    access.info('127.0.0.1:1 - "GET /health HTTP/1.1" 200')
    assert capsys.readouterr().err == ""


def test_warnings_become_log_lines(capsys):
    configure_logging("json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old rasa 13912345678", UserWarning)
    [line] = json_lines(capsys.readouterr().err)
    assert line["logger"] == "py.warnings" and "old rasa 139****5678" in line["message"]


def test_configuring_twice_keeps_one_handler_and_take_over_removes_foreign_ones(capsys):
    root = logging.getLogger()
    foreign = logging.StreamHandler()
    root.addHandler(foreign)
    configure_logging("json")
    configure_logging("json")
    ours = [h for h in root.handlers if getattr(h, "_project_handler", False)]
    assert len(ours) == 1 and foreign in root.handlers

    configure_logging("json", take_over=True)  # the action server: rasa_sdk's handler goes
    assert foreign not in root.handlers
    assert len([h for h in root.handlers if getattr(h, "_project_handler", False)]) == 1


def test_httpx_request_lines_stay_out_they_carry_rasa_s_token(capsys):
    configure_logging("json", "DEBUG")
    logging.getLogger("httpx").info('HTTP Request: GET http://rasa/status?token=secret "200 OK"')
    assert "secret" not in capsys.readouterr().err


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        configure_logging("xml")
