"""Hypothesis strategies the property tests share: any text a customer may write, any JSON a platform may
send, and documents that are a valid template with parts of it dropped or replaced."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

BIG = 100_000  # characters: a 100 kB message

# Hand-picked specimens: scripts, directions and code points that break naive text handling.
SPECIMENS = (
    "",
    " ",
    "\t\n\r\x0b\x0c",
    "Il mio ordine è in ritardo da una settimana, è inaccettabile! Voglio un rimborso SUBITO.",
    "My order is late and nobody answers. This is unacceptable, I want a refund NOW.",
    "طلبي متأخر منذ أسبوع، هذا غير مقبول! أريد استرداد أموالي فوراً",  # Arabic (RTL)
    "הזמנה שלי מאחרת, זה לא מקובל",  # Hebrew (RTL)
    "我的订单已经延迟一周了，这是不可接受的！我要退款。",  # Chinese  # noqa: RUF001
    "注文が一週間遅れています。返金してください。",  # Japanese
    "Мой заказ задерживается, верните деньги!",  # Cyrillic
    "😡😡😡",  # emoji only
    "👩‍👩‍👧‍👦🏳️‍🌈👍🏽",  # ZWJ sequences, flags, skin tones
    "e\u0301\u0301\u0301 Z\u0351\u0352\u0353\u0354\u0355alg\u0336o",  # combining marks
    "\u202eevil\u202c \u200b\u200c\u200d\ufeff",  # bidi override, zero-widths, BOM
    "a\x00b",  # NUL
    "\ud800 lone \udfff",  # lone surrogates (JSON can spell them; UTF-8 cannot)
    "\U0010ffff\ufffe\uffff",  # noncharacters
    "@brand https://example.com/x?a=1 #hashtag $TICKER",
    "URGENT!!! " * 50,
)
# 100 kB messages, built when drawn (a strategy holding them would print 100 kB in every repr).
big_text = st.sampled_from(("a", "è", "😡", "ab ", "ج", "\u0301", "\x00", "my order is late. ")).map(
    lambda unit: (unit * (BIG // len(unit) + 1))[:BIG])

# Text from every Unicode category, surrogates included.
_any_char = st.characters(codec=None) | st.characters(categories=["Cs"])
# The code points that break things, mixed into ordinary text (a plain st.text() seldom draws them).
_troublemakers = st.sampled_from(("\x00", "\ud800", "\udfff", "\udc80", "\u202e", "\u200f", "\u0301", "\ufeff",
                                  "\uffff", "\U0010ffff", "😡", "👩‍👩‍👧", "\r\n", "\u2028", "\x1c", "\\", '"'))
any_text = st.one_of(
    st.sampled_from(SPECIMENS),
    st.text(),
    st.text(alphabet=_any_char, max_size=200),
    st.lists(_troublemakers | st.text(max_size=6), max_size=12).map("".join),
    big_text,
    # A 100 kB string of a few repeated random characters (cheap to generate, still 100 kB).
    st.text(alphabet=_any_char, min_size=1, max_size=8).map(lambda seed: (seed * (BIG // len(seed) + 1))[:BIG]),
)
# Numbers at the edges: 32/64-bit limits, seconds vs milliseconds, beyond a float (JSON allows 10**400).
EDGE_NUMBERS = (0, -1, 2**31, -(2**31) - 1, 2**63, 10**11, 10**13, 10**20, -(10**20), 10**400, 1e300, -1e300,
                float("inf"), float("-inf"), 1e-300, 0.5)
edge_numbers = st.sampled_from(EDGE_NUMBERS)
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | edge_numbers
                | st.text(max_size=30))
any_json = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of ``options``, each as often as its weight. (Not ``one_of`` with repeats: a strategy's repr
    would repeat them too, and these trees are deep enough for that to take gigabytes.)"""
    strategies = [strategy for _, strategy in options]
    slots = [index for index, (weight, _) in enumerate(options) for _ in range(weight)]
    return st.sampled_from(slots).flatmap(lambda index: strategies[index])


class _Drop:
    """A dict member to leave out."""


DROP = _Drop()


def _leaf(value: Any) -> st.SearchStrategy[Any]:
    """A leaf: kept, a different value of the same kind, or anything JSON."""
    if isinstance(value, bool):
        same: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(value, int):
        same = st.integers() | edge_numbers | st.integers().map(str) | edge_numbers.map(str)
    elif isinstance(value, float):
        same = st.floats() | edge_numbers
    elif isinstance(value, str):
        same = any_text
    else:
        same = any_json
    return weighted((2, st.just(value)), (2, same), (1, any_json))


def mutated(template: Any) -> st.SearchStrategy[Any]:
    """``template`` (a valid document) with members dropped, leaves changed, lists resized and subtrees
    replaced by arbitrary JSON: mostly still the platform's shape, so parsing gets past its first check."""
    if isinstance(template, dict):
        members = {key: weighted((6, mutated(value)), (1, st.just(DROP)), (1, any_json))
                   for key, value in template.items()}
        shaped = st.fixed_dictionaries(members).map(
            lambda d: {k: v for k, v in d.items() if v is not DROP})
        return weighted((8, shaped), (1, any_json))
    if isinstance(template, list):
        items = [mutated(item) for item in template] or [any_json]
        return weighted((4, st.tuples(*items).map(list)), (2, st.lists(st.one_of(items), max_size=3)),
                        (1, any_json))
    return _leaf(template)


TIME_KEYS = frozenset({"timestamp", "time", "created_time", "watermark", "timestamp_ms", "created_timestamp",
                       "created_at", "sent_at"})
any_time = weighted((3, edge_numbers), (2, edge_numbers.map(str)), (2, st.integers()), (1, st.floats()),
                    (1, any_text), (1, any_json))


def with_times(template: Any, times: st.SearchStrategy[Any] = any_time) -> st.SearchStrategy[Any]:
    """``template`` exactly, but for its times (members named like one), drawn from ``times``: a valid
    document whose only oddity is when it says things happened."""
    if isinstance(template, dict):
        return st.fixed_dictionaries({key: times if key in TIME_KEYS else with_times(value, times)
                                      for key, value in template.items()})
    if isinstance(template, list):
        return st.tuples(*(with_times(item, times) for item in template)).map(list)
    return st.just(template)
