"""services/common/failures.py: what a command says when it cannot start, one line each,
naming the setting and never a password."""

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError
from sqlalchemy.exc import NoSuchModuleError, OperationalError

from services.common.failures import SettingError, cannot_start, host_of, invalid_settings
from services.common.settings import Settings

URL = "postgresql+asyncpg://reslot:S3cretPw@db.example:5432/reslot"


def refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> ValidationError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return caught.value


def test_a_refused_setting_is_named_by_its_variable_and_its_value_not_repeated(
        monkeypatch: pytest.MonkeyPatch) -> None:
    said = invalid_settings(refused(monkeypatch, RESLOT_PARTITIONS="abc-S3cret",
                                    RESLOT_LOG_LEVEL="verbose"))
    assert said.startswith("invalid settings: ")
    assert "RESLOT_PARTITIONS: " in said
    assert "RESLOT_LOG_LEVEL: " in said
    assert "S3cret" not in said
    assert "verbose" not in said


def test_a_database_url_is_shown_without_its_user_and_password() -> None:
    assert host_of(URL) == "postgresql+asyncpg://db.example:5432/reslot"
    assert host_of("sqlite+aiosqlite:///var/reslot.db") == "sqlite+aiosqlite:///var/reslot.db"
    assert host_of("nonsense") == "(not a URL)"


def test_each_failure_to_reach_what_the_settings_name_is_one_line_without_password() -> None:
    cases = [
        KafkaConnectionError("Unable to bootstrap"),
        NoSuchModuleError("postgres"),
        ModuleNotFoundError("No module named 'psycopg'"),
        OperationalError("connect", {}, Exception('role "reslot" does not exist\nDETAIL')),
        ConnectionRefusedError(111, "Connect call failed"),
    ]
    for exc in cases:
        said = cannot_start(exc, URL, "kafka:9092")
        assert said is not None, exc
        assert "\n" not in said
        assert "S3cretPw" not in said
    assert "kafka:9092" in (cannot_start(cases[0], URL, "kafka:9092") or "")
    assert 'role "reslot" does not exist' in (cannot_start(cases[3], URL, None) or "")


def test_a_setting_refused_where_it_is_used_is_one_line() -> None:
    said = cannot_start(SettingError("RESLOT_COMMITMENT_WINDOWS: 'x' is not MM-DD..MM-DD"),
                        URL, None)
    assert said == "invalid settings: RESLOT_COMMITMENT_WINDOWS: 'x' is not MM-DD..MM-DD"


def test_a_bug_is_not_dressed_as_a_setting() -> None:
    for exc in (KeyError("x"), ValueError("y"), TimeoutError(), ModuleNotFoundError("numpy")):
        assert cannot_start(exc, URL, None) is None
