"""Intent and urgency from the text of one message, English and Italian together, explained by cues.

Pure and fast (one compiled regex per cue domain, no model): ``detect_intent`` says what the message
is (complaint, outage, legal threat, ...) and which phrases say so; ``detect_urgency`` how soon it
needs an answer. Cue lists live in ``problem_cues``/``contact_cues``/``urgency``, the precedence
between intents in ``detect``, the measured quality in ``evaluation``.
"""

from __future__ import annotations

from sportello_priority.intents.detect import detect_intent
from sportello_priority.intents.results import INTENT_NAMES, IntentName, IntentResult, UrgencyResult
from sportello_priority.intents.urgency import detect_urgency

__all__ = ["INTENT_NAMES", "IntentName", "IntentResult", "UrgencyResult", "detect_intent", "detect_urgency"]
