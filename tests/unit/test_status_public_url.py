"""RESLOT_PUBLIC_URL: the base of the links put in messages."""

import pytest
from pydantic import ValidationError

from services.common.settings import Settings


def test_default_is_the_local_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESLOT_PUBLIC_URL", raising=False)
    assert Settings().public_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(("given", "kept"), [
    ("https://reslot.example.dz", "https://reslot.example.dz"),
    ("https://reslot.example.dz/", "https://reslot.example.dz"),
    ("https://example.dz/reslot/", "https://example.dz/reslot"),
    ("http://127.0.0.1:8084", "http://127.0.0.1:8084"),
])
def test_read_from_the_environment_without_a_trailing_slash(
        monkeypatch: pytest.MonkeyPatch, given: str, kept: str) -> None:
    monkeypatch.setenv("RESLOT_PUBLIC_URL", given)
    assert Settings().public_url == kept


@pytest.mark.parametrize("bad", ["reslot.example.dz", "javascript:alert(1)", "ftp://x",
                                 "https://x.dz/?next=evil", "https:// x.dz"])
def test_anything_but_an_http_base_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("RESLOT_PUBLIC_URL", bad)
    with pytest.raises(ValidationError):
        Settings()
