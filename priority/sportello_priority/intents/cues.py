"""Cue tables: weighted phrases (regex fragments) compiled once into a single regular expression.

Why one regex shaped as a trie: Python's ``re`` tries every branch of an alternation at every word
start, so 600 phrases in plain alternations cost ~100 µs a message. Merging the phrases' literal
prefixes into a trie leaves ~25 first letters to try per word, whatever the number of phrases. Each
phrase ends in an empty named group (its marker), so ``match.lastgroup`` says which phrase matched
without capturing anything else. The trie sits in a zero-width lookahead, so cues starting at
different words may overlap ("still waiting" and "waiting for my refund"); at one word, the phrase
with the longest literal start wins.

Two ways to defuse a cue: a negatable cue is dropped after a negation ("not urgent", "non è
urgente"); a guard phrase (scanned by its own small regex) drops the cues of the labels it names that
start inside it ("ho subito un danno" defuses "subito", which here means "suffered").

Phrases are written lower-case and accent-free in the normalised form (see ``text.normalise``); an
apostrophe in a phrase is optional in the text ("can't" also matches "cant").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sportello_priority.intents.text import fold


@dataclass(frozen=True, slots=True)
class Effect:
    """What one phrase means: evidence for ``label`` with ``weight``, or a guard defusing ``suppresses``."""

    label: str
    weight: float
    negatable: bool = False  # dropped when a negation comes just before ("not urgent", "non è urgente")
    suppresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    label: str
    weight: float
    phrase: str  # the matched text, shown to agents as the cue
    start: int
    end: int


Entry = tuple[str, Effect]


def cues(label: str, tiers: Mapping[float, Iterable[str]], *, negatable: bool = False) -> list[Entry]:
    return [(p, Effect(label, weight, negatable)) for weight, phrases in tiers.items() for p in phrases]


def guards(suppresses: Iterable[str], phrases: Iterable[str]) -> list[Entry]:
    effect = Effect("guard", 0.0, suppresses=tuple(suppresses))
    return [(p, effect) for p in phrases]


# A negator right before a cue, allowing a few filler words: "not urgent", "isn't really urgent",
# "non è urgente", "non è un'emergenza", "nothing urgent", "no complaints".
_NEGATED_BEFORE = re.compile(
    r"(?:(?<!\w)(?:not|non|no|never|nothing|nessun\w*|niente|hardly|mai|neanche|nemmeno)"
    r"|n't|(?<!\w)(?:is|do|does|was|are|wo|ca|did|have|has|were|could|would)nt)"
    r"(?:\s+(?:so|very|that|too|really|particularly|particolarmente|at all|molto|tanto|troppo|proprio"
    r"|e|is|was|are|were|be|been|a|an|the|un|una|il|la|lo|my|per niente|affatto|quite|sono|stato|stata"
    r"|even|exactly|super|all|cosi|had|have|ho|avuto|got|any|alcun\w*))*\s*(?:un'|l')?$"
)
_NEGATION_WINDOW = 40


def _is_negated(text: str, start: int) -> bool:
    return _NEGATED_BEFORE.search(text, max(0, start - _NEGATION_WINDOW), start) is not None


_SPECIAL = set("\\.^$*+?{}[]|()")
_QUANTIFIER = set("?*+{")


def _literal_prefix(pattern: str) -> int:
    """How many leading characters are plain literals (not followed by a quantifier)."""
    for i, c in enumerate(pattern):
        if c in _SPECIAL or (i + 1 < len(pattern) and pattern[i + 1] in _QUANTIFIER):
            return i
    return len(pattern)


def _has_top_level_bar(pattern: str) -> bool:
    return len(_split_top_level(pattern)) > 1


def _split_top_level(body: str) -> list[str]:
    parts, depth, escaped, in_class, current = [], 0, False, False, ""
    for c in body:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += c
    return [*parts, current]


def _expand_leading_group(pattern: str) -> list[str]:
    """``(?:a|b)rest`` -> ``arest``, ``brest`` (and ``rest`` when the group is optional), recursively.

    Phrases that start with a literal sit deeper in the trie: faster, and at one position the longest
    literal phrase wins, so a phrase must not hide behind a group that the trie cannot see into.
    """
    if not pattern.startswith("(?:"):
        return [pattern]
    depth = 0
    for end, c in enumerate(pattern):
        if c == "(" and pattern[end - 1:end] != "\\":
            depth += 1
        elif c == ")" and pattern[end - 1:end] != "\\":
            depth -= 1
            if depth == 0:
                break
    body, rest = pattern[3:end], pattern[end + 1:]
    optional = rest.startswith("?") and not rest.startswith("??")
    if rest[:1] in ("*", "+", "{") or (rest.startswith("?") and not optional):
        return [pattern]
    if optional:
        rest = rest[1:]
    alternatives = [*_split_top_level(body), *([""] if optional else [])]
    return [expanded for alt in alternatives for expanded in _expand_leading_group(alt + rest)]


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    leaves: list[tuple[str, int]] = field(default_factory=list)  # (rest of the pattern, phrase id)


def _render(node: _Node) -> str:
    # Only one phrase is reported per start position, so order decides: longer literal paths first,
    # then longer pattern tails, then phrases ending here ("down again" before "down").
    options = [re.escape(c) + _render(child) for c, child in node.children.items()]
    leaves = sorted(node.leaves, key=lambda leaf: (leaf[0] == "", -len(leaf[0])))
    options += [rf"{rest}(?!\w)(?P<c{index}>)" for rest, index in leaves]
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


class _Trie:
    """Phrases merged into one regex; ``matches`` yields (start, end, effects) per word start."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        effects: dict[str, list[Effect]] = {}
        for phrase, effect in entries:
            pattern = fold(phrase).replace("'", "'?")
            if _has_top_level_bar(pattern):
                raise ValueError(f"wrap alternatives in (?:...): {phrase!r}")
            re.compile(pattern)  # fail here, naming the phrase, rather than in the merged pattern
            for expanded in _expand_leading_group(pattern):
                effects.setdefault(expanded, []).append(effect)
        self._effects = [tuple(found) for found in effects.values()]
        root = _Node()
        for index, pattern in enumerate(effects):
            node, cut = root, _literal_prefix(pattern)
            for c in pattern[:cut]:
                node = node.children.setdefault(c, _Node())
            node.leaves.append((pattern[cut:], index))
        self.pattern = re.compile(rf"(?<!\w)(?={_render(root)})")

    def matches(self, text: str) -> Iterator[tuple[int, int, tuple[Effect, ...]]]:
        for match in self.pattern.finditer(text):
            marker = match.lastgroup
            assert marker is not None
            yield match.start(), match.start(marker), self._effects[int(marker[1:])]


class CueTable:
    """Every phrase of one domain (intents, or urgency): one regex for the cues, one for the guards.

    Guards get their own (small) regex because only one phrase is reported per start position: a
    guard starting at the same word as the cue it defuses ("how much will I be charged" / "how much")
    must still be seen.
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        self._cues = _Trie(e for e in entries if not e[1].suppresses)
        guard_entries = [e for e in entries if e[1].suppresses]
        self._guards = _Trie(guard_entries) if guard_entries else None

    @property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        return (self._cues.pattern,) + ((self._guards.pattern,) if self._guards else ())

    def scan(self, text: str) -> list[Hit]:
        """Every cue in ``text`` (normalised), after guards and negations have removed the defused."""
        hits = [Hit(effect.label, effect.weight, text[start:end], start, end)
                for start, end, effects in self._cues.matches(text) for effect in effects
                if not (effect.negatable and _is_negated(text, start))]
        if hits and self._guards is not None:
            guarded = [(start, end, effect.suppresses)
                       for start, end, effects in self._guards.matches(text) for effect in effects]
            if guarded:
                hits = [h for h in hits
                        if not any(s <= h.start < e and h.label in labels for s, e, labels in guarded)]
        return _outermost(hits)


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Drop a cue inside a longer cue of the same label: "is not working" is one cue, not two."""
    reach: dict[str, int] = {}
    kept = []
    for hit in hits:  # in order of start
        if reach.get(hit.label, -1) >= hit.end:
            continue
        kept.append(hit)
        reach[hit.label] = max(reach.get(hit.label, -1), hit.end)
    return kept


def combine(weights: Iterable[float]) -> float:
    """Independent pieces of evidence with diminishing returns: 1 - Π(1 - w), in [0, 1]."""
    missing = 1.0
    for weight in weights:
        missing *= 1.0 - weight
    return 1.0 - missing
