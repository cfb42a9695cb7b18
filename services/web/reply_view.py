"""What the applicant's page shows, as plain values (the template only places them).

Two things decide it: what stands for the offer now (the offers row, read live), and, when
the page was opened on an answer it sent (`?event=`), what the scheduler said of that answer
(its reply_outcomes row): nothing yet, accepted, or refused with a reason.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from services.scheduler.domain.choice import SlotView
from services.web import texts
from services.web.events import utc_iso
from services.web.rows import Centre, Offer, Outcome
from services.web.texts import Language
from services.web.when import spoken

Tone = Literal["ok", "wait", "warn"]
PENDING_REFRESH_S = 2  # without the script, the page reloads itself until the answer is in


@dataclass(frozen=True)
class Alternative:
    value: str  # the slot's start, UTC ISO: what the form posts
    label: str  # the start in the applicant's words and the centre's time


@dataclass(frozen=True)
class Said:
    message: str
    tone: Tone
    actions: bool  # the three actions are offered


@dataclass(frozen=True)
class ReplyView:
    lang: Language
    token: str
    csrf: str
    centre: Centre
    reference: str
    old_when: str
    new_when: str
    deadline: str | None
    family: bool
    said: Said | None
    alternatives: list[Alternative] = field(default_factory=list)
    pending_event: str | None = None
    refresh_s: int = PENDING_REFRESH_S

    @property
    def rtl(self) -> bool:
        return self.lang == "ar"

    @property
    def t(self) -> dict[str, str]:
        return texts.TEXTS[self.lang]

    @property
    def actions(self) -> bool:
        return self.said is None or self.said.actions


def alternatives(slots: list[SlotView], lang: Language, centre: Centre) -> list[Alternative]:
    return [Alternative(utc_iso(s.start), spoken(s.start, lang, centre.timezone)) for s in slots]


def standing(offer: Offer, now: dt.datetime, lang: Language, centre: Centre) -> Said | None:
    """What stands for `offer` now; None while it waits for an answer (the actions)."""
    new_when = spoken(offer.to_start, lang, centre.timezone)
    say = texts.TEXTS[lang]
    if offer.state == "confirmed":
        return Said(say["confirmed"].format(when=new_when), "ok", False)
    if offer.state == "declined":
        return Said(say["will_call" if offer.wants == "call_me" else "cancelled"], "ok", False)
    if offer.state != "open":
        return Said(say["already_answered"], "ok", False)
    if offer.held or offer.reply_by is None:
        return Said(say["not_offered"], "warn", False)
    if now >= offer.reply_by:
        return Said(say["too_late"].format(when=new_when), "ok", False)
    return None


def changed_to(new: Offer, lang: Language, centre: Centre) -> Said:
    """The offer an accepted change made stands: its time, confirmed."""
    when = spoken(new.to_start, lang, centre.timezone)
    return Said(texts.TEXTS[lang]["changed"].format(when=when), "ok", False)


def answered(outcome: Outcome | None, now_standing: Said | None, lang: Language) -> Said | None:
    """What the page says of an answer it sent: waiting, accepted (what stands now), or
    refused and why (a slot just taken leaves the offer open: choose again)."""
    say = texts.TEXTS[lang]
    if outcome is None:
        return Said(say["pending"], "wait", False)
    if outcome.outcome == "accepted":
        return now_standing
    reason = outcome.reason if outcome.reason in say else "not_offered"
    if reason == "slot_taken":
        return Said(say["slot_taken"], "warn", now_standing is None)
    if reason == "already_answered" and now_standing is not None:
        return Said(f"{say['already_answered']} {now_standing.message}", "ok", False)
    return Said(say[reason], "warn", False)


def view(offer: Offer, centre: Centre, lang: Language, token: str, csrf: str,
         family: bool, said: Said | None, slots: list[SlotView],
         pending_event: str | None = None) -> ReplyView:
    reply_by = offer.reply_by if offer.reply_by and not offer.held else None
    return ReplyView(
        lang=lang, token=token, csrf=csrf, centre=centre, reference=offer.booking_id,
        old_when=spoken(offer.from_start, lang, centre.timezone),
        new_when=spoken(offer.to_start, lang, centre.timezone),
        deadline=spoken(reply_by, lang, centre.timezone) if reply_by else None,
        family=family, said=said,
        alternatives=alternatives(slots, lang, centre) if said is None or said.actions else [],
        pending_event=pending_event)
