"""GET /metrics: what a turn, an escalation, an agreement and a guard block add to it.

The metrics are process-wide counters, so every test compares a scrape before and after.
Rasa is the outside world: down (the test settings point at a closed port) or faked
(tests/api/gateway/fake_rasa.py); WeChat's servers are the local fake.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.console.guard import screen_draft
from api.core.config import Settings
from api.main import create_app
from tests.api.agreements.helpers import accept, quote_of_kind, verified_chat
from tests.api.gateway import wechat_sim as sim
from tests.api.gateway.fake_rasa import RASA_TOKEN, fake_rasa, handoff  # noqa: F401
from tests.conftest import open_chat
from tests.fakes.wechat_server import FakeWeChatServer

ROOT = Path(__file__).resolve().parents[3]
THREAT = "再不还钱，我们就联系你单位领导。"  # P3: a workplace threat


@pytest.fixture
def fake_wechat():
    with FakeWeChatServer(app_id=sim.APP_ID, app_secret=sim.APP_SECRET) as server:
        yield server


@pytest.fixture
def settings(settings, fake_wechat):
    return settings.model_copy(update={
        "rasa_token": SecretStr(RASA_TOKEN), "rasa_timeout_seconds": 1.0,
        "rasa_control_timeout_seconds": 0.5,
        "wechat_token": SecretStr(sim.TOKEN), "wechat_app_id": sim.APP_ID,
        "wechat_app_secret": SecretStr(sim.APP_SECRET), "wechat_api_base_url": fake_wechat.base_url,
    })


Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def say(client, chat: dict, text: str) -> dict:
    response = await client.post(
        f"/api/v1/chat/sessions/{chat['conversation_id']}/messages", json={"text": text},
        headers={"Authorization": f"Bearer {chat['session_token']}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_web_turn_is_timed_in_the_web_histogram(client, fake_rasa):  # noqa: F811
    fake_rasa.delay_seconds = 0.3
    chat = await open_chat(client)
    before = await scrape(client)

    await say(client, chat, "你好")

    after = await scrape(client)
    web = {"channel": "web", "state": "bot"}
    assert grew(before, after, "assistant_turn_seconds_count", **web) == 1
    assert grew(before, after, "assistant_turn_seconds_sum", **web) >= 0.3
    # 0.3 s of Rasa: above the 0.25 s bucket, inside the 0.5 s one.
    assert grew(before, after, "assistant_turn_seconds_bucket", le="0.25", **web) == 0
    assert grew(before, after, "assistant_turn_seconds_bucket", le="0.5", **web) == 1
    assert grew(before, after, "assistant_turn_seconds_count", channel="wechat", state="bot") == 0


async def test_a_wechat_turn_is_timed_in_the_wechat_histogram(client):
    before = await scrape(client)

    response = await client.post("/wechat", params=(signed := sim.plaintext_post(
        sim.text_xml("o6_metrics_openid_000000000", "你好", 7001))).params, content=signed.body)

    assert response.status_code == 200
    after = await scrape(client)
    assert grew(before, after, "assistant_turn_seconds_count", channel="wechat", state="bot") == 1
    assert grew(before, after, "assistant_turn_seconds_count", channel="web", state="bot") == 0


async def test_rasa_down_counts_an_error_and_a_bot_failure_escalation(client):
    chat = await open_chat(client)
    before = await scrape(client)

    body = await say(client, chat, "我想分期")  # Rasa's port is closed in these settings

    assert body["state"] == "waiting_for_agent"
    after = await scrape(client)
    assert grew(before, after, "assistant_rasa_errors_total", operation="turn", kind="unavailable") == 1
    assert grew(before, after, "assistant_rasa_errors_total", operation="pause", kind="unavailable") == 1
    assert grew(before, after, "assistant_escalations_total", reason="bot_failure") == 1


async def test_rasa_too_slow_counts_a_timeout(client, fake_rasa):  # noqa: F811
    fake_rasa.delay_seconds = 1.5  # the turn deadline is 1 s here
    chat = await open_chat(client)
    before = await scrape(client)

    await say(client, chat, "你好")

    after = await scrape(client)
    assert grew(before, after, "assistant_rasa_errors_total", operation="turn", kind="timeout") == 1
    assert grew(before, after, "assistant_rasa_errors_total", operation="turn", kind="unavailable") == 0


async def test_an_action_reporting_the_api_unavailable_counts_an_action_error(client, fake_rasa):  # noqa: F811
    # What actions/base.py sends when the api could not be used (ApiUnavailable).
    fake_rasa.script = lambda text: [handoff("service_unavailable", text="系统暂时无法查询。")]
    chat = await open_chat(client)
    before = await scrape(client)

    await say(client, chat, "我欠多少钱")

    after = await scrape(client)
    assert grew(before, after, "assistant_action_errors_total", kind="api_unavailable") == 1
    assert grew(before, after, "assistant_escalations_total", reason="service_unavailable") == 1
    assert grew(before, after, "assistant_rasa_errors_total", operation="turn", kind="unavailable") == 0


async def test_a_handoff_the_borrower_asked_for_is_no_action_error(client, fake_rasa):  # noqa: F811
    fake_rasa.script = lambda text: [handoff("E2", text="好的，我帮您转接人工客服。")]
    chat = await open_chat(client)
    before = await scrape(client)

    await say(client, chat, "转人工")

    after = await scrape(client)
    assert grew(before, after, "assistant_escalations_total", reason="E2") == 1
    assert grew(before, after, "assistant_action_errors_total", kind="api_unavailable") == 0


async def test_an_accepted_quote_counts_one_agreement_of_its_kind(client, seeded, service_headers):
    conversation_id = await verified_chat(client, service_headers)
    quote = await quote_of_kind(client, service_headers, conversation_id, "instalment")
    before = await scrape(client)

    first = await accept(client, service_headers, conversation_id, quote["quote_id"], key="k-metrics")
    replay = await accept(client, service_headers, conversation_id, quote["quote_id"], key="k-metrics")

    assert (first.status_code, replay.status_code) == (201, 200)
    after = await scrape(client)
    assert grew(before, after, "assistant_agreements_total", kind="instalment") == 1
    assert grew(before, after, "assistant_agreements_total", kind="extension") == 0


async def test_a_blocked_draft_counts_its_rules_once_committed(app, client):
    conversation_id = (await open_chat(client))["conversation_id"]
    before = await scrape(client)

    async with app.state.sessionmaker() as session:  # rolled back: nothing happened
        verdict = await screen_draft(session, conversation_id=conversation_id, text=THREAT,
                                     party_verified=True, actor="user:1")
        assert "P3" in {v.rule_id for v in verdict.violations}
        await session.rollback()
    assert grew(before, await scrape(client), "assistant_guard_blocks_total", rule_id="P3") == 0

    async with app.state.sessionmaker.begin() as session:
        await screen_draft(session, conversation_id=conversation_id, text=THREAT,
                           party_verified=True, actor="user:1")
    assert grew(before, await scrape(client), "assistant_guard_blocks_total", rule_id="P3") == 1


def _app_client(settings: Settings):
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)),
                             base_url="http://api.test")


async def test_with_a_metrics_token_only_its_bearer_may_scrape(settings):
    async with _app_client(settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200 and "assistant_turn_seconds" in right.text


def _production(**changes) -> Settings:
    return Settings(
        environment="production", database_url="postgresql+asyncpg://app@127.0.0.1:1/app",
        service_token="s" * 32, id_hash_salt="h" * 32, rasa_token="r" * 32,
        auth_secret="a" * 40, wechat_token="w" * 32, wechat_app_secret="x" * 32, **changes,
    )


async def test_production_without_a_token_serves_no_metrics_to_anyone():
    async with _app_client(_production()) as http:
        response = await http.get("/metrics")
    assert response.status_code == 401
    assert "METRICS_TOKEN" in response.json()["detail"]


async def test_production_with_a_token_serves_its_bearer():
    async with _app_client(_production(metrics_token="t" * 32)) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {'t' * 32}"})).status_code == 200


WORKER = textwrap.dedent("""
    from api.core.metrics import ESCALATIONS, TURN_SECONDS
    ESCALATIONS.labels(reason="E1").inc()
    TURN_SECONDS.labels(channel="web", state="bot").observe(0.2)
""")
SCRAPE = "import sys; from api.core.metrics import render; sys.stdout.write(render()[0].decode())"


def test_multiprocess_mode_adds_up_every_worker(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: each api worker writes its own file; /metrics sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes, one escalation and one turn each
        subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, check=True, timeout=60)

    scraped = subprocess.run([sys.executable, "-c", SCRAPE], cwd=ROOT, env=env, check=True,
                             timeout=60, capture_output=True, text=True).stdout

    samples = parse(scraped)
    assert value(samples, "assistant_escalations_total", reason="E1") == 2
    assert value(samples, "assistant_turn_seconds_count", channel="web", state="bot") == 2
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per worker process
