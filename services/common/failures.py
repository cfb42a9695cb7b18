"""What a `reslot` command says when it cannot start: one line naming the setting and the
cause, never a page of traceback, never a password.

A pod whose broker or database is not there yet restarts until it is; an operator who typed
RESLOT_PARTITIONS=abc reads what to fix. The traceback is still logged at DEBUG.
"""

from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError


class SettingError(ValueError):
    """A setting whose value parses but cannot be used (checked where it is used, e.g. the
    commitment windows); the message starts with the variable's name."""


# Settings models' environment prefixes, by the first element of an error's location.
PREFIXES = {"kafka": "KAFKA_"}
EXIT_CODE = 2


def invalid_settings(exc: ValidationError) -> str:
    """Each field refused, by its environment variable; the values are not repeated (one may
    be a secret)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error["loc"]]
        prefix = PREFIXES.get(loc[0], "RESLOT_") if len(loc) > 1 else "RESLOT_"
        name = (prefix + loc[-1]).upper() if loc else "settings"
        parts.append(f"{name}: {error['msg']}")
    return "invalid settings: " + "; ".join(parts)


def host_of(url: str) -> str:
    """A database URL without what comes before the host (user and password)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if rest else "(not a URL)"


def cannot_start(exc: BaseException, database_url: str, bootstrap: str | None) -> str | None:
    """One line for a failure to reach or use what the settings name; None for anything
    else (a bug: its traceback is what helps)."""
    if isinstance(exc, ValidationError):
        return invalid_settings(exc)
    if isinstance(exc, SettingError):
        return f"invalid settings: {_first_line(exc)}"
    if isinstance(exc, KafkaConnectionError):
        return f"cannot reach the Kafka broker at {bootstrap or '(unset)'}: {exc}"
    if isinstance(exc, NoSuchModuleError | ArgumentError) or (
            isinstance(exc, ModuleNotFoundError) and "psycopg" in str(exc)):
        return (f"RESLOT_DATABASE_URL {host_of(database_url)} is not one we can use: "
                "postgresql+asyncpg://... or sqlite+aiosqlite:///...")
    if isinstance(exc, DBAPIError):
        return f"cannot use the database at {host_of(database_url)}: {_first_line(exc.orig)}"
    if isinstance(exc, ConnectionError):  # refused before any driver wrapped it
        return (f"cannot connect (database {host_of(database_url)}, broker "
                f"{bootstrap or '(unset)'}): {_first_line(exc)}")
    return None


def _first_line(exc: BaseException | None) -> str:
    text = str(exc) if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__
