"""Intent detection: every intent in English and Italian, precedence, negation and look-alikes."""

from __future__ import annotations

import pytest

from sportello_priority.intents import INTENT_NAMES, detect_intent
from sportello_priority.sentiment import SentimentProbs

NEGATIVE = SentimentProbs(negative=0.7, neutral=0.2, positive=0.1)
POSITIVE = SentimentProbs(negative=0.05, neutral=0.15, positive=0.8)


@pytest.mark.parametrize(("text", "intent"), [
    # English
    ("The parcel arrived smashed and your agent was rude. Unacceptable.", "complaint"),
    ("Can I change the name on my booking?", "question"),
    ("how do i update my billing address", "question"),
    ("Huge thanks to Marco, he sorted everything in five minutes!", "praise"),
    ("How much is the fibre plan for a new customer?", "lead"),
    ("Do you ship to Norway?", "lead"),
    ("Is your website down? Can't log in since this morning", "outage"),
    ("No signal at all in Leeds city centre", "outage"),
    ("Cancel my subscription. I'm done.", "cancellation_threat"),
    ("If this isn't fixed by Friday I'm switching to Vodafone", "cancellation_threat"),
    ("Never flying with you again", "cancellation_threat"),
    ("My solicitor will be taking this to small claims court", "legal_threat"),
    ("Reporting you to Trading Standards and the FCC", "legal_threat"),
    ("You lot are a bunch of useless idiots", "abusive"),
    ("Follow back? I always follow back 🔥", "spam"),
    ("Earn $500 a day from home with this crypto bot, DM me", "spam"),
    ("https://bit.ly/3xYz9Q", "spam"),
    ("ok", "other"),
    # Italian
    ("Mi avete addebitato due volte la stessa bolletta, vergognoso", "complaint"),
    ("A che ora apre il negozio di Torino il sabato?", "question"),
    ("Come faccio a cambiare l'indirizzo di fatturazione", "question"),
    ("Grazie mille a Giulia, gentilissima e velocissima!", "praise"),
    ("Quanto costa l'abbonamento annuale?", "lead"),
    ("Vorrei attivare la fibra nella nuova casa", "lead"),
    ("Non funziona internet, siamo senza linea", "outage"),
    ("L'app è giù? Disservizio in tutta la zona", "outage"),
    ("Voglio disdire il contratto, mando la disdetta", "cancellation_threat"),
    ("Se non risolvete passo a Iliad", "cancellation_threat"),
    ("Ho contattato un avvocato, riceverete una diffida", "legal_threat"),
    ("Vi segnalo al Codacons e all'Agcom, procederò per vie legali", "legal_threat"),
    ("Vaffanculo voi e le vostre offerte", "abusive"),
    ("Branco di idioti, imparate a lavorare", "abusive"),
    ("Guadagna 300 euro al giorno con il trading, scrivimi in privato", "spam"),
    ("Buongiorno", "other"),
])
def test_each_intent_in_english_and_italian(text: str, intent: str) -> None:
    assert detect_intent(text).name == intent


def test_every_intent_name_is_covered_above() -> None:
    assert set(INTENT_NAMES) == {
        "complaint", "question", "praise", "lead", "outage", "cancellation_threat", "legal_threat", "abusive",
        "spam", "other",
    }


def test_accents_apostrophes_and_case_do_not_matter() -> None:
    for text in ("L'APP È GIÙ", "l'app e giu", "L\u2019app è giù"):
        assert detect_intent(text).name == "outage"
    assert detect_intent("I cant log in").name == detect_intent("I can\u2019t log in").name == "outage"


class TestPrecedenceAndMultipleIntents:
    def test_a_complaint_that_threatens_to_leave_is_named_a_cancellation_threat_and_lists_both(self) -> None:
        result = detect_intent("Worst service ever, I'm cancelling my contract and switching to Sky")
        assert result.name == "cancellation_threat"
        assert {"cancellation_threat", "complaint"} <= set(result.all)

    def test_legal_beats_outage_beats_cancellation(self) -> None:
        assert detect_intent("Internet down for a week, I'm cancelling my contract and calling my lawyer").name \
            == "legal_threat"
        assert detect_intent("Internet not working again, I'm cancelling my contract").name == "outage"

    def test_a_directed_insult_is_routed_as_abuse_but_swearing_in_a_complaint_stays_a_complaint(self) -> None:
        insult = detect_intent("You idiots lost my luggage")
        assert insult.name == "abusive" and "complaint" in insult.all
        swearing = detect_intent("Worst fucking airline, they lost my luggage", NEGATIVE)
        assert swearing.name == "complaint" and "abusive" in swearing.all

    def test_swearing_in_a_happy_message_is_not_abuse(self) -> None:
        assert "abusive" not in detect_intent("holy shit that was fast, thank you!", POSITIVE).all

    def test_a_lead_asked_as_a_question_is_a_lead(self) -> None:
        result = detect_intent("Do you deliver to the Canary Islands?")
        assert result.name == "lead" and "question" in result.all

    def test_thanks_at_the_end_of_a_question_is_politeness(self) -> None:
        assert detect_intent("Where can I find my invoice number? Thanks!").name == "question"

    def test_all_is_strongest_first_and_name_is_in_it(self) -> None:
        result = detect_intent("Still no refund after 3 weeks, this is a joke. I'm taking this to small claims")
        assert result.name == "legal_threat" and result.name in result.all
        assert len(set(result.all)) == len(result.all)

    def test_confidence_is_a_probability_and_cues_explain_it(self) -> None:
        result = detect_intent("Vi denuncio all'Agcom")
        assert 0.0 <= result.confidence <= 1.0
        assert "agcom" in result.cues and all(len(cue) < 60 for cue in result.cues)


class TestSentiment:
    def test_negative_with_no_cue_is_a_complaint(self) -> None:
        assert detect_intent("my order is late", None).name == "other"
        result = detect_intent("my order is late", NEGATIVE)
        assert result.name == "complaint" and any(c.startswith("negative tone") for c in result.cues)

    def test_positive_thanks_is_praise_and_negative_thanks_is_not(self) -> None:
        assert detect_intent("thanks, all good", POSITIVE).name == "praise"
        assert "praise" not in detect_intent("thanks for making me wait two hours", NEGATIVE).all

    def test_explicit_praise_beats_a_sentiment_model_that_misreads_it(self) -> None:
        assert detect_intent("Siete i migliori, mai avuto un problema con voi", NEGATIVE).name == "praise"

    def test_a_mildly_negative_question_stays_a_question(self) -> None:
        mild = SentimentProbs(negative=0.36, neutral=0.64, positive=0.0)
        assert detect_intent("Is there a problem with the app update?", mild).name == "question"


class TestLookAlikes:
    @pytest.mark.parametrize("text", [
        "Please cancel my order #4421, I ordered the wrong size",
        "Vorrei annullare l'ordine 5521, ho sbagliato taglia",
        "I need to cancel my card, it was stolen",
        "I cancelled my subscription in March but you still bill me",
        "I didn't cancel my subscription, why was it cancelled?",
        "Passo a ritirare il pacco domani in negozio",
    ])
    def test_cancelling_an_order_or_a_card_is_not_a_cancellation_threat(self, text: str) -> None:
        assert "cancellation_threat" not in detect_intent(text).all

    @pytest.mark.parametrize("text", [
        "Sue from your Bristol store was fantastic, thank you!",
        "Thanks to Sue at the desk",
        "Ho fatto denuncia ai carabinieri per il furto della carta, come la blocco?",
        "I'm legally blind and need assistance boarding",
        "Non posso partire a causa dello sciopero",
    ])
    def test_names_and_police_reports_are_not_legal_threats(self, text: str) -> None:
        assert "legal_threat" not in detect_intent(text).all

    @pytest.mark.parametrize("text", [
        "I have a question about the down payment on the car lease",
        "Calm down everyone, it's working again now",
        "Prices went down this month, nice",
        "It was down all morning but it's working again now, thanks",
    ])
    def test_down_that_is_not_an_outage(self, text: str) -> None:
        assert "outage" not in detect_intent(text).all

    def test_an_outage_reported_back_after_a_fix_is_still_an_outage(self) -> None:
        assert detect_intent("It was fixed yesterday but now it's down again").name == "outage"

    @pytest.mark.parametrize("text", [
        "Not bad at all, no complaints", "Best broadband I've ever had, zero problems in two years",
        "Mai avuto un problema con voi, bravi",
    ])
    def test_negated_complaint_words_are_not_complaints(self, text: str) -> None:
        assert "complaint" not in detect_intent(text).all

    @pytest.mark.parametrize("text", ["Not impressed.", "Non sono per niente soddisfatto del servizio"])
    def test_negated_praise_is_a_complaint(self, text: str) -> None:
        result = detect_intent(text)
        assert result.name == "complaint" and "praise" not in result.all

    @pytest.mark.parametrize("text", [
        "Thanks for nothing. Two hours on hold and then cut off.", "Grazie tante, ancora niente rimborso",
    ])
    def test_sarcastic_thanks_is_a_complaint(self, text: str) -> None:
        result = detect_intent(text)
        assert result.name == "complaint" and "praise" not in result.all

    def test_fee_questions_and_refunds_are_not_sales_leads(self) -> None:
        assert detect_intent("How much will I be charged for a transfer abroad?").name != "lead"
        assert "lead" not in detect_intent("I'd like to get a refund please").all

    def test_asking_a_brand_to_follow_back_for_a_dm_is_not_spam(self) -> None:
        assert "spam" not in detect_intent("Please follow back so I can DM you my booking number").all

    def test_a_link_in_a_real_message_is_not_spam(self) -> None:
        assert detect_intent("My order https://shop.example/o/123 never arrived").name == "complaint"

    def test_exclamations_that_look_like_questions(self) -> None:
        assert "question" not in detect_intent("What a joke").all
        assert "question" not in detect_intent("Come al solito, tutto in ritardo").all
