"""What the applicant's page says, in French, Arabic and English.

Every sentence the page shows is here, keyed by what it is for; `{when}` is a time already
written in the language (when.py), `{centre}` the centre's name. A language the page does
not know falls back to French, the language of the centres' messages.
"""

from typing import Literal

Language = Literal["fr", "ar", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "ar", "en")

TEXTS: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Votre rendez-vous",
        "intro": "Votre rendez-vous au centre {centre} a dû être déplacé à cause d'une "
                 "interruption de service.",
        "old": "Ancien horaire",
        "new": "Nouvel horaire",
        "where": "Adresse",
        "deadline": "Merci de répondre avant le {when}. Sans réponse, le nouvel horaire est "
                    "confirmé.",
        "family": "Les rendez-vous de votre famille sont déplacés ensemble.",
        "confirm": "Je confirme ce nouvel horaire",
        "change": "Choisir un autre horaire",
        "pick": "Choisir cet horaire",
        "none_free": "Aucun autre horaire n'est libre pour le moment.",
        "decline": "Je ne peux pas venir",
        "cancel": "Annuler mon rendez-vous",
        "call_me": "Je souhaite être appelé(e) par le centre",
        "pending": "Nous avons reçu votre réponse. Confirmation en cours…",
        "slow": "Votre réponse est en cours de traitement. Rechargez la page dans un instant.",
        "failed": "Votre réponse n'a pas pu être enregistrée. Merci de réessayer dans un "
                  "instant.",
        "confirmed": "Votre rendez-vous est confirmé : {when}.",
        "changed": "Votre nouvel horaire est confirmé : {when}.",
        "cancelled": "Votre rendez-vous est annulé.",
        "will_call": "Le centre va vous appeler.",
        "slot_taken": "Désolé, cet horaire vient d'être pris. Merci d'en choisir un autre.",
        "superseded": "Une décision plus récente a remplacé cette proposition. Utilisez le "
                      "lien de votre dernier message.",
        "already_answered": "Cette proposition a déjà reçu une réponse.",
        "not_offered": "Cette proposition n'est pas ouverte aux réponses.",
        "too_late": "Le délai de réponse est passé : votre rendez-vous est maintenu le {when}.",
        "reference": "Référence",
    },
    "ar": {
        "title": "موعدك",
        "intro": "اضطررنا إلى تغيير موعدك في مركز {centre} بسبب انقطاع في الخدمة.",
        "old": "الموعد السابق",
        "new": "الموعد الجديد",
        "where": "العنوان",
        "deadline": "يرجى الرد قبل {when}. إذا لم تردّ، يُعتبر الموعد الجديد مؤكَّدًا.",
        "family": "تُنقل مواعيد أفراد عائلتك معًا.",
        "confirm": "أؤكد هذا الموعد الجديد",
        "change": "اختيار موعد آخر",
        "pick": "اختيار هذا الموعد",
        "none_free": "لا يوجد موعد آخر متاح حاليًا.",
        "decline": "لا أستطيع الحضور",
        "cancel": "إلغاء موعدي",
        "call_me": "أرغب في أن يتصل بي المركز",
        "pending": "تلقّينا ردّك. جارٍ التأكيد…",
        "slow": "ردّك قيد المعالجة. أعد تحميل الصفحة بعد قليل.",
        "failed": "تعذّر تسجيل ردّك. يرجى المحاولة مرة أخرى بعد قليل.",
        "confirmed": "تم تأكيد موعدك: {when}.",
        "changed": "تم تأكيد موعدك الجديد: {when}.",
        "cancelled": "تم إلغاء موعدك.",
        "will_call": "سيتصل بك المركز.",
        "slot_taken": "عذرًا، لقد حُجز هذا الموعد للتو. يرجى اختيار موعد آخر.",
        "superseded": "حلّ قرار أحدث محلّ هذا العرض. استخدم الرابط الوارد في آخر رسالة وصلتك.",
        "already_answered": "تم الرد على هذا العرض من قبل.",
        "not_offered": "هذا العرض غير مفتوح للرد.",
        "too_late": "انتهت مهلة الرد: يبقى موعدك في {when}.",
        "reference": "المرجع",
    },
    "en": {
        "title": "Your appointment",
        "intro": "Your appointment at {centre} had to be moved because of a service "
                 "interruption.",
        "old": "Previous time",
        "new": "New time",
        "where": "Address",
        "deadline": "Please answer before {when}. Without an answer, the new time is "
                    "confirmed.",
        "family": "Your family's appointments move together.",
        "confirm": "I confirm the new time",
        "change": "Choose another time",
        "pick": "Choose this time",
        "none_free": "No other time is free right now.",
        "decline": "I cannot come",
        "cancel": "Cancel my appointment",
        "call_me": "Please call me",
        "pending": "We have received your answer. Confirming…",
        "slow": "Your answer is being processed. Reload the page in a moment.",
        "failed": "Your answer could not be recorded. Please try again in a moment.",
        "confirmed": "Your appointment is confirmed: {when}.",
        "changed": "Your new time is confirmed: {when}.",
        "cancelled": "Your appointment is cancelled.",
        "will_call": "The centre will call you.",
        "slot_taken": "Sorry, this time was just taken. Please choose another one.",
        "superseded": "A newer decision replaced this offer. Please use the link in your "
                      "latest message.",
        "already_answered": "This offer has already been answered.",
        "not_offered": "This offer is not open to answers.",
        "too_late": "The time to answer has passed: your appointment stays on {when}.",
        "reference": "Reference",
    },
}

# The pages shown before anyone is known (a bad or expired link): all three languages.
NOTICES: dict[str, dict[Language, str]] = {
    "bad_link": {
        "fr": "Ce lien n'est pas valide. Utilisez le lien de votre message, sans le modifier.",
        "ar": "هذا الرابط غير صالح. استخدم الرابط الوارد في رسالتك دون تعديله.",
        "en": "This link is not valid. Please use the link in your message, unchanged.",
    },
    "expired": {
        "fr": "Ce lien a expiré. Pour toute question, contactez votre centre.",
        "ar": "انتهت صلاحية هذا الرابط. لأي سؤال، اتصل بمركزك.",
        "en": "This link has expired. For any question, please contact your centre.",
    },
    "too_many": {
        "fr": "Trop de tentatives. Merci de réessayer plus tard.",
        "ar": "محاولات كثيرة جدًا. يرجى المحاولة لاحقًا.",
        "en": "Too many attempts. Please try again later.",
    },
    "superseded": {
        "fr": "Une décision plus récente a remplacé cette proposition. Utilisez le lien de "
              "votre dernier message.",
        "ar": "حلّ قرار أحدث محلّ هذا العرض. استخدم الرابط الوارد في آخر رسالة وصلتك.",
        "en": "A newer decision replaced this offer. Please use the link in your latest "
              "message.",
    },
    "bad_form": {
        "fr": "Ce formulaire a expiré. Rouvrez le lien de votre message.",
        "ar": "انتهت صلاحية هذا النموذج. أعد فتح الرابط الوارد في رسالتك.",
        "en": "This form has expired. Please open the link in your message again.",
    },
}


def language_of(value: str | None) -> Language:
    """The page's language for a booking's language code."""
    for language in LANGUAGES:
        if value == language:
            return language
    return "fr"


def text(language: Language, key: str, **values: str) -> str:
    return TEXTS[language][key].format(**values)
