"""Tweet normalisation and features (EN + IT)."""

from __future__ import annotations

from sportello_priority.sentiment.features import (
    CAPS_MARK,
    EMO_NEG,
    EMO_POS,
    NUM_MARK,
    URL_MARK,
    USER_MARK,
    char_ngrams,
    extract,
    mark_negation,
    tokenize,
)


def test_placeholders_caps_elongation_and_hashtags() -> None:
    tokens = tokenize("@united I am SOOOO angry!!!! http://t.co/xyz #fail 12:30")
    assert tokens[0] == USER_MARK
    assert CAPS_MARK in tokens and "soo" in tokens
    assert URL_MARK in tokens and NUM_MARK in tokens and "fail" in tokens
    assert "!!!" in tokens and "#" not in tokens


def test_emoticons_and_emoji_polarity() -> None:
    assert EMO_POS in tokenize("great :-)") and EMO_NEG in tokenize("ugh :(")
    tokens = tokenize("😡️ ok", {"😡": -1})
    assert tokens[:2] == ["😡", EMO_NEG]


def test_english_contractions_and_italian_elisions() -> None:
    assert tokenize("don't") == ["dont"]
    assert tokenize("it's") == ["it's"]
    assert tokenize("dell'aereo") == ["dell'", "aereo"]


def test_negation_scope_in_both_languages() -> None:
    assert mark_negation(tokenize("not good, but fine")) == ["not", "neg_good", ",", "but", "fine"]
    assert mark_negation(tokenize("non è buono")) == ["non", "neg_è", "neg_buono"]


def test_char_ngrams_stay_inside_words() -> None:
    grams = char_ngrams(["ciao"], 2, 3)
    assert " c" in grams and "ao " in grams and "o " in grams
    assert all(" " not in g.strip() for g in grams)


def test_lexicon_tokens_flip_under_negation() -> None:
    words, _ = extract("not good", lexicon={"good": 1.9}, emoji_polarity={})
    assert "_lex-" in words and "_lex+" not in words
    words, _ = extract("terrible", lexicon={"terrible": -2.5}, emoji_polarity={})
    assert "_lex-" in words and "_lex--" in words
