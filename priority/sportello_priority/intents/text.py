"""Text preparation shared by the intent and urgency cues: one normalised form, and a few shape facts.

Cue phrases are written against the normalised form: lower case, accents folded (``è`` → ``e``, so
"perché"/"perche" and "giù"/"giu" match alike), every apostrophe variant turned into ``'``.
"""

from __future__ import annotations

import re

# Care messages longer than this are e-mails whose tail is quoted history or a signature; the opening
# says what the message is about, and the cap bounds the cost of a pasted 100 kB log.
MAX_CHARS = 5000

_FOLD = str.maketrans({
    **dict.fromkeys("àáâäãå", "a"), **dict.fromkeys("èéêë", "e"), **dict.fromkeys("ìíîï", "i"),
    **dict.fromkeys("òóôöõ", "o"), **dict.fromkeys("ùúûü", "u"), "ç": "c", "ñ": "n",
    **dict.fromkeys("\u2018\u2019\u02bc\u00b4\u2032", "'"),
})

URL = re.compile(r"https?://\S+|www\.\S+|\b(?:bit\.ly|t\.co|tinyurl\.com)/\S+", re.IGNORECASE)
_HANDLE_OR_TAG = re.compile(r"[@#]\w+")


def fold(text: str) -> str:
    """Accents and apostrophes only (no lower-casing), so cue patterns can be folded with it too."""
    return text if text.isascii() else text.translate(_FOLD)


def normalise(text: str) -> str:
    return fold(text[:MAX_CHARS].lower())


def strip_urls(text: str) -> tuple[str, int]:
    """The text without its links, and how many there were (cheap when there are none)."""
    if "http" not in text and "www." not in text and "/" not in text:
        return text, 0
    return URL.subn(" ", text)


def is_link_only(text: str) -> bool:
    """Links with nothing to read beside them (handles, hashtags and emoji do not count)."""
    without_links, links = strip_urls(text)
    if not links:
        return False
    rest = _HANDLE_OR_TAG.sub(" ", without_links)
    return not any(c.isalnum() for c in rest)
