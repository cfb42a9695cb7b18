"""`web_front`: the whole web front in one app, what `reslot web` and `reslot dev` serve.

The status page and API (as `front_for`), plus the applicant's reply page (/r), the SMS
gateway's inbound route (/sms/inbound) and the operations console (/ops). It reads the
scheduler's store and the notifier's (the call list), and publishes replies and operators'
acts to Kafka with a producer started and stopped with the app's lifespan.
"""

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.middleware.sessions import SessionMiddleware

from services.common.settings import Settings
from services.web import pages
from services.web.app import create_app, store_probes
from services.web.csrf import Csrf
from services.web.deps import Clock, utc_now
from services.web.family import Policy
from services.web.guesses import GuessLimiter
from services.web.notices import Notice, notice_page
from services.web.operators import ConsoleAuth
from services.web.probes import Probe
from services.web.publisher import KafkaPublisher, Publisher
from services.web.readconsole import ConsoleReads
from services.web.readmodel import ReadModel
from services.web.readreplies import ReplyReads
from services.web.routes import ops_calls, ops_login, ops_pin, ops_review, reply, sms
from services.web.wiring import Web

log = logging.getLogger("reslot.web")
SESSION_COOKIE = "reslot_console"


def _engine_for(url: str) -> AsyncEngine:
    """A read-only engine on the notifier's store (no connection until first used)."""
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
    return create_async_engine(url, pool_size=2, pool_pre_ping=True, hide_parameters=True)


def _web_secret(settings: Settings) -> str:
    if settings.web_secret is not None and settings.web_secret.get_secret_value():
        return settings.web_secret.get_secret_value()
    log.warning("RESLOT_WEB_SECRET is not set: the console's sessions and open forms last "
                "only as long as this process (set it, the same on every replica)")
    return secrets.token_urlsafe(32)


def web_front(settings: Settings, engine: AsyncEngine, registry: CollectorRegistry,
              clock: Clock = utc_now, more_probes: Mapping[str, Probe] | None = None,
              publisher: Publisher | None = None,
              notifier_engine: AsyncEngine | None = None) -> FastAPI:
    """The whole front on the scheduler's store `engine`. `publisher`: where its events go
    (default: a Kafka producer of its own, started with the app); `notifier_engine`: the
    notifier's store (default: Settings.notifier_db(), opened and closed with the app)."""
    owned_producer = None
    if publisher is None:
        publisher = owned_producer = KafkaPublisher(settings)
    notifier_url = settings.notifier_db()
    owned_engine = None
    if notifier_engine is None and notifier_url != settings.database_url:
        owned_engine = notifier_engine = _engine_for(notifier_url)
    elif notifier_engine is None:
        notifier_engine = engine  # one database for both services (PostgreSQL)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if owned_producer is not None:
            await owned_producer.start()
        try:
            yield
        finally:
            if owned_producer is not None:
                await owned_producer.stop()
            if owned_engine is not None:
                await owned_engine.dispose()

    read_model = ReadModel(engine)
    probes = {**store_probes(settings, read_model), **(more_probes or {})}
    app = create_app(settings, read_model, registry, probes, clock, lifespan)
    secret = _web_secret(settings)
    secure = settings.public_url.startswith("https://")
    auth = ConsoleAuth.of(settings)
    policy = Policy(settings.horizon_days, settings.waiting_horizon_days,
                    settings.group_window_min)
    app.state.web = Web(
        settings=settings, publisher=publisher,
        replies=ReplyReads(engine, policy, settings.default_notice_min),
        console=ConsoleReads(engine, notifier_engine), csrf=Csrf(secret, secure, clock),
        guesses=GuessLimiter(settings.link_guess_limit, settings.link_guess_window_s, clock),
        logins=GuessLimiter(settings.link_guess_limit, settings.link_guess_window_s, clock),
        auth=auth, templates=pages.templates(), clock=clock)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       max_age=settings.console_session_h * 3600, path="/ops",
                       same_site="strict", https_only=secure)
    app.add_exception_handler(Notice, notice_page)
    for router in (reply.router, sms.router, ops_login.router, ops_review.router,
                   ops_pin.router, ops_calls.router):
        app.include_router(router)
    if not settings.link_secret_list():
        log.warning("RESLOT_LINK_SECRETS is not set: reply links are off, /r answers 404")
    if not auth.enabled:
        log.warning("no console login is configured (RESLOT_CONSOLE_TOKEN, "
                    "RESLOT_CONSOLE_USERS or RESLOT_CONSOLE_PROXY_HEADER): /ops answers 404")
    return app
