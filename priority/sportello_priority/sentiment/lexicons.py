"""Polarity lexicons the features use: English (VADER, MIT) + Italian and customer-care words written here.

At run time nothing is read from a third-party package: ``build_lexicons()`` (called by ``build_default``)
reads the VADER lexicon and VADER emoji lexicon from the installed ``vaderSentiment`` package, merges the
hand-written lists below and writes ``models/lexicons.json``; ``load_lexicons()`` reads that file. Every
trained model stores its own copy, so a model file is self-contained.

The Italian list and the care list are original to this project (written for it, no source copied):
common evaluative words of Italian social-media customer care, with values on VADER's scale (-4 .. +4).
Adjectives ending in -o are expanded to -o/-a/-i/-e, in -e to -e/-i.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MODELS_DIR = Path(__file__).parent / "models"
LEXICONS_FILE = MODELS_DIR / "lexicons.json"

# Italian, by strength. Values: 1.5 mild, 2.5 clear, 3.2 strong.
_IT_POSITIVE = {
    3.2: "ottimo eccellente perfetto fantastico meraviglioso stupendo splendido straordinario magnifico "
         "favoloso eccezionale superbo impeccabile strepitoso",
    2.5: "bravo bello buono gentile cortese disponibile felice contento soddisfatto grato efficiente veloce "
         "rapido puntuale professionale competente affidabile piacevole simpatico carino comodo utile "
         "preciso sereno entusiasta felicissimo contentissimo gentilissimo bellissimo bravissimo "
         "velocissimo",
    1.5: "ok okay risolto sistemato funziona funzionano corretto chiaro semplice facile pulito tranquillo "
         "valido giusto adeguato positivo",
}
_IT_POSITIVE_WORDS = {
    3.2: "adoro amo complimenti evviva top wow",
    2.5: "grazie ringrazio ringraziamo ringraziamenti apprezzo apprezzato consiglio consigliato piace piaciuto "
         "piaciuta amore fiducia soddisfazione gentilezza cortesia professionalità qualità bene benissimo "
         "meglio felicità gioia complimenti bravi brava ottimamente perfettamente",
    1.5: "aiuto aiutato risolvere risolta risolti sistemata tempestivo tempestiva",
}
_IT_NEGATIVE = {
    3.2: "pessimo orribile terribile schifoso vergognoso disgustoso inaccettabile scandaloso indecente "
         "ridicolo vomitevole osceno penoso pietoso allucinante assurdo",
    2.5: "cattivo brutto scortese maleducato arrogante incompetente inutile lento arrabbiato furioso deluso "
         "insoddisfatto scontento triste preoccupato rotto guasto difettoso sbagliato falso disonesto "
         "truffaldino scadente mediocre vergognosa lentissimo inaffidabile inefficiente irraggiungibile "
         "bloccato sospeso annullato cancellato smarrito perso danneggiato incazzato stufo stanco esasperato "
         "disperato nervoso infastidito irritato",
    1.5: "difficile complicato costoso caro confuso strano scomodo sporco rumoroso tardivo ritardato "
         "sconnesso",
}
_IT_NEGATIVE_WORDS = {
    3.2: "vergogna schifo truffa ladri vergognatevi merda cazzo fanculo odio incubo disastro scandalo",
    2.5: "problema problemi guasto disservizio disservizi ritardo ritardi reclamo reclami lamentela delusione "
         "rabbia attesa errore errori sbaglio furto furti danno danni rimborso rimborsi disagio disagi "
         "inefficienza incompetenza pessima pessimi peggio peggiore peggiori purtroppo odiare sopportare "
         "deludente deludenti insopportabile insopportabili vergognoso vergognosi lamentarmi lamento protesta "
         "diffida denuncia denuncerò denuncio avvocato avvocati basta uffa",
    1.5: "aspettando attendo attendendo sollecito sollecitare",
}
# English customer-care words VADER does not rate (written here).
_CARE_EN = {
    -2.5: "delayed delay delays cancelled canceled stranded stuck rude unacceptable incompetent "
          "useless worst scam overbooked ripoff",
    -1.5: "waiting lost broken missing late refund overcharged charged disconnected hold unanswered "
          "ignored complaint complaints",
    2.5: "thanks thx ty appreciated appreciate awesome helpful",
}


def _expand(word: str) -> list[str]:
    if word.endswith("o") and len(word) > 3:
        stem = word[:-1]
        return [stem + e for e in "oaie"]
    if word.endswith("e") and len(word) > 4 and not word.endswith(("mente", "ione")):
        return [word, word[:-1] + "i"]
    return [word]


def hand_written() -> dict[str, float]:
    """The project's own Italian and English care lists as one {word: valence} mapping."""
    out: dict[str, float] = {}
    for sign, table, expand in ((1, _IT_POSITIVE, True), (1, _IT_POSITIVE_WORDS, False),
                                (-1, _IT_NEGATIVE, True), (-1, _IT_NEGATIVE_WORDS, False)):
        for value, words in table.items():
            for word in words.split():
                for form in _expand(word) if expand else [word]:
                    out.setdefault(form, sign * value)
    for value, words in _CARE_EN.items():
        for word in words.split():
            out.setdefault(word, value)
    return out


# Emoji the VADER-description rule gets wrong or misses (its descriptions are often literal: "thumbs up"
# scores 0). Hand-written convention, not data.
_EMOJI_OVERRIDES = {
    "👍": 1, "👏": 1, "🙌": 1, "💪": 1, "😊": 1, "😁": 1, "😍": 1, "🥰": 1, "❤": 1, "💯": 1, "🙂": 1,
    "👎": -1, "😡": -1, "🤬": -1, "😠": -1, "😤": -1, "🙄": -1, "😒": -1, "💩": -1, "💔": -1, "😞": -1,
    "😩": -1, "😫": -1, "🤮": -1, "🤢": -1, "😑": -1, "😥": -1, "😔": -1, "😣": -1, "😖": -1, "😰": -1,
    "🔥": 0, "😈": 0, "🙏": 0, "😂": 0, "🤣": 0, "😅": 0,
}
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def build_lexicons(vader_dir: Path | None = None) -> dict[str, object]:
    """Read VADER's files (MIT) from the installed package and merge the lists above (build time only)."""
    if vader_dir is None:
        import vaderSentiment  # build-time dependency: the `build` extra of sportello-priority

        vader_dir = Path(vaderSentiment.__file__).parent
    lexicon: dict[str, float] = {}
    for line in (vader_dir / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and _WORD.fullmatch(parts[0]):
            lexicon[parts[0].replace("'", "")] = float(parts[1])  # our tokens drop the n't apostrophe
            lexicon[parts[0]] = float(parts[1])
    for word, value in hand_written().items():
        lexicon.setdefault(word, value)

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer(
        lexicon_file=str(vader_dir / "vader_lexicon.txt"), emoji_lexicon=str(vader_dir / "emoji_utf8_lexicon.txt"))
    emoji: dict[str, int] = {}
    # An emoji's polarity is VADER's score of its English description ("loudly crying face" -> negative).
    for char, description in analyser.emojis.items():
        char = char.replace("\ufe0f", "").replace("\u200d", "")
        if len(char) != 1:
            continue  # sequences (flags, skin tones) reach the tokenizer as several characters
        compound = analyser.polarity_scores(description)["compound"]
        if abs(compound) >= 0.3:
            emoji[char] = 1 if compound > 0 else -1
    for char, polarity in _EMOJI_OVERRIDES.items():
        if polarity:
            emoji[char] = polarity
        else:
            emoji.pop(char, None)
    return {"lexicon": dict(sorted(lexicon.items())), "emoji_polarity": dict(sorted(emoji.items()))}


def write_lexicons(path: Path = LEXICONS_FILE, vader_dir: Path | None = None) -> Path:
    data = build_lexicons(vader_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_lexicons(path: Path = LEXICONS_FILE) -> tuple[dict[str, float], dict[str, int]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data["lexicon"]), dict(data["emoji_polarity"])
