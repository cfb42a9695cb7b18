"""Words the templates share: service names and the reason codes of the scheduler.

Every language has every key (a unit test checks it); an unknown code at run time falls back
to a generic text, never to a blank.
"""

SERVICES: dict[str, dict[str, str]] = {
    "fr": {
        "short_stay": "visa court séjour",
        "long_stay": "visa long séjour",
        "premium": "service premium",
    },
    "ar": {
        "short_stay": "تأشيرة الإقامة القصيرة",
        "long_stay": "تأشيرة الإقامة الطويلة",
        "premium": "الخدمة المميزة",
    },
    "en": {
        "short_stay": "short-stay visa",
        "long_stay": "long-stay visa",
        "premium": "premium service",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "fr": {
        "same_day": "Votre nouveau rendez-vous est le même jour.",
        "next_days": (
            "Aucun créneau n'était libre le même jour : nous vous avons réservé le plus proche."
        ),
        "deadline_kept": "Le nouveau rendez-vous reste compatible avec la date de votre voyage.",
        "deadline_missed": (
            "Nous n'avons pas trouvé de créneau assez tôt pour la date de votre voyage ; "
            "contactez-nous si ce rendez-vous ne vous convient pas."
        ),
        "moved_again": "Votre rendez-vous avait déjà été déplacé : voici le nouvel horaire.",
        "earlier_day": "Un créneau s'est libéré plus tôt : votre rendez-vous est avancé.",
        "from_waiting_list": (
            "Vous étiez sur liste d'attente : une place s'est libérée pour vous."
        ),
        "restored": "La fermeture a été levée : votre rendez-vous initial est rétabli.",
        "applicant_choice": "Voici l'horaire que vous avez choisi.",
        "ops_override": "Un conseiller a fixé ce nouvel horaire pour vous.",
        "no_capacity_in_horizon": "Aucun créneau n'est libre dans les semaines à venir.",
        "group_cannot_stay_together": (
            "Nous n'avons pas trouvé de créneaux permettant de recevoir votre famille ensemble."
        ),
    },
    "ar": {
        "same_day": "موعدك الجديد في اليوم نفسه.",
        "next_days": "لم يكن هناك موعد متاح في اليوم نفسه، فحجزنا لك أقرب موعد ممكن.",
        "deadline_kept": "يبقى الموعد الجديد مناسبًا لتاريخ سفرك.",
        "deadline_missed": (
            "لم نجد موعدًا مبكرًا بما يكفي لتاريخ سفرك؛ يُرجى الاتصال بنا إذا لم يناسبك هذا الموعد."
        ),
        "moved_again": "سبق أن تم تغيير موعدك: هذا هو الموعد المحدَّث.",
        "earlier_day": "توفّر موعد أبكر: تم تقديم موعدك.",
        "from_waiting_list": "كنت على قائمة الانتظار: توفّر لك مكان.",
        "restored": "رُفع الإغلاق: أُعيد موعدك الأصلي.",
        "applicant_choice": "هذا هو الموعد الذي اخترته.",
        "ops_override": "حدّد أحد مستشارينا هذا الموعد الجديد لك.",
        "no_capacity_in_horizon": "لا توجد مواعيد متاحة في الأسابيع القادمة.",
        "group_cannot_stay_together": "لم نجد مواعيد تسمح باستقبال أفراد عائلتك معًا.",
    },
    "en": {
        "same_day": "Your new appointment is on the same day.",
        "next_days": "No slot was free on the same day, so we booked the nearest one for you.",
        "deadline_kept": "The new appointment still fits your travel date.",
        "deadline_missed": (
            "We could not find a slot early enough for your travel date; "
            "please contact us if this appointment does not suit you."
        ),
        "moved_again": "Your appointment had already been moved: this is the updated time.",
        "earlier_day": "An earlier slot became free: your appointment has been brought forward.",
        "from_waiting_list": "You were on the waiting list: a place has become free for you.",
        "restored": "The closure was lifted: your original appointment is back.",
        "applicant_choice": "This is the time you chose.",
        "ops_override": "An adviser set this new time for you.",
        "no_capacity_in_horizon": "No slot is free in the coming weeks.",
        "group_cannot_stay_together": (
            "We could not find slots that let your family be seen together."
        ),
    },
}


def service_label(language: str, service: str) -> str:
    """The service in words; an unknown code is shown as words rather than dropped."""
    return SERVICES[language].get(service, service.replace("_", " "))


def reason_text(language: str, reason: str) -> str | None:
    """The sentence explaining a known reason code; None for a code we have no words for."""
    return REASONS[language].get(reason)
