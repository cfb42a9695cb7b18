"""The web front's pure rules: SMS keywords, the call list, guesses, CSRF tokens, operators,
event ids."""

import base64
import datetime as dt

import pytest
from pydantic import SecretStr
from starlette.requests import Request

from services.common.ids import derived_id
from services.common.settings import Settings
from services.web import events as ev
from services.web.calllist import (
    Entry,
    LastCall,
    Need,
    as_csv,
    every_channel_failed,
    open_needs,
)
from services.web.csrf import COOKIE, Csrf
from services.web.family import outage_clock
from services.web.guesses import GuessLimiter
from services.web.operators import TOKEN_OPERATOR, ConsoleAuth
from services.web.sms import Keyword, chosen, parse

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


# -- SMS keywords ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1", "OK", "ok", " Oui ", "OUI!", "نعم", "١", "Ok."])
def test_the_forms_of_yes_confirm(text: str) -> None:
    assert parse(text) == Keyword("confirm")


def test_a_reply_code_after_yes_or_two_picks_one_offer() -> None:
    assert parse("1 k7pq2m") == Keyword("confirm", "K7PQ2M")
    assert parse("2 K7PQ2M") == Keyword("link", "K7PQ2M")
    assert parse("٢") == Keyword("link")


@pytest.mark.parametrize("text", ["", "  ", "3", "yes please", "1 K0O1I", "1 a b", "OKAY",
                                  "1 ab", "oui non merci"])
def test_anything_else_is_help(text: str) -> None:
    assert parse(text) == Keyword("help")


def test_chosen_offers_by_code_else_all() -> None:
    codes = {"a": {"AAAA", "OLD1"}, "b": {"BBBB"}}
    assert chosen(["a", "b"], None, codes.__getitem__) == ["a", "b"]
    assert chosen(["a", "b"], "OLD1", codes.__getitem__) == ["a"]  # a retired secret's code
    assert chosen(["a", "b"], "ZZZZ", codes.__getitem__) == []


# -- the call list ---------------------------------------------------------------------------

def test_a_resolving_call_covers_the_reasons_before_it_and_those_undated() -> None:
    needs = [Need("waiting", None), Need("failed", T0), Need("call_me", T0 + dt.timedelta(1))]
    call = LastCall(T0 + dt.timedelta(hours=1), "resolved", "nadia")
    assert open_needs(needs, call) == (Need("call_me", T0 + dt.timedelta(1)),)
    assert open_needs(needs, LastCall(call.at, "no_answer", "nadia")) == tuple(needs)
    assert open_needs(needs, None) == tuple(needs)


def test_every_channel_failed_needs_one_delivery_at_least_and_no_success() -> None:
    assert every_channel_failed(["failed", "failed"])
    assert not every_channel_failed(["failed", "delivered"])
    assert not every_channel_failed(["failed", "sending"])
    assert not every_channel_failed([])


def test_the_csv_has_a_header_and_no_formula_from_a_name() -> None:
    entry = Entry("c", "B-1", "=HYPERLINK(1)", "+213555000111", "ar",
                  (Need("waiting", None), Need("failed", None)), "Africa/Algiers",
                  LastCall(T0, "no_answer", "omar"))
    lines = as_csv([entry]).splitlines()
    assert lines[0] == "centre,booking,name,phone,language,why,last_call"
    assert lines[1] == ("c,B-1,'=HYPERLINK(1),+213555000111,ar,"
                        '"waiting for a place, every message failed",no_answer by omar')


# -- guesses ---------------------------------------------------------------------------------

def test_guesses_are_limited_per_address_within_the_window() -> None:
    clock = Clock()
    limiter = GuessLimiter(limit=2, window_s=60, clock=clock)
    limiter.missed("a")
    assert not limiter.blocked("a")
    limiter.missed("a")
    assert limiter.blocked("a")
    assert not limiter.blocked("b")
    assert limiter.retry_after_s("a") == 61
    clock.now = T0 + dt.timedelta(seconds=60)
    assert not limiter.blocked("a")
    assert limiter.retry_after_s("a") == 0


# -- CSRF ------------------------------------------------------------------------------------

def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def test_a_csrf_token_holds_for_its_nonce_scope_and_time() -> None:
    clock = Clock()
    csrf = Csrf("secret", secure=False, clock=clock)
    issued = csrf.issue(request_with(None), "reply")
    assert issued.new_nonce is not None
    browser = request_with(issued.new_nonce)
    assert csrf.valid(browser, issued.token, "reply")
    assert not csrf.valid(browser, issued.token, "console")  # another form's scope
    assert not csrf.valid(request_with("x" * 24), issued.token, "reply")  # another browser
    assert not csrf.valid(request_with(None), issued.token, "reply")
    assert not csrf.valid(browser, issued.token + "x", "reply")
    assert not Csrf("other", False, clock).valid(browser, issued.token, "reply")
    again = csrf.issue(browser, "reply")
    assert again.new_nonce is None  # the browser keeps its nonce
    clock.now = T0 + dt.timedelta(hours=13)
    assert not csrf.valid(browser, issued.token, "reply")  # a form left open too long


# -- operators -------------------------------------------------------------------------------

def console_request(headers: dict[str, str]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/ops",
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})


def test_operators_come_from_settings_only() -> None:
    auth = ConsoleAuth.of(Settings(console_token=SecretStr("tok"),
                                   console_users=SecretStr("nadia:pw1, omar:p:w2,bad"),
                                   console_proxy_header="X-User"))
    assert auth.users == {"nadia": "pw1", "omar": "p:w2"}
    basic = base64.b64encode(b"omar:p:w2").decode()
    assert auth.operator(console_request({"Authorization": f"Basic {basic}"})) == "omar"
    assert auth.operator(console_request({"Authorization": "Bearer tok"})) == TOKEN_OPERATOR
    assert auth.operator(console_request({"Authorization": "Bearer no"})) is None
    assert auth.operator(console_request({"Authorization": "Basic !!"})) is None
    assert auth.operator(console_request({"X-User": "lina"})) == "lina"
    assert auth.login("nadia", "pw1") == ("nadia", "user")
    assert auth.login("nadia", "pw2") is None
    assert auth.login("someone", "tok") == ("someone", "token")  # the token names no one
    assert auth.login("", "tok") is None
    assert not ConsoleAuth.of(Settings()).enabled


def session_request(session: dict[str, str]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/ops", "headers": [],
                    "session": session})


def test_a_session_ends_when_the_settings_it_signed_in_under_no_longer_allow_it() -> None:
    both = ConsoleAuth.of(Settings(console_token=SecretStr("tok"),
                                   console_users=SecretStr("nadia:pw1")))
    omar_left = ConsoleAuth.of(Settings(console_token=SecretStr("tok"),
                                        console_users=SecretStr("omar:pw2")))
    no_token = ConsoleAuth.of(Settings(console_users=SecretStr("nadia:pw1")))
    by_user = session_request({"operator": "nadia", "via": "user"})
    by_token = session_request({"operator": "lina", "via": "token"})
    assert both.operator(by_user) == "nadia"
    assert both.operator(by_token) == "lina"
    assert omar_left.operator(by_user) is None  # nadia was taken out of the users
    assert no_token.operator(by_token) is None  # the token that let lina in is unset
    assert both.operator(session_request({"operator": "nadia"})) is None  # how, unknown


# -- event ids -------------------------------------------------------------------------------

def test_reply_ids_are_derived_from_what_caused_them() -> None:
    offer = ev.OfferKey("7d0f5c8e-0000-0000-0000-000000000001", "B-1", "c")
    start = dt.datetime(2026, 3, 3, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert ev.confirmed(offer, T0).id == derived_id("reply", offer.offer_id, "confirmed")
    assert ev.confirmed(offer, T0 + dt.timedelta(1)).id == ev.confirmed(offer, T0).id
    assert ev.changed(offer, start, T0).id == \
        derived_id("reply", offer.offer_id, "changed", "2026-03-03T10:00:00+00:00")
    assert ev.declined(offer, "cancel", T0).id != ev.declined(offer, "call_me", T0).id
    assert ev.confirmed(offer, T0, "sms", "in-1").id == derived_id("sms", "in-1",
                                                                  offer.offer_id)
    assert ev.approved("p", "c", "nadia", T0).id == derived_id("approve", "p")
    assert ev.pinned("c", "B-1", "p1", start, "nadia", T0).id != \
        ev.pinned("c", "B-1", "p2", start, "nadia", T0).id  # a new decision, a new pin


def test_the_notice_counts_from_the_outages_latest_announcement() -> None:
    record = {"announced": "2026-02-27T12:00:00+00:00", "revised": "2026-03-01T10:00:00+00:00"}
    assert outage_clock(record) == dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert outage_clock({"announced": "2026-02-27T12:00:00+00:00", "revised": None}) == \
        dt.datetime(2026, 2, 27, 12, 0, tzinfo=dt.UTC)
    assert outage_clock(None) is None
