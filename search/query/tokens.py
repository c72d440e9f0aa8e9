"""A query cut into tokens for the query parser (``search.query.parser``): each token's place in the query (so the
description is the query minus the understood spans, as typed), its folded form (compared), and whether it is
protected — inside double quotes or an ``-exclusion``, never parsed. Pure text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Straight and typographic double quotes open and close a phrase alike (a lone one runs to the end, as in the words
# channel, ``search.ranking.words``).
QUOTES = '"“”„«»'
_EDGE_PUNCTUATION = ".,;:!?()[]{}¿¡…"
# French and Italian elisions ("l'été", "d'août", "dell'estate") are two tokens: the article is matched on its own.
_ELISION = re.compile(r"^((?:[cdjlmnst]|qu|dell|all|nell|dall)')(.+)$", re.IGNORECASE)


def fold(text: str) -> str:
    """Text as compared: accents, case and spacing ignored ("São  Paulo" → "sao paulo", "Zürich" → "zurich"). The
    place filters fold names with it too (``search.inputs.place_folded``), so a query word meets a stored name."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().split())


@dataclass(frozen=True)
class Token:
    start: int  # offsets in the query, the token's punctuation included
    end: int
    key: str  # folded, edge punctuation stripped ("Lisbon," → "lisbon")
    protected: bool  # quoted or excluded: a word whatever it says


def tokenize(query: str) -> list[Token]:
    """The query's tokens in order."""
    quoted = _quoted_offsets(query)
    tokens: list[Token] = []
    for match in re.finditer(r"\S+", query):
        start, end = match.span()
        raw = match.group()
        protected = raw.startswith("-") and len(raw) > 1 or any(i in quoted for i in range(start, end))
        core_start = start + len(raw) - len(raw.lstrip(_EDGE_PUNCTUATION + QUOTES))
        core = query[core_start:end].rstrip(_EDGE_PUNCTUATION + QUOTES)
        if (elided := _ELISION.match(core.replace("’", "'"))) and not protected:
            cut = core_start + len(elided.group(1))
            tokens.append(Token(start, cut, fold(elided.group(1)), protected))
            tokens.append(Token(cut, end, fold(elided.group(2)), protected))
        elif core:
            # "à" keeps its accent: folded it would be the English article "a" ("a paris street").
            tokens.append(Token(start, end, "à" if core.casefold() == "à" else fold(core), protected))
    return tokens


def _quoted_offsets(query: str) -> set[int]:
    inside, offsets = False, set()
    for i, ch in enumerate(query):
        if ch in QUOTES:
            offsets.add(i)
            inside = not inside
        elif inside:
            offsets.add(i)
    return offsets


def keys(phrase: str) -> tuple[str, ...]:
    """A table's phrase as the tokens' keys it must meet ("l'année dernière" → ("l'", "annee", "derniere"))."""
    return tuple(token.key for token in tokenize(phrase))


def phrase_at(tokens: list[Token], i: int, phrase: tuple[str, ...], taken: set[int]) -> int:
    """How many tokens ``phrase`` (its keys) spans at ``i``, or 0 when it isn't there (or a token of it is
    protected or already taken)."""
    if not phrase or i + len(phrase) > len(tokens):
        return 0
    for offset, word in enumerate(phrase):
        if tokens[i + offset].key != word or not free(tokens, i + offset, taken):
            return 0
    return len(phrase)


def free(tokens: list[Token], i: int, taken: set[int]) -> bool:
    """Token ``i`` exists, isn't protected and isn't part of an understood span yet."""
    return 0 <= i < len(tokens) and not tokens[i].protected and i not in taken
