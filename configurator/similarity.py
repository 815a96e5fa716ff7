"""How alike two proposals are: word overlap and sequence likeness, so a new one finds its near twins."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from .db import Database
from .proposals import get_proposal

SIMILAR_THRESHOLD = 0.4
SIMILAR_LIMIT = 5
_WORD = re.compile(r"[^\W_]+")
_COMMON = (
    "a an and the of for to in on with at by from about how we our your you is are be it its"
    " this that as or into vs via let lets what why who using use"
    # Words every proposal could carry say nothing about which one it is.
    " session talk workshop discussion intro introduction"
)
_STOP = frozenset(_COMMON.split())


def _plain(text: str) -> str:
    """Casefolded text without accents, so café and cafe are the same word."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> set[str]:
    """The meaningful words of a text, lightly stemmed (bikes and bike are one word)."""
    found = set()
    for word in _WORD.findall(_plain(text)):
        if len(word) < 2 or word in _STOP:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return found


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class _Text:
    """What comparing a proposal needs, computed once: its title's words, spelled, and all words."""

    title: frozenset[str]
    spelled: str
    everything: frozenset[str]


@functools.lru_cache(maxsize=20_000)  # a search reads every proposal; their words rarely change
def _text(title: str, text: str = "") -> _Text:
    mine = frozenset(words(title))
    return _Text(mine, " ".join(sorted(mine)), mine | words(text))


def _score(query: _Text, other: _Text, matcher: difflib.SequenceMatcher, bar: float) -> float:
    """The similarity of two texts, or 0.0 as soon as it is sure to stay below the bar.

    The matcher holds the query as its second sequence, so its index is built once per search.
    """
    rest = 0.4 * _jaccard(query.title, other.title) + 0.2 * _jaccard(
        query.everything, other.everything
    )
    matcher.set_seq1(other.spelled)
    # ratio() is the costly part; its cheap upper bounds rule most proposals out first.
    if rest + 0.4 * matcher.real_quick_ratio() < bar or rest + 0.4 * matcher.quick_ratio() < bar:
        return 0.0
    return rest + 0.4 * matcher.ratio()


def similarity(title: str, other_title: str, text: str = "", other_text: str = "") -> float:
    """How alike two proposals read, from 0 to 1: title words, title spelling, then all words.

    Word order and small typos should not hide a duplicate, so the spelling compared is that of
    the title's words in sorted order.
    """
    query = _text(title, text)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(query.spelled)
    return _score(query, _text(other_title, other_text), matcher, 0.0)


@dataclass(frozen=True)
class Similar:
    """A visible proposal that reads like the one being written."""

    proposal: dict[str, Any]
    score: float


def similar(
    db: Database,
    event_id: int,
    title: str,
    description: str = "",
    *,
    exclude: int | None = None,
    threshold: int | None = None,
    limit: int = SIMILAR_LIMIT,
) -> list[Similar]:
    """The visible proposals most like a title (and description), best first."""
    query = _text(title, description)
    if not query.title:
        return []
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(query.spelled)
    scored = []
    rows = db.execute(
        "SELECT id, title, description, tags FROM proposals WHERE event_id = ?"
        " AND hidden_at IS NULL AND status != 'merged'",
        [event_id],
    )
    for row in rows:
        if row["id"] == exclude:
            continue
        # The tags' JSON text gives the same words as the tags themselves.
        other = _text(row["title"], row["description"] + " " + row["tags"])
        score = _score(query, other, matcher, SIMILAR_THRESHOLD)
        if score >= SIMILAR_THRESHOLD:
            scored.append((round(score, 3), row["id"]))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    found = [
        Similar(get_proposal(db, event_id, pid, threshold=threshold), score)
        for score, pid in scored[: limit * 4]  # ties on score are broken by support below
    ]
    found.sort(key=lambda s: (-s.score, -s.proposal["supports"], s.proposal["id"]))
    return found[:limit]
