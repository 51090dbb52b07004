"""One settings object for the api process, read from the environment (.env optional)."""

from datetime import time
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development placeholders: fine on a laptop, refused in production mode.
PLACEHOLDER_SERVICE_TOKEN = "dev-service-token"
PLACEHOLDER_ID_HASH_SALT = "dev-id-hash-salt"
PLACEHOLDER_RASA_TOKEN = "dev-rasa-token"
PLACEHOLDER_WECHAT_TOKEN = "dev-wechat-token"
PLACEHOLDER_WECHAT_APP_SECRET = "dev-wechat-secret"
PLACEHOLDER_AUTH_SECRET = "dev-auth-secret-not-for-production-use"
# HS256 keys shorter than the 32-byte digest weaken the signature (RFC 7518 §3.2).
AUTH_SECRET_MIN_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///var/app.db"

    # Shared secret the action server presents on /internal routes.
    service_token: SecretStr = SecretStr(PLACEHOLDER_SERVICE_TOKEN)
    # Salt for the HMAC under which ID numbers are stored (only a hash + last 4 are kept).
    id_hash_salt: SecretStr = SecretStr(PLACEHOLDER_ID_HASH_SALT)

    # Signs staff access tokens (HS256). Tokens are short-lived: there is no revocation
    # list, so a stolen token is only useful until it expires.
    auth_secret: SecretStr = SecretStr(PLACEHOLDER_AUTH_SECRET)
    access_token_minutes: int = Field(default=30, ge=1, le=12 * 60)

    # WeChat Official Account (公众号) channel. The base URL is configurable so tests can
    # point it at a local fake server that speaks WeChat's protocol.
    wechat_token: SecretStr = SecretStr(PLACEHOLDER_WECHAT_TOKEN)
    wechat_app_id: str = "wx0000000000000000"
    wechat_app_secret: SecretStr = SecretStr(PLACEHOLDER_WECHAT_APP_SECRET)
    # 43 characters when safe mode (AES) is on; empty means plaintext mode only.
    wechat_encoding_aes_key: SecretStr = SecretStr("")
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    # WeChat waits 5 s for a passive reply and then retries: answer within this or
    # reply "success" and deliver through the customer-service message API.
    wechat_passive_reply_seconds: float = Field(default=4.5, ge=0, le=4.8)
    wechat_timestamp_tolerance_seconds: int = Field(default=300, ge=1)
    wechat_service_window_hours: int = Field(default=48, ge=1, le=48)

    # Public chat: at most this many borrower messages per session per minute.
    chat_messages_per_minute: int = Field(default=20, ge=1, le=600)

    # Quotes are short-lived offers bound to a policy version (issue: loan service).
    quote_ttl_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # L2/E6: years without activity after which a loan is time-barred (民法典 188) and
    # goes to a person before any agreement is sought.
    limitation_years: int = Field(default=3, ge=1, le=30)
    # A1: conversations are anonymised this many years after their last activity
    # (`python -m api.compliance.retention`); aggregates and the audit chain are kept.
    retention_years: int = Field(default=3, ge=1, le=30)

    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa instances sharing a tracker store (SQL) and a lock store (Redis): a
    # comma-separated list; turns are spread round-robin and fail over on a refused
    # connection (api/gateway/rasa_client.py). Empty: RASA_URL alone.
    rasa_urls: str = ""
    rasa_token: SecretStr = SecretStr(PLACEHOLDER_RASA_TOKEN)
    # Whole-turn deadline for one Rasa answer (actions included). A borrower must get
    # the apology within 5 s when the bot is down or slow (issue 5), and the tracker
    # pause that follows a failure gets its own short budget below.
    rasa_timeout_seconds: float = Field(default=3.5, gt=0, le=4.5)
    # Deadline for tracker control calls (pause on escalation, resume on hand-back).
    rasa_control_timeout_seconds: float = Field(default=1.0, gt=0, le=5)

    # Escalation to a person (E1-E6): the crisis line shown for distress (E3) and the
    # emergency numbers, "/"-separated. Never a money word in these messages.
    crisis_line: str = "12356"  # 全国心理援助热线
    emergency_numbers: str = "120/110"
    # While a borrower waits for a collector, at most one reminder per this many minutes.
    handoff_reminder_minutes: int = Field(default=5, ge=1, le=24 * 60)

    # Borrower live stream (GET /api/v1/chat/sessions/{id}/stream): a keep-alive comment
    # this often (it also re-reads the conversation, so a lost hint costs at most this
    # long), and the longest a stream stays open before the client reconnects.
    chat_stream_keepalive_seconds: float = Field(default=15.0, gt=0, le=60)
    chat_stream_max_seconds: int = Field(default=600, ge=1, le=3600)

    # Live-update hints between api processes (scaled topology): Redis pub/sub on this
    # URL and channel. Empty: the in-process bus, right for one api process.
    redis_url: str = ""
    event_bus_channel: str = "repayment:hints"

    # Shown in the opening disclosure (D1) and the chat page header.
    lender_legal_name: str = "示例普惠小额贷款有限公司"
    lender_hotline: str = "400-000-0000"

    # Observability (README "Observability"): one JSON object per log line (or "text" for
    # people), ID/phone/card numbers masked either way; /metrics for Prometheus. With
    # METRICS_TOKEN set, /metrics needs `Authorization: Bearer <token>`; unset, it is open
    # in development and closed in production.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_token: SecretStr = SecretStr("")

    # P4: repeated verification failures lock verification for a while.
    verification_max_failures: int = 3
    verification_lock_minutes: int = 30

    # Outreach (issue 9): proactive reminders within T1-T5, P3, O5 (api/outreach).
    # embedded: the api process runs the scheduler/worker loop (the default, one process);
    # external: `python -m api.outreach.worker` processes do (scaled topology); off: nobody.
    outreach_scheduler: Literal["embedded", "external", "off"] = "embedded"
    # Seconds between scheduler/worker passes; the embedded loop's first pass waits one
    # interval too, so a freshly started api (or a test) sees no reminders at once.
    outreach_scan_interval_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    outreach_batch_size: int = Field(default=100, ge=1, le=10_000)  # rows claimed per pass
    # A claimed row belongs to its worker this long; a crashed worker's rows are then
    # claimable again (the send itself is one transaction, so nothing is sent twice).
    outreach_claim_lease_seconds: int = Field(default=300, ge=5, le=24 * 3600)
    # T1: proactive messages only from start (inclusive) to end (exclusive), borrower-local.
    outreach_allowed_start: time = time(8, 0)
    outreach_allowed_end: time = time(21, 0)
    # T3: proactive messages per borrower across all channels: per local day, and per
    # rolling window of outreach_cap_window_days.
    outreach_daily_cap: int = Field(default=1, ge=1, le=100)
    outreach_window_cap: int = Field(default=7, ge=1, le=1000)
    outreach_cap_window_days: int = Field(default=7, ge=1, le=90)
    # When reminders are due (borrower-local): N days before a due date, on it, and N
    # days after a missed one; all at this local time of day.
    outreach_days_before_due: int = Field(default=3, ge=0, le=30)
    outreach_missed_after_days: int = Field(default=1, ge=0, le=30)
    # A missed-payment reminder not sent within this many days of the due date is stale.
    outreach_missed_lookback_days: int = Field(default=7, ge=1, le=90)
    outreach_send_local_time: time = time(10, 0)
    # T5: while a plan is kept, only these kinds, and only for the plan's own items.
    outreach_plan_reminder_kinds: list[str] = ["due_soon", "due_today", "promise_due"]
    # A channel refusing a reminder: retried after this many seconds, at most this often.
    outreach_max_attempts: int = Field(default=3, ge=1, le=20)
    outreach_retry_seconds: int = Field(default=600, ge=1, le=7 * 24 * 3600)
    # Lender-configurable reminder texts; empty means api/outreach/templates.zh.yml.
    outreach_templates_path: str = ""
    # WeChat 模板消息 id for reminders outside the 48-hour service window; empty: such a
    # reminder waits in the borrower's WeChat conversation (inbox) instead.
    wechat_reminder_template_id: str = ""
    # Promise-to-pay follow-up (api/outreach/promises.py): a broken promise gets one
    # follow-up reminder; still broken this many days after it was sent (or after it
    # could not be sent), it becomes one collector task (0: at the next pass after it).
    promise_task_after_days: int = Field(default=2, ge=0, le=60)
    # A conversation whose borrower wrote this recently is live: the collector task waits
    # rather than take the chat away from the bot mid-conversation.
    promise_task_idle_minutes: int = Field(default=30, ge=0, le=24 * 60)

    @model_validator(mode="after")
    def _outreach_window_is_a_window(self) -> "Settings":
        if not self.outreach_allowed_start < self.outreach_allowed_end:
            raise ValueError("OUTREACH_ALLOWED_START must be before OUTREACH_ALLOWED_END")
        if not self.outreach_allowed_start <= self.outreach_send_local_time < self.outreach_allowed_end:
            raise ValueError("OUTREACH_SEND_LOCAL_TIME must lie inside the allowed hours")
        return self

    @property
    def rasa_instances(self) -> list[str]:
        """Base URLs of the Rasa instances the gateway talks to (RASA_URLS, else RASA_URL)."""
        urls = [u.strip().rstrip("/") for u in self.rasa_urls.split(",") if u.strip()]
        return urls or [self.rasa_url.rstrip("/")]

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> "Settings":
        if self.environment != "production":
            return self
        problems = []
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must not be SQLite in production")
        for name, value, placeholder in (
            ("SERVICE_TOKEN", self.service_token, PLACEHOLDER_SERVICE_TOKEN),
            ("ID_HASH_SALT", self.id_hash_salt, PLACEHOLDER_ID_HASH_SALT),
            ("RASA_TOKEN", self.rasa_token, PLACEHOLDER_RASA_TOKEN),
            ("AUTH_SECRET", self.auth_secret, PLACEHOLDER_AUTH_SECRET),
            # A known WeChat token would let anyone forge messages from any openid.
            ("WECHAT_TOKEN", self.wechat_token, PLACEHOLDER_WECHAT_TOKEN),
            ("WECHAT_APP_SECRET", self.wechat_app_secret, PLACEHOLDER_WECHAT_APP_SECRET),
        ):
            if value.get_secret_value() == placeholder:
                problems.append(f"{name} must be set to a real secret in production")
        if len(self.auth_secret.get_secret_value().encode()) < AUTH_SECRET_MIN_LENGTH:
            problems.append(
                f"AUTH_SECRET must be at least {AUTH_SECRET_MIN_LENGTH} bytes in production"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
