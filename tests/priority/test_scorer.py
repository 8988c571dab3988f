"""The baseline scorer: explainable, and ordering messages the way a care team would."""

from sportello_priority.scorer import score, sentiment_of


def test_breakdown_adds_up_to_the_score() -> None:
    result = score("URGENT: my line is down and I am still waiting!!", followers=50_000)
    assert result.value == round(sum(f.contribution for f in result.breakdown), 2)
    assert {f.factor for f in result.breakdown} == {"base", "sentiment", "urgency", "influence"}


def test_angry_urgent_influential_beats_a_thank_you() -> None:
    angry = score("Worst service ever, no internet for 3 days, still waiting!!", 200_000)
    thanks = score("thanks, all good now", 10)
    assert angry.value > 60 > 20 > thanks.value


def test_a_journalist_jumps_ahead_of_the_same_complaint_from_a_small_account() -> None:
    text = "my order is late"
    assert score(text, 1_000_000).value > score(text, 20).value + 15


def test_italian_and_negation() -> None:
    assert sentiment_of("Il servizio è pessimo, vergogna").label == "negative"
    assert sentiment_of("grazie, siete gentilissimi").label == "positive"
    assert sentiment_of("not good at all").score < 0 < sentiment_of("not bad").score


def test_neutral_question_gets_only_the_base() -> None:
    result = score("what time do you open?", None)
    assert result.value == 10
    assert result.sentiment.label == "neutral"
