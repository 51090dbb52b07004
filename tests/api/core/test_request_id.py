"""The api's hop of the request id: X-Request-ID in and out, into Rasa's metadata, into
every log line of the request."""

import json
import logging
import re

import pytest

from api.core.request_id import clean_request_id
from tests.api.gateway.fake_rasa import fake_rasa, settings  # noqa: F401
from tests.conftest import open_chat

GENERATED = re.compile(r"[0-9a-f]{32}")


async def say(client, chat: dict, text: str, **headers: str):
    response = await client.post(
        f"/api/v1/chat/sessions/{chat['conversation_id']}/messages", json={"text": text},
        headers={"Authorization": f"Bearer {chat['session_token']}", **headers},
    )
    assert response.status_code == 200, response.text
    return response


async def test_a_given_request_id_comes_back_in_the_response(client):
    response = await client.get("/health", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42"


async def test_without_one_each_request_gets_a_new_id(client):
    first = (await client.get("/health")).headers["X-Request-ID"]
    second = (await client.get("/health")).headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


@pytest.mark.parametrize("given", ["a" * 200, "two words", "{\"json\":1}", "-leading-dash"])
async def test_an_unusable_request_id_is_replaced_not_echoed(client, given):
    response = await client.get("/health", headers={"X-Request-ID": given})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_errors_carry_the_request_id_too(client):
    response = await client.get(
        "/api/v1/conversations/00000000-0000-0000-0000-000000000000/transcript",
        headers={"X-Request-ID": "trace-401"},
    )
    assert response.status_code == 401 and response.headers["X-Request-ID"] == "trace-401"


async def test_the_gateway_passes_the_request_id_to_rasa_with_the_message(client, fake_rasa):  # noqa: F811
    chat = await open_chat(client)

    response = await say(client, chat, "你好", **{"X-Request-ID": "turn-abc123"})

    assert response.headers["X-Request-ID"] == "turn-abc123"
    metadata = fake_rasa.turns[-1]["metadata"]
    assert metadata["request_id"] == "turn-abc123"
    assert isinstance(metadata["message_id"], int)  # still there (D3 consent citation)


async def test_each_message_without_an_id_reaches_rasa_with_its_own(client, fake_rasa):  # noqa: F811
    chat = await open_chat(client)
    first = await say(client, chat, "你好")
    second = await say(client, chat, "我欠多少钱")

    sent = [turn["metadata"]["request_id"] for turn in fake_rasa.turns[-2:]]
    assert sent == [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert sent[0] != sent[1]


async def test_the_access_line_and_the_turn_s_own_lines_carry_the_request_id(client, capsys):
    chat = await open_chat(client)
    capsys.readouterr()

    await say(client, chat, "你好", **{"X-Request-ID": "turn-logs-1"})  # Rasa down: pause fails

    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    mine = [x for x in lines if x["request_id"] == "turn-logs-1"]
    assert {"api.access", "api.gateway.escalation"} <= {x["logger"] for x in mine}
    [access] = [x for x in mine if x["logger"] == "api.access"]
    assert access["path"] == f"/api/v1/chat/sessions/{chat['conversation_id']}/messages"
    assert access["status"] == 200 and access["method"] == "POST"
    assert all(x["request_id"] != "turn-logs-1" for x in lines if x not in mine)


async def test_probes_are_logged_below_info(client, caplog):
    with caplog.at_level(logging.DEBUG, logger="api.access"):
        await client.get("/health")
    [record] = [r for r in caplog.records if r.name == "api.access"]
    assert record.levelno == logging.DEBUG


def test_clean_request_id_accepts_trace_ids_and_refuses_injection():
    assert clean_request_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert clean_request_id(b"abc-1") == "abc-1"
    assert clean_request_id("abc\ninjected") is None
    assert clean_request_id(None) is None and clean_request_id(123) is None
