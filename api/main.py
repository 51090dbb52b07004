"""App factory: `uvicorn api.main:create_app --factory`."""

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from api.agreements.routes import internal_router as quotes_router, staff_router as agreements_router
from api.audit.routes import router as audit_router
from api.compliance.routes import page_router as compliance_page_router
from api.compliance.routes import router as compliance_router
from api.console.routes import page_router as console_page_router
from api.console.routes import router as console_router
from api.core.config import Settings, get_settings
from api.core.db import make_engine, make_sessionmaker
from api.core.deps import SessionDep
from api.core.errors import install_error_handler
from api.core.events import make_event_bus
from api.core.logging import configure_logging
from api.core.metrics import router as metrics_router
from api.core.request_id import RequestIdMiddleware
from api.gateway.rasa_client import RasaClient, build_rasa_http
from api.gateway.rate_limit import SlidingWindowLimiter
from api.gateway.routes import router as gateway_router
from api.gateway.wechat.channel import WeChatChannel
from api.gateway.wechat.client import WeChatApiClient, build_wechat_http
from api.gateway.wechat.routes import router as wechat_router
from api.internal.routes import router as internal_router
from api.admin.routes import router as admin_router
from api.contact_preferences.routes import internal_router as preferences_internal_router
from api.contact_preferences.routes import staff_router as preferences_staff_router
from api.payments.routes import router as payments_router
from api.outreach.routes import router as outreach_router
from api.outreach.worker import OutreachWorker
from api.users.routes import router as auth_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # JSON lines (or text), PII masked; uvicorn's loggers included (README "Observability").
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database_url)
        rasa_urls = settings.rasa_instances
        rasa_http = build_rasa_http(
            base_url=rasa_urls[0], timeout_seconds=settings.rasa_timeout_seconds,
            instances=len(rasa_urls),
        )
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.rasa = RasaClient(rasa_http, urls=rasa_urls)
        # In-process, or Redis pub/sub between api processes (REDIS_URL).
        await app.state.events.start()
        wechat_http = build_wechat_http(settings)
        app.state.wechat = WeChatChannel(
            settings=settings,
            sessionmaker=app.state.sessionmaker,
            rasa=app.state.rasa,
            api=WeChatApiClient(
                wechat_http,
                app_id=settings.wechat_app_id,
                app_secret=settings.wechat_app_secret.get_secret_value(),
            ),
            events=app.state.events,
        )
        # Outreach reminders (issue 9): this process runs the scheduler/worker loop on the
        # embedded default; OUTREACH_SCHEDULER=external leaves it to worker processes.
        outreach_stop = asyncio.Event()
        outreach_task = None
        app.state.outreach = None
        if settings.outreach_scheduler == "embedded":
            app.state.outreach = OutreachWorker(
                sessionmaker=app.state.sessionmaker, settings=settings,
                wechat=app.state.wechat.api, events=app.state.events, rasa=app.state.rasa,
            )
            outreach_task = asyncio.create_task(app.state.outreach.run_forever(outreach_stop))
        try:
            yield
        finally:
            outreach_stop.set()
            if outreach_task is not None:
                await outreach_task
            await app.state.wechat.drain()
            await app.state.events.close()
            await wechat_http.aclose()
            await rasa_http.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Repayment assistant — loan service and gateway",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.events = make_event_bus(settings.redis_url, channel=settings.event_bus_channel)
    app.state.chat_limiter = SlidingWindowLimiter(
        limit=settings.chat_messages_per_minute, window_seconds=60
    )
    install_error_handler(app)
    # X-Request-ID in and out, the id in every log line, one access line per request.
    app.add_middleware(RequestIdMiddleware)
    app.include_router(metrics_router)
    app.include_router(gateway_router)
    app.include_router(wechat_router)
    app.include_router(internal_router, prefix="/internal/v1", tags=["internal"])
    app.include_router(auth_router, prefix="/api/v1/auth", tags=["auth"])
    app.include_router(audit_router, prefix="/api/v1/audit", tags=["audit"])
    app.include_router(payments_router, prefix="/api/v1/loans", tags=["payments"])
    app.include_router(preferences_internal_router, prefix="/internal/v1", tags=["internal"])
    app.include_router(preferences_staff_router, prefix="/api/v1/borrowers", tags=["contact-preferences"])
    app.include_router(admin_router, prefix="/api/v1/admin", tags=["admin"])
    app.include_router(quotes_router, prefix="/internal/v1", tags=["quotes"])
    app.include_router(agreements_router, prefix="/api/v1/agreements", tags=["agreements"])
    app.include_router(compliance_router, prefix="/api/v1/compliance", tags=["compliance"])
    app.include_router(compliance_page_router)
    app.include_router(console_router, prefix="/api/v1/console", tags=["console"])
    app.include_router(console_page_router)
    app.include_router(outreach_router, prefix="/api/v1/outreach", tags=["outreach"])

    @app.get("/health", tags=["ops"])
    async def health(session: SessionDep) -> dict[str, str]:
        await session.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app
