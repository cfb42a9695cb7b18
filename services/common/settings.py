"""Settings, read once from the environment at start-up and passed to what needs them."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Where the broker is and how to talk to it; unset bootstrap = start the local broker."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str | None = Field(default=None, description="host:port[,host:port]")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = Field(default=None, description="CA bundle to verify the broker.")
    ssl_certfile: str | None = Field(default=None, description="Client certificate (mTLS).")
    ssl_keyfile: str | None = Field(default=None, description="Client key (mTLS).")


class Settings(BaseSettings):
    """Every knob of Reslot; names are the environment variables (RESLOT_ prefix)."""

    model_config = SettingsConfigDict(env_prefix="RESLOT_", extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database_url: str = "sqlite+aiosqlite:///var/reslot.db"
    notifier_database_url: str | None = Field(
        default=None, description="Notifier store; default: next to the scheduler's."
    )
    partitions: int = Field(default=6, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1)
    http_port: int = Field(default=8080, ge=0, le=65535)
    api_token: SecretStr | None = None
    public_url: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = Field(
        default="http://127.0.0.1:8080", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Base of the links put in messages (the applicant's page), as the "
                    "applicant's browser reaches the web front.")
    log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error|critical)$")
    log_format: Literal["json", "console"] = "json"

    # Rescheduling policy (CONTRACT.md): each figure a setting with this default.
    horizon_days: int = Field(default=30, ge=1)
    processing_days: int = Field(default=15, ge=0)
    group_window_min: int = Field(default=30, ge=0)
    default_notice_min: int = Field(default=1440, ge=0)
    unplaced_penalty: int = Field(default=100_000, ge=1)
    day_change_penalty: int = Field(default=240, ge=0)
    late_day_penalty: int = Field(default=1440, ge=0)
    default_slot_min: int = Field(default=15, ge=1, description="Booking in an unknown slot.")
    solver_time_limit_s: float = Field(default=2.0, gt=0)
    solver_workers: int = Field(default=1, ge=1)

    # v1.1 policy (CONTRACT.md "v1.1"): the living calendar, officials' commitment windows.
    waiting_horizon_days: int = Field(default=60, ge=1)
    restore_notice_min: int = Field(default=2880, ge=0)
    advice_day_share: float = Field(default=0.25, gt=0, le=1)
    processing_days_uncommitted: int = Field(default=30, ge=0)
    commitment_windows: str = Field(
        default="01-01..04-30,10-01..12-01",
        description="Local dates (MM-DD..MM-DD, inclusive) where an official's processing "
                    "takes processing_days; outside them processing_days_uncommitted.")
    fairness_day_penalty: int = Field(default=2880, ge=0)
    alternatives: int = Field(default=5, ge=0, le=50)
    reply_window_h: int = Field(default=48, ge=1)
    reply_before_slot_h: int = Field(default=24, ge=0)
    review_centres: str = Field(
        default="", description="Centres whose plans are held for review: '', 'a,b' or '*'.")

    # v1.1 replies and the console: secrets come from here only, and are never logged.
    link_secrets: SecretStr | None = Field(
        default=None, description="Comma-separated HMAC secrets of reply links: the first "
                                  "signs, all verify (rotation). Unset: messages carry no link.")
    link_days_after_slot: int = Field(default=1, ge=0, description="A link works until then.")
    retain_past_days: int = Field(
        default=30, ge=2, description="Scheduler: bookings (their applicants' contacts too) and "
        "slots are dropped this many days after their day, unless still waiting for a place.")
    reply_dedupe_days: int = Field(
        default=30, ge=1,
        description="Scheduler: how long the id of a folded reply or operator's act is kept, "
                    "so that a copy of it (a redelivery, a replay) changes nothing; keep it "
                    "longer than the retention of visa.replies.v1.")
    console_token: SecretStr | None = Field(
        default=None, description="Bearer token (or login password) of the operations console.")
    console_users: SecretStr | None = Field(
        default=None, description="Basic-auth operators of the console: 'name:password,...'.")
    console_proxy_header: str | None = Field(
        default=None, description="Behind an OIDC proxy: the header naming the operator, e.g. "
                                  "X-Forwarded-Email (trusted: set only behind the proxy).")
    sms_inbound_token: SecretStr | None = Field(
        default=None, description="Bearer token the SMS gateway posts inbound messages with.")

    # The web front (services/web): its own secret, the console's session, token guesses.
    web_secret: SecretStr | None = Field(
        default=None, description="Signs the console's session cookie and the forms' CSRF "
                                  "tokens; the same on every replica. Unset: a random one per "
                                  "process (sessions end when it restarts).")
    console_session_h: int = Field(default=12, ge=1, le=24 * 30,
                                   description="A console login lasts this long.")
    link_guess_limit: int = Field(
        default=20, ge=1, description="Bad reply links one client address may try per "
                                      "window before it is answered 429.")
    link_guess_window_s: int = Field(default=900, ge=1)

    # Consumption and the outbox.
    batch_max_records: int = Field(
        default=5000, ge=1,
        description="Most records applied (scheduler) or claimed (notifier) per transaction.")
    outbox_batch: int = Field(
        default=5000, ge=1,
        description="Scheduler: outbox rows the relay publishes per round (a read, a publish "
                    "acknowledged, a delete). At 1,000 the relay fell 2.5 s behind a "
                    "portal-wide outage's plans (bench (f)).")
    lanes: int = Field(
        default=8, ge=1, le=64,
        description="Scheduler: groups of partitions applied concurrently (partition mod "
                    "lanes; at most one per partition), so a long plan holds up only the "
                    "centres of its own lane.")
    fetch_max_wait_ms: int = Field(
        default=25, ge=1, le=10_000,
        description="Scheduler: the longest a fetch waits at the broker for new records. "
                    "Apache Kafka answers as soon as records arrive; the local broker only "
                    "at this deadline, so it bounds the latency of a reply from below.")
    reply_tick_s: float = Field(
        default=5.0, gt=0, description="Scheduler: how often offers past reply_by are "
                                       "looked for (then confirmed with channel timeout).")
    graceful_timeout_s: float = Field(default=15.0, gt=0)

    # Notifier.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "Reslot <no-reply@reslot.example>"
    sms_url: str = "http://127.0.0.1:8025/sms"
    sms_token: SecretStr | None = None
    send_max_attempts: int = Field(default=6, ge=1)
    send_backoff_base_s: float = Field(default=0.5, gt=0)
    send_backoff_max_s: float = Field(default=30.0, gt=0)
    quiet_hours_start: int = Field(default=21, ge=0, le=23, description="Local hour, no SMS.")
    quiet_hours_end: int = Field(default=8, ge=0, le=23, description="Local hour SMS resume.")
    sms_rate_per_s: float = Field(default=20.0, gt=0)
    email_rate_per_s: float = Field(default=50.0, gt=0)

    def link_secret_list(self) -> list[str]:
        """The reply-link secrets, the signing one first; empty when links are off."""
        raw = self.link_secrets.get_secret_value() if self.link_secrets else ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    def in_review(self, centre_id: str) -> bool:
        """Whether `centre_id`'s plans are held for an operator's approval."""
        names = {part.strip() for part in self.review_centres.split(",") if part.strip()}
        return "*" in names or centre_id in names

    def notifier_db(self) -> str:
        if self.notifier_database_url:
            return self.notifier_database_url
        if self.database_url.startswith("sqlite") and self.database_url.endswith(".db"):
            return self.database_url[: -len(".db")] + "-notifier.db"
        return self.database_url
