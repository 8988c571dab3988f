"""Tweet normalisation and sparse features for the linear sentiment model (English + Italian together).

Pure Python and deterministic: the same function builds features at training and at inference, so what is
evaluated is what runs. No language setting: the rules below cover both languages at once (an English
negator never appears in Italian and vice versa), and other languages still get character n-grams.

Why each step:
- URLs, @mentions and numbers become placeholders: their surface form is noise (and a handle would let a
  model learn "which brand" instead of "what was said").
- Elongations are squashed to two letters ("soooo" -> "soo"): keeps the emphasis, merges the variants.
- Text is lower-cased, but a word in capitals adds a ``_caps`` token: shouting is a signal.
- Emoticons and emoji add a polarity token (``_emo+`` / ``_emo-``) from a small table derived from the VADER
  emoji lexicon (MIT), so one happy face teaches the model about all of them.
- Negation scope: after "not", "never", "non", "mai", "nessuno"... the following words get a ``neg_``
  prefix up to the next punctuation (at most ``NEG_SCOPE`` words), so "not good" is not "good".
- Word 1-2-grams (on negation-marked tokens) and character 2-5-grams inside word boundaries (on plain tokens:
  robust to typos, inflection, Italian morphology and unseen words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Placeholders are plain words so that the tokenizer and the n-grams treat them like any other word.
URL_MARK = "_url"
USER_MARK = "_user"
NUM_MARK = "_num"
CAPS_MARK = "_caps"
EMO_POS = "_emo+"
EMO_NEG = "_emo-"
NEG_PREFIX = "neg_"
NEG_SCOPE = 4
# A social message is short; a pasted 100 kB log should not cost 100x the latency. The opening carries the
# sentiment.
MAX_CHARS = 4000

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
# One regex, tried left to right: emoticons first (they contain punctuation), then words (letters of any
# script, with an inner apostrophe), numbers, runs of ! and ?, and any other single visible character
# (emoji, punctuation).
_TOKEN = re.compile(
    r"""
      _(?:url|user)\b                                                 # placeholders
    | (?:[<>]?[:;=8xX][\-o\*'\u2019^]?[\)\]\(\[dDpP/\\\}\{@\|3]+(?![\w]))   # :-) ;( :D :/ =) xD
    | (?:[\)\]\(\[dDpP/\\\}\{@\|][\-o\*'\u2019^]?[:;=8](?![\w]))             # (: D:
    | (?:<3+|</3)                                                      # hearts
    | (?:\^_*\^|-_+-|T_+T|;_+;)                                        # ^^ ^_^ -_- T_T
    | [^\W\d_]+(?:['\u2019][^\W\d_]+)*                                      # words (any script)
    | \d+(?:[.,:/]\d+)*                                                # numbers, times, dates, prices
    | [!?]+
    | [^\s\w]
    """,
    re.VERBOSE,
)
# Variation selectors and zero-width joiners would split an emoji into several tokens.
_INVISIBLE = dict.fromkeys((0xFE0E, 0xFE0F, 0x200D, 0x200B), None)
_ELONGATION = re.compile(r"(\w)\1{2,}")
_APOSTROPHE = re.compile("['\u2019]")
# English contractions keep their apostrophe ("don't", "it's"); Italian elisions split ("dell'aereo").
_EN_CLITICS = frozenset({"t", "s", "re", "ve", "ll", "d", "m"})

NEGATORS = frozenset({
    # English
    "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "cannot", "without",
    "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "couldnt",
    "shouldnt", "havent", "hasnt", "hadnt", "aint", "noone",
    # Italian
    "non", "mai", "nessuno", "nessuna", "nessun", "niente", "nulla", "né", "senza", "neanche", "nemmeno",
    "neppure", "manco",
})
# Where a negation's scope ends.
_SCOPE_BREAK = frozenset(".,;:!?()[]\"…") | {"but", "ma", "però", "pero", "however", "invece"}

# Emoticon polarity: hand-written (these are conventions, not data).
_EMOTICON_POS = (":)", ":-)", ":d", ":-d", ";)", ";-)", ":p", ":-p", "=)", "(:", "xd", ":]", "=d", "<3", "^^",
                 "^_^", ":')", ";d", ":*", ":-*")
_EMOTICON_NEG = (":(", ":-(", ":'(", ":/", ":-/", "=(", "):", "d:", ":[", "</3", ":\\", ":|", "-_-", "t_t",
                 ";_;", ":-|", ":@", ">:(")


def _emoticon_polarity() -> dict[str, str]:
    table = {e: EMO_POS for e in _EMOTICON_POS}
    table.update({e: EMO_NEG for e in _EMOTICON_NEG})
    return table


EMOTICONS = _emoticon_polarity()


def tokenize(text: str, emoji_polarity: Mapping[str, int] | None = None) -> list[str]:
    """Normalised tokens of one message (placeholders, lower case, squashed elongations, polarity tokens).

    ``emoji_polarity`` maps an emoji character to -1/0/+1 (from the VADER emoji lexicon); emoji are kept as
    their own token too, so a trained model can learn them directly.
    """
    text = _URL.sub(" _url ", text.translate(_INVISIBLE))
    text = _MENTION.sub(" _user ", text)
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        tok = match.group()
        first = tok[0]
        emo = EMOTICONS.get(tok.lower()) if len(tok) > 1 else None
        if emo is not None:
            out.append(emo)
        elif first.isalpha():
            if len(tok) > 1 and tok.isupper():
                out.append(CAPS_MARK)
            tok = _ELONGATION.sub(r"\1\1", tok.lower())
            if "'" in tok or "\u2019" in tok:
                parts = _APOSTROPHE.split(tok)
                if len(parts) == 2 and parts[1] in _EN_CLITICS:
                    out.append(parts[0] + parts[1] if parts[1] == "t" else parts[0] + "'" + parts[1])
                else:
                    out.extend(p + "'" for p in parts[:-1])
                    out.append(parts[-1])
            else:
                out.append(tok)
        elif first.isdigit():
            out.append(NUM_MARK)
        elif first == "_" and tok in (URL_MARK, USER_MARK):
            out.append(tok)
        elif len(tok) > 1 and (first == "!" or first == "?"):
            out.append(tok[:3])  # "!!!!!" and "!!!" are the same signal
        elif first != "#":  # a hashtag is its word: "#fail" is "fail"
            if emoji_polarity is not None and len(tok) == 1 and not tok.isascii():
                polarity = emoji_polarity.get(tok, 0)
                out.append(tok)
                if polarity:
                    out.append(EMO_POS if polarity > 0 else EMO_NEG)
            else:
                out.append(tok)
    return out


def mark_negation(tokens: Iterable[str]) -> list[str]:
    """Prefix the words in a negation's scope with ``neg_`` (the negator itself stays as it is)."""
    out: list[str] = []
    scope = 0
    for tok in tokens:
        if tok in _SCOPE_BREAK or tok[0] in "!?":
            scope = 0
            out.append(tok)
        elif tok in NEGATORS or tok.endswith("n't"):
            scope = NEG_SCOPE
            out.append(tok)
        elif scope and tok[0].isalpha():
            scope -= 1
            out.append(NEG_PREFIX + tok)
        else:
            out.append(tok)
    return out


def word_ngrams(tokens: list[str], max_n: int = 2) -> list[str]:
    grams = list(tokens)
    for n in range(2, max_n + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(tokens: list[str], min_n: int = 2, max_n: int = 5) -> list[str]:
    """Character n-grams inside word boundaries (like scikit-learn's ``char_wb``), words only."""
    grams: list[str] = []
    for tok in tokens:
        if not tok[0].isalpha():
            continue
        padded = f" {tok} "
        size = len(padded)
        for n in range(min_n, min(max_n, size) + 1):
            grams.extend(padded[i:i + n] for i in range(size - n + 1))
    return grams


LEX_POS, LEX_NEG, LEX_POS2, LEX_NEG2 = "_lex+", "_lex-", "_lex++", "_lex--"


def lexicon_tokens(marked: list[str], lexicon: Mapping[str, float]) -> list[str]:
    """One polarity token per lexicon hit (flipped inside a negation scope), two for strong words.

    The polarity tokens pool evidence across words the training data never showed: a model that learnt
    ``_lex-`` from "terrible" also scores "atrocious" and (with the Italian list) "pessimo".
    """
    out: list[str] = []
    for tok in marked:
        negated = tok.startswith(NEG_PREFIX)
        value = lexicon.get(tok[len(NEG_PREFIX):] if negated else tok)
        if not value:
            continue
        if negated:
            value = -value
        out.append(LEX_POS if value > 0 else LEX_NEG)
        if value >= 2.0:
            out.append(LEX_POS2)
        elif value <= -2.0:
            out.append(LEX_NEG2)
    return out


def extract(
    text: str,
    *,
    lexicon: Mapping[str, float],
    emoji_polarity: Mapping[str, int],
    word_max_n: int = 2,
    char_min_n: int = 2,
    char_max_n: int = 5,
) -> tuple[list[str], list[str]]:
    """The two feature blocks of one message: word-level grams (+ lexicon tokens) and character grams."""
    tokens = tokenize(text[:MAX_CHARS], emoji_polarity)
    marked = mark_negation(tokens)
    words = word_ngrams(marked, word_max_n)
    words.extend(lexicon_tokens(marked, lexicon))
    return words, char_ngrams(tokens, char_min_n, char_max_n)
