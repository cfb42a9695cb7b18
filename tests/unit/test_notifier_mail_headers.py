"""The e-mail channel's policies remember parsed and folded headers: what they write must be,
byte for byte, what the standard library's SMTP policies write without remembering."""

import datetime as dt
import email
import email.policy
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.channels import Outbound, mail
from services.notifier.channels.headers import SMTP, SMTPUTF8, MemoHeaderRegistry
from services.notifier.rendering import RenderedMessage

SENDER = "Reslot <no-reply@reslot.example>"
DATE = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)
LONG = "Votre rendez-vous au centre Capago Alger a été déplacé au jeudi 4 décembre 2025 à 09:00"
SUBJECTS = ["تم تغيير موعدك – Capago Alger", LONG, "Your appointment has moved", LONG + " (2)"]


def outbound(i: int, subject: str, address: str = "amel@example.dz",
             language: str = "fr") -> Outbound:
    message = RenderedMessage(language, subject, f"Bonjour {i},\nà bientôt = demain\n",
                              f"<p>Bonjour {i} = à bientôt</p>\n", "sms")
    return Outbound(f"n-{i}", f"Amel Benali {i}", address, message)


def cases() -> list[Outbound]:
    return [
        outbound(i, SUBJECTS[i % len(SUBJECTS)],
                 "amél@example.dz" if i % 5 == 4 else f"amel{i}@example.dz",
                 ("fr", "ar", "en")[i % 3])
        for i in range(12)
    ]


def test_the_bytes_are_what_the_uncached_policy_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    cached = [mail.compose_email(o, SENDER, DATE) for o in cases() * 2]  # hits the second time
    monkeypatch.setattr(mail, "SMTP", email.policy.SMTP)
    monkeypatch.setattr(mail, "SMTPUTF8", email.policy.SMTPUTF8)
    assert cached == [mail.compose_email(o, SENDER, DATE) for o in cases() * 2]


@pytest.mark.parametrize("sender", [
    "no-reply@reslot.example",
    "Réslot Algérie <no-reply@reslot.example>",
    '"Reslot, Alger" <no-reply@reslot.example>',
    "Réslot <nö-reply@reslot.example>",  # SMTPUTF8
])
def test_any_sender_is_written_as_the_uncached_policy_writes_it(
    sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, address = email.utils.parseaddr(sender)
    mailbox = mail.mailbox(name, address)  # From is set as its string, and folds the same
    for ours, theirs in ((SMTP, email.policy.SMTP), (SMTPUTF8, email.policy.SMTPUTF8)):
        assert ours.header_factory("From", str(mailbox)).fold(policy=ours) == \
            theirs.header_factory("From", mailbox).fold(policy=theirs)
    cached = [mail.compose_email(o, sender, DATE) for o in cases()[:3] * 2]
    monkeypatch.setattr(mail, "SMTP", email.policy.SMTP)
    monkeypatch.setattr(mail, "SMTPUTF8", email.policy.SMTPUTF8)
    assert cached == [mail.compose_email(o, sender, DATE) for o in cases()[:3] * 2]


def test_two_subjects_each_fold_to_their_own_text() -> None:
    first, second = (mail.compose_email(outbound(1, s), SENDER, DATE) for s in SUBJECTS[:2])
    subjects = [email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
                for raw in (first, second)]
    assert subjects == SUBJECTS[:2]
    again = mail.compose_email(outbound(1, SUBJECTS[0]), SENDER, DATE)
    assert again == first  # a remembered subject writes the same bytes


@given(subject=st.text(max_size=120).filter(lambda t: t.strip() and t.isprintable()),
       name=st.text(max_size=40).filter(str.isprintable))
def test_any_subject_and_name_match_the_uncached_policy(subject: str, name: str) -> None:
    message = Outbound("n-9", name, "amel@example.dz",
                       RenderedMessage("ar", subject, "texte\n", "<p>html</p>\n", "sms"))
    cached = mail.compose_email(message, SENDER, DATE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mail, "SMTP", email.policy.SMTP)
        patch.setattr(mail, "SMTPUTF8", email.policy.SMTPUTF8)
        assert cached == mail.compose_email(message, SENDER, DATE)


def test_a_header_is_made_once_per_name_and_value_and_the_cache_is_bounded() -> None:
    registry = MemoHeaderRegistry(size=2)
    subject = registry("Subject", "Bonjour")
    assert registry("Subject", "Bonjour") is subject
    for n in range(5):  # new values of another name push out none of this one's
        registry("Message-ID", f"<n-{n}@reslot>")
    assert registry("Subject", "Salut") is not subject
    assert registry("subject", "Bonjour") is not subject  # the name is written as given
    assert registry("Subject", "Bonjour") is subject
    registry("Subject", "Salut")
    registry("Subject", "Hello")
    assert registry("Subject", "Bonjour") is not subject  # pushed out by the two after it
    assert type(registry("To", "a@b.c")) is type(registry("To", "d@e.f"))


def test_a_remembered_fold_is_only_used_for_its_own_policy() -> None:
    header = MemoHeaderRegistry()("Subject", LONG)
    narrow = email.policy.SMTP.clone(max_line_length=40)
    assert header.fold(policy=SMTP) == email.policy.SMTP.header_factory(
        "Subject", LONG).fold(policy=email.policy.SMTP)
    assert header.fold(policy=narrow) == email.policy.SMTP.header_factory(
        "Subject", LONG).fold(policy=narrow)
    assert header.fold(policy=narrow) != header.fold(policy=SMTP)


def test_the_policies_are_the_standard_ones_and_an_unchanged_clone_is_itself() -> None:
    assert SMTP.clone(linesep="\r\n") is SMTP  # what the generator does for every part
    assert SMTP.clone(utf8=True) is not SMTP
    for ours, theirs in ((SMTP, email.policy.SMTP), (SMTPUTF8, email.policy.SMTPUTF8)):
        assert {k: v for k, v in vars(ours).items() if k != "header_factory"} == {
            k: v for k, v in vars(theirs).items() if k != "header_factory"}
    assert SMTPUTF8.header_factory is SMTP.header_factory
