"""Which language a message is written in, from its function words: enough to route a conversation
to an agent who speaks it, in microseconds and with nothing to download.

Short social messages carry few words, so only frequent function words that are rare in the other
languages count, and a guess needs a clear lead; otherwise the answer is None (routing then treats
the language as unknown instead of guessing wrong). Lists written for this module (no data source).
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _words("""the and is are was were you your my me i it this that have has had not with for from but
        what why when will would can can't don't didn't still please thanks thank been just our
        they them there their an of to be do does"""),
    "it": _words("""il lo la gli le di che non per con una uno sono è ho hai ha mi ti ci del della dei delle
        nel nella questo questa ancora grazie perché come cosa mio mia vostro vostra ma anche
        già più sempre niente nessuna nessun ogni quando dove"""),
    "es": _words("""el los las de que y en un una por con para es son mi tu su pero como muy gracias está
        están hay sin todavía nada cuando porque qué"""),
    "fr": _words("""le les la des de du et est un une pour pas avec je vous nous mon votre mais très merci
        toujours rien quand pourquoi sont ai avez"""),
    "de": _words("""der die das und ist nicht ich sie ein eine mit für auf von zu den dem noch immer danke
        warum wann bitte habe haben sind kein keine"""),
    "pt": _words("""o os as de que e em um uma por com para não é são meu minha seu sua mas muito obrigado
        obrigada ainda nada quando porque está"""),
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_MIN_HITS = 2  # one shared short word ("a", "de") is no evidence


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text gives no clear answer."""
    counts = dict.fromkeys(_FUNCTION_WORDS, 0)
    for word in _WORD.findall(text.lower()):
        for language, words in _FUNCTION_WORDS.items():
            if word in words:
                counts[language] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    (best, hits), (_, runner_up) = ranked[0], ranked[1]
    # A clear lead: shared words ("de", "la", "no") push two languages at once.
    if hits < _MIN_HITS or hits < runner_up * 1.5 or hits == runner_up:
        return None
    return best
