"""Duplicate clues across channels (重复线索): the same problem reported by letter, on the platform
and by a covert patrol should become one ledger entry. This module only SUGGESTS candidates; a
person merges (the ledger's ``merge`` action). Pure: no I/O.

Text similarity is the Dice coefficient of the two texts' sets of character bigrams, after
normalising (NFKC, lower case, every character that is not a letter or a digit removed: punctuation,
symbols, whitespace). Character bigrams need no word segmenter, so they work for Chinese, and for
English as well; the same words in a different layout or punctuation score the same.

Thresholds come from the campaign file's ``duplicates`` section
(``contracts.campaign.DuplicateRules``): ``suggest_duplicates(new, existing,
window_days=campaign.duplicates.window_days, threshold=campaign.duplicates.threshold)``.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

NO_CATEGORY_THRESHOLD_RISE = 0.1


@dataclass(frozen=True)
class Candidate:
    """What the comparison needs of a problem."""

    problem_id: str
    unit: str | None
    category: str | None
    title: str
    description: str
    registered_at: datetime


@dataclass(frozen=True)
class Suggestion:
    """A possible duplicate of the new problem; ``score`` is the text similarity (0..1)."""

    problem_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


def normalise(text: str) -> str:
    """NFKC, lower case, letters and digits only."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def bigrams(text: str) -> frozenset[str]:
    """The set of character bigrams of the normalised text (a single character stands alone)."""
    norm = normalise(text)
    if len(norm) == 1:
        return frozenset((norm,))
    return frozenset(norm[i:i + 2] for i in range(len(norm) - 1))


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the bigram sets, in [0, 1]; 0 when either text has no letters."""
    return _dice(bigrams(a), bigrams(b))


def suggest_duplicates(new: Candidate, existing: Iterable[Candidate], *, window_days: int = 30,
                       threshold: float = 0.5, limit: int = 5) -> list[Suggestion]:
    """Existing problems that may be the same as ``new``, best first (at most ``limit``).

    A candidate must be at the same unit as ``new`` (both known; a new problem without a unit has
    no suggestions) and in the same category (both known). When ``new`` has no category yet the
    same unit is enough, but the threshold rises by 0.1. It must be registered within
    ``window_days`` of ``new`` (either side), and the similarity of title + description must reach
    the threshold (bigrams of the title and of the description, pooled). Ties are broken by the nearer registration, then the problem id.
    """
    if window_days < 0:
        raise ValueError("window_days must not be negative")
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not new.unit:
        return []
    needed = threshold if new.category else min(1.0, threshold + NO_CATEGORY_THRESHOLD_RISE)
    window = timedelta(days=window_days)
    new_grams = _grams(new)
    found: list[tuple[float, timedelta, str, Suggestion]] = []
    for old in existing:
        if old.problem_id == new.problem_id or old.unit != new.unit:
            continue
        if new.category and old.category != new.category:
            continue
        apart = abs(new.registered_at - old.registered_at)
        if apart > window:
            continue
        score = _dice(new_grams, _grams(old))
        if score < needed:
            continue
        reasons = [f"same unit {new.unit}"]
        if new.category:
            reasons.append(f"same category {new.category}")
        else:
            reasons.append(f"no category yet: unit alone, threshold raised to {needed:.2f}")
        reasons.append(f"registered {_days(apart)} apart")
        reasons.append(f"text similarity {score:.2f} (threshold {needed:.2f})")
        found.append((score, apart, old.problem_id,
                      Suggestion(old.problem_id, round(score, 4), reasons)))
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [item[3] for item in found[:limit]]


def _grams(c: Candidate) -> frozenset[str]:
    """Bigrams of title and description, each on its own (no bigram across the two)."""
    return bigrams(c.title) | bigrams(c.description)


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _days(apart: timedelta) -> str:
    days = apart.total_seconds() / 86400
    return f"{days:.0f} day" + ("" if round(days) == 1 else "s")
