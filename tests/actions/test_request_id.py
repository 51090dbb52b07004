"""The action server's hop of the request id: from the message metadata Rasa hands the
action, onto every call the action makes to the (real, in-process) api."""

import json
import logging

import pytest

from actions.observability import configure_for_action_server, request_id_of, serving_actions
from api.core.logging import SERVER_LOGGERS

ACCESS = "api.access"


def internal_calls(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS and r.path.startswith("/internal/")]


async def test_the_turn_s_request_id_reaches_every_api_call_of_the_action(verified, caplog):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ACCESS):
        turn = await verified.say(
            "ask_amount_due", "我欠多少钱", metadata={"message_id": 7, "request_id": "turn-act-1"}
        )

    assert "3,250.00" in turn.text  # the api answered the action
    calls = internal_calls(caplog)
    assert calls, "the action made no api call"
    assert {r.request_id for r in calls} == {"turn-act-1"}


async def test_the_action_s_own_log_lines_carry_it(verified, capsys):
    capsys.readouterr()
    await verified.say("ask_amount_due", "我欠多少钱", metadata={"request_id": "turn-act-2"})

    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    client_lines = [x for x in lines if x["logger"] == "actions.api_client"]
    assert client_lines and {x["request_id"] for x in client_lines} == {"turn-act-2"}
    assert any(x["path"].endswith("/amount-due") and x["status"] == 200 for x in client_lines)


async def test_without_one_from_rasa_the_run_makes_one_and_uses_it_throughout(verified, caplog):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ACCESS):
        await verified.say("ask_amount_due", "我欠多少钱")  # Rasa called without metadata
        first = {r.request_id for r in internal_calls(caplog)}
        caplog.clear()
        await verified.say("ask_amount_due", "我欠多少钱", metadata={"request_id": "bad id\n"})
        second = {r.request_id for r in internal_calls(caplog)}

    assert len(first) == 1 and len(second) == 1 and first != second
    assert None not in first | second and "bad id\n" not in second


def test_request_id_of_reads_the_gateway_s_metadata():
    assert request_id_of({"metadata": {"request_id": "abc-1", "message_id": 3}}) == "abc-1"
    assert request_id_of({"metadata": None}) is None
    assert request_id_of({}) is None and request_id_of(None) is None


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    servers = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate) for n in SERVER_LOGGERS}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, propagate) in servers.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def test_importing_the_actions_elsewhere_leaves_logging_alone(restore_logging, monkeypatch):
    monkeypatch.delenv("SANIC_WORKER_NAME", raising=False)
    root = logging.getLogger()
    foreign = logging.StreamHandler()
    root.addHandler(foreign)
    before = list(root.handlers)

    assert not serving_actions()
    configure_for_action_server()

    assert root.handlers == before


def test_in_a_sanic_worker_of_the_action_server_logging_becomes_ours(restore_logging, monkeypatch, capsys):
    monkeypatch.setenv("SANIC_WORKER_NAME", "Sanic-Server-0-0")  # what Sanic sets in its workers
    root = logging.getLogger()
    coloured = logging.StreamHandler()  # rasa_sdk's handler
    root.addHandler(coloured)

    configure_for_action_server()

    assert coloured not in root.handlers
    logging.getLogger("actions.test").info("worker up, caller 13912345678")
    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    assert line["logger"] == "actions.test" and line["message"] == "worker up, caller 139****5678"
