"""Knobs of the notifier process that Settings does not hold (RESLOT_NOTIFIER_ prefix)."""

import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifierOptions(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESLOT_NOTIFIER_", extra="ignore")

    instance_id: str = Field(
        default_factory=socket.gethostname,
        description="Owner name in the store; a restarted instance with the same id resumes its "
        "unfinished sends at once, others wait for the lease to run out.",
    )
    group_id: str = "reslot-notifier"
    lease_s: float = Field(default=30.0, gt=0, description="How long a claim outlives its owner.")
    sweep_interval_s: float = Field(default=1.0, gt=0)
    max_in_flight: int = Field(
        default=64,
        ge=1,
        description="Sends per instance between their attempt being counted and their outcome "
        "being recorded: at most this many can be sent twice after a crash.",
    )
    smtp_connections: int = Field(
        default=8, ge=1, description="Persistent SMTP sessions, each sending in turn."
    )
    sms_connections: int = Field(
        default=8,
        ge=1,
        description="Keep-alive connections to the SMS gateway, each in an httpx client of its "
        "own (a pool looks at each of its connections on every request).",
    )
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    sms_timeout_s: float = Field(default=10.0, gt=0)
