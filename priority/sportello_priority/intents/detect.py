"""Intent: which of our intents a message carries, the one a care team should act on, and why.

Every intent's score combines its cues with diminishing returns (``cues.combine``); an intent is
recognised from ``RECOGNISED``. ``all`` lists the recognised intents strongest first; ``name`` is
the most important of them for the care team, by ``_rank``:

    legal_threat > outage > cancellation_threat > abusive (directed insult) > complaint
                 > abusive (swearing only) > spam > lead > question > praise > other

Legal threats and outages escalate beyond the agent (legal team, incident), a cancellation threat goes
to retention; all three hide inside complaints, so they outrank them. A directed insult is routed as
abuse (agent welfare, moderation) but plain swearing inside a complaint is still the complaint. Spam
outranks lead/question because promotions are phrased as offers and questions. Praise is last: thanks
at the end of a question or a complaint is politeness.

The sentiment, when given, fills in what cues miss: a negative message with no cue is a complaint; thanks
in a negative message is sarcasm or politeness, not praise; swearing in an angry message is abuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sportello_priority.intents.contact_cues import (
    ABUSIVE,
    CONTACT_GUARDS,
    GRATITUDE,
    LEAD,
    PRAISE,
    PROFANITY,
    QUESTION,
    SPAM,
    THANKS_FOR,
)
from sportello_priority.intents.cues import CueTable, Hit, combine
from sportello_priority.intents.problem_cues import (
    CANCELLATION,
    COMPLAINT,
    LEGAL,
    OUTAGE,
    PROBLEM_GUARDS,
    RESOLVED,
)
from sportello_priority.intents.results import INTENT_NAMES, IntentName, IntentResult
from sportello_priority.intents.text import MAX_CHARS, is_link_only, normalise, strip_urls
from sportello_priority.sentiment import SentimentProbs

RECOGNISED = 0.4
DIRECTED_ABUSE = 0.7  # abusive at least this strong is an insult aimed at someone, not just swearing
MAX_CUES = 8

_TABLE = CueTable([*COMPLAINT, *OUTAGE, *RESOLVED, *CANCELLATION, *LEGAL, *PROBLEM_GUARDS, *QUESTION,
                   *LEAD, *PRAISE, *GRATITUDE, *ABUSIVE, *PROFANITY, *SPAM, *CONTACT_GUARDS])

_RANK: dict[str, float] = {
    "legal_threat": 0, "outage": 1, "cancellation_threat": 2, "complaint": 4, "spam": 6, "lead": 7,
    "question": 8, "praise": 9,
}
_PROBLEMS = frozenset({"legal_threat", "outage", "cancellation_threat", "complaint", "abusive"})

# An interrogative at the start of a sentence (after an optional greeting or @handle). Exclamations
# that look like questions ("what a joke", "how dare you", "come al solito") are left out.
_START = r"(?:^|[.!?;\n]\s*)"
_MENTIONS = r"(?:@\w+[\s,:]*)*"
_GREETING = (r"(?:(?:hi|hello|hey|hiya|ciao|salve|buongiorno|buonasera|scusate|scusa|scusi|excuse me|sorry|team"
             r"|hi there|good (?:morning|afternoon|evening))[\s,!.:-]+)?")
_OPENER = re.compile(_START + rf"(?P<mentions>{_MENTIONS})" + _GREETING + (
    r"(?:(?P<wh>how(?! dare| (?:very |so )?(?:rude|disappointing|annoying|typical|pathetic|ridiculous|sad"
    r"|embarrassing|frustrating|lovely|nice|kind|great))|what(?! an? )|when|where|why|who|which|whose"
    r"|come(?! (?:al solito|sempre|previsto|da accordi|d'accordo))|cosa|quando|dove|perche|chi|quale|quali"
    r"|qual|quanto(?! prima)|quanti|quanta|quante)"
    r"|(?P<aux>can|could|would|will(?! do)|do(?! not)|does|did|should|shall|may|any|anyone|anybody|posso"
    r"|possiamo|potete|potreste|puoi|potresti|avete|sapete|devo|dovrei|bisogna|serve|c'e|ci sono|vi risulta)"
    r"|(?P<be>is|are|am|was|were|has|have(?! a (?:nice|good|great|lovely))))(?![\w'])"
))
_WH_WEIGHT, _AUX_WEIGHT = 0.55, 0.45
# Hashtags and mentions pile up in ordinary tweets too (#avgeek news), so stuffing is only a hint.
_HASHTAG_STUFFING = 5
_MENTION_STUFFING = 5
_SHORT_MESSAGE_WORDS = 8  # a bare "thanks" in a message this short is the message

Evidence = dict[str, dict[str, float]]  # label -> cue phrase -> weight


def _collect(hits: Iterable[Hit]) -> tuple[Evidence, dict[str, int]]:
    evidence: Evidence = {}
    last_start: dict[str, int] = {}
    for hit in hits:
        phrases = evidence.setdefault(hit.label, {})
        phrases[hit.phrase] = max(hit.weight, phrases.get(hit.phrase, 0.0))
        last_start[hit.label] = max(hit.start, last_start.get(hit.label, -1))
    return evidence, last_start


def _drop_resolved_outage(evidence: Evidence, last_start: dict[str, int]) -> None:
    """ "It was down all morning but it's working again" reports no outage; "fixed, then down again" does."""
    resolved = evidence.pop("resolved", None)
    if resolved is None:
        return
    if "outage" in evidence and last_start["resolved"] > last_start["outage"]:
        del evidence["outage"]
    if "outage" not in evidence:
        evidence.setdefault("praise", {}).update(resolved)


def _question_opener(norm: str) -> tuple[str, float] | None:
    """The strongest interrogative opening a sentence: a wh-word, else an auxiliary ("can", "posso").

    "is/has/are" right after the brand's @handle is a statement about the brand ("@brand has the best
    crew"), so those only count without one.
    """
    found = None
    for match in _OPENER.finditer(norm):
        if match["wh"]:
            return match["wh"], _WH_WEIGHT
        if found is None and (match["aux"] or not match["mentions"]):
            found = match["aux"] or match["be"], _AUX_WEIGHT
    return found


def _add_shape_cues(text: str, norm: str, evidence: Evidence) -> None:
    """Cues read from the shape of the message rather than its words: '?', openers, links, hashtags."""
    text = text[:MAX_CHARS]
    question = evidence.setdefault("question", {})
    if "?" in text and "?" in strip_urls(text)[0]:
        question["?"] = 0.6
    if opener := _question_opener(norm):
        question[opener[0]] = opener[1]
    spam = evidence.setdefault("spam", {})
    if is_link_only(text):
        spam["link only"] = 0.85
    if text.count("#") >= _HASHTAG_STUFFING:
        spam["hashtag stuffing"] = 0.3
    if text.count("@") >= _MENTION_STUFFING:
        spam["mention stuffing"] = 0.3


def _score(phrases: dict[str, float] | None) -> float:
    return combine(phrases.values()) if phrases else 0.0


def _add_negative_tone(evidence: Evidence, sentiment: SentimentProbs | None) -> None:
    """A negative message says something went wrong even without a complaint word."""
    if sentiment is None or sentiment.label != "negative" or evidence.get("praise"):
        # Explicit praise ("siete i migliori, mai avuto un problema") outweighs a sentiment model that
        # read "mai" and "problema" as negative.
        return
    # A question merely worded negatively ("is there a problem with...?") needs a clearly negative tone.
    weight = 0.25 + 0.6 * sentiment.negative - (0.15 if _score(evidence.get("question")) else 0.0)
    evidence.setdefault("complaint", {})[f"negative tone {sentiment.negative:.2f}"] = weight


def _settle_thanks_and_swearing(evidence: Evidence, sentiment: SentimentProbs | None, words: int) -> None:
    negative = sentiment is not None and sentiment.label == "negative"
    problem = any(_score(evidence.get(label)) >= RECOGNISED for label in _PROBLEMS)
    # Thanks count as praise only when nothing is wrong: otherwise they are politeness or sarcasm.
    thanks = evidence.pop("gratitude", None)
    if thanks and not negative and not problem:
        # "Thanks for the quick fix" is praise; "status please, thanks" is a sign-off.
        if words > _SHORT_MESSAGE_WORDS:
            thanks = {phrase: weight for phrase, weight in thanks.items() if weight >= THANKS_FOR}
        evidence.setdefault("praise", {}).update(thanks)
    # Swearing is aimed at the brand when the message is angry; "holy shit, that was fast" is not abuse.
    swearing = evidence.pop("profanity", None)
    if swearing:
        weight = 0.45 if negative or problem else 0.25
        evidence.setdefault("abusive", {}).update(dict.fromkeys(swearing, weight))


def _add_positive_tone(evidence: Evidence, sentiment: SentimentProbs | None) -> None:
    if sentiment is not None and sentiment.label == "positive" and evidence.get("praise"):
        evidence["praise"][f"positive tone {sentiment.positive:.2f}"] = 0.5 * sentiment.positive


def _rank(intent: str, score: float) -> float:
    if intent == "abusive":
        return 3 if score >= DIRECTED_ABUSE else 5
    return _RANK[intent]


def detect_intent(text: str, sentiment: SentimentProbs | None = None) -> IntentResult:
    norm = normalise(text)
    evidence, last_start = _collect(_TABLE.scan(norm))
    _drop_resolved_outage(evidence, last_start)
    _add_shape_cues(text, norm, evidence)
    _add_negative_tone(evidence, sentiment)
    _settle_thanks_and_swearing(evidence, sentiment, words=norm.count(" ") + 1)
    _add_positive_tone(evidence, sentiment)
    scores = {label: _score(phrases) for label, phrases in evidence.items()}
    recognised = [intent for intent in INTENT_NAMES if scores.get(intent, 0.0) >= RECOGNISED]
    if not recognised:
        return IntentResult("other", 0.5, (), ("other",))
    name = min(recognised, key=lambda intent: _rank(intent, scores[intent]))
    strongest_first = sorted(recognised, key=lambda intent: (-scores[intent], _rank(intent, scores[intent])))
    return IntentResult(name, round(scores[name], 3), _explain(name, strongest_first, evidence),
                        tuple(strongest_first))


def _explain(name: str, recognised: list[IntentName], evidence: Evidence) -> tuple[str, ...]:
    """The named intent's cues first (strongest first), then the other recognised intents' cues."""
    explained: list[str] = []
    for intent in [name, *(i for i in recognised if i != name)]:
        for phrase, _weight in sorted(evidence[intent].items(), key=lambda item: -item[1]):
            if phrase not in explained:
                explained.append(phrase)
    return tuple(explained[:MAX_CUES])
