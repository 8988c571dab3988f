"""A small hand-written English and Italian sentiment lexicon for the baseline scorer.

Written for this project (no third-party word list), weights in -3..+3 like VADER's. Deliberately
small and honest: the real multilingual scorer is a later issue; this one must merely be explainable
and better than arrival order.
"""

NEGATIVE: dict[str, float] = {
    # English
    "angry": -3, "awful": -3, "terrible": -3, "worst": -3, "horrible": -3, "disgusting": -3,
    "furious": -3, "scam": -3, "useless": -2.5, "ridiculous": -2.5, "hate": -3, "unacceptable": -3,
    "disappointed": -2, "disappointing": -2, "annoyed": -2, "frustrated": -2, "frustrating": -2,
    "broken": -2, "bad": -2, "poor": -2, "rude": -2.5, "delayed": -1.5, "delay": -1.5,
    "cancelled": -1.5, "canceled": -1.5, "lost": -1.5, "missing": -1.5, "wrong": -1.5,
    "problem": -1.5, "issue": -1, "fail": -2, "failed": -2, "failure": -2, "error": -1.5,
    "down": -1, "outage": -2.5, "slow": -1.5, "waiting": -1, "charged": -1, "overcharged": -2.5,
    "never": -1, "stuck": -1.5, "crash": -2, "crashed": -2, "complaint": -2, "refund": -1,
    "sucks": -2.5, "worse": -2.5, "nightmare": -3, "joke": -1.5, "stranded": -2.5,
    # Italian
    "vergogna": -3, "vergognoso": -3, "pessimo": -3, "schifo": -3, "inaccettabile": -3,
    "arrabbiato": -2.5, "arrabbiata": -2.5, "deluso": -2, "delusa": -2, "scandaloso": -3,
    "guasto": -2, "rotto": -2, "rotta": -2, "disservizio": -2.5, "problema": -1.5,
    "ritardo": -1.5, "lento": -1.5, "bloccato": -1.5, "errore": -1.5, "truffa": -3,
    "mai": -1, "reclamo": -2, "rimborso": -1, "inutile": -2.5, "peggiore": -3,
    "assurdo": -2.5, "schifoso": -3, "attesa": -1, "isolato": -2, "senza": -0.5,
}

POSITIVE: dict[str, float] = {
    # English
    "thanks": 1.5, "thank": 1.5, "great": 2.5, "love": 3, "awesome": 3, "excellent": 3,
    "amazing": 3, "good": 1.5, "happy": 2, "helpful": 2, "perfect": 2.5, "fixed": 1.5,
    "resolved": 1.5, "appreciate": 2, "best": 2.5, "nice": 1.5, "quick": 1, "fast": 1,
    "wonderful": 3, "glad": 2, "kind": 1.5,
    # Italian
    "grazie": 1.5, "ottimo": 2.5, "ottima": 2.5, "perfetto": 2.5, "gentile": 1.5,
    "gentilissimi": 2.5, "bravi": 2, "risolto": 1.5, "felice": 2, "contento": 2,
    "contenta": 2, "fantastico": 3, "veloce": 1, "eccellente": 3, "buono": 1.5,
}

NEGATIONS = frozenset({
    "not", "no", "never", "dont", "don't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't",
    "cant", "can't", "cannot", "won't", "wont", "non", "nessun", "nessuno", "neanche", "nemmeno",
})

# Words that say "this cannot wait". Phrases are matched on the normalised text.
URGENT_WORDS = frozenset({
    # "now"/"today" alone are left out: "all good now" is not urgent. Phrases below catch the rest.
    "urgent", "urgently", "asap", "immediately", "emergency", "outage",
    "urgente", "urgenza", "subito", "immediatamente", "emergenza",
})
URGENT_PHRASES = (
    "still waiting", "no service", "no internet", "can't access", "cannot access", "locked out",
    "been waiting", "right now", "by today", "entro oggi",
    "hours on hold", "days without", "cancel my", "ancora in attesa",
    "senza linea", "senza internet", "da giorni", "non funziona", "non riesco",
)
