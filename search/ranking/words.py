"""How the words channel reads a query: words, "quoted phrases" and -exclusions.

People type descriptions, and a description shares some of its words with a photo's text, rarely all of them. So a
photo is a text candidate when it has ANY of the query's words, and ranks higher the more of them it has and the rarer
they are (see ``search.ranking.statement.text_channel``). A quoted phrase keeps its strict meaning (the photo must hold
it, words adjacent and in order), an ``-excluded`` word or ``-"phrase"`` drops every photo that holds it, and
``words="all"`` (``RankingOptions``) asks for every word, as a plain search engine would.

Each word is looked up in every text-search configuration the library's words use (their languages, plus ``simple``
for exact words), so "plages" finds a French caption's "plage" and a word the stemmer would mangle still matches as
typed. Pure text: no database access.

A word that the query's language drops as a stop word ("the", "in" in "dog in the park") is no match at all: its
unstemmed copy is in nearly every photo's words, so it would count as a match that nothing can show, and rank by
chance. The query's language is read as a post's is (``profiles.words.text_config_detect``: English unless the
detector is sure); the statement drops those words (``search.ranking.statement.QUERY_WORDS_CTES``), since only
PostgreSQL knows its configurations' stop lists. A quoted phrase is kept as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from profiles.words import text_config_detect

WORDS_MODES = ("any", "all")
# A token: an optional "-", then a "quoted phrase" (the closing quote may be missing) or a run of non-spaces.
_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
# websearch_to_tsquery's operators; in a description they are words that carry nothing.
_OPERATORS = {"or", "and"}


@dataclass(frozen=True)
class QueryTerm:
    text: str  # a word as typed, or a phrase's words
    phrase: bool  # a quoted phrase: its words adjacent and in order
    required: bool  # the photo must hold it (a phrase always; every word with words="all")


@dataclass(frozen=True)
class QueryWords:
    terms: tuple[QueryTerm, ...] = ()
    excluded: tuple[str, ...] = ()
    language: str = "english"  # the text-search configuration whose stop words are no match

    def __bool__(self) -> bool:
        return bool(self.terms)


def query_words(query: str, *, words: str = "any") -> QueryWords:
    """The terms and exclusions of ``query``; ``words="all"`` makes every word required."""
    terms: dict[tuple[str, bool], QueryTerm] = {}  # one term per distinct text: a repeated word counts once
    excluded: list[str] = []
    for match in _TOKEN.finditer(query):
        minus, quoted, bare = match.group(1), match.group(2), match.group(3)
        phrase = quoted is not None
        text = " ".join((quoted if phrase else bare).split())
        if not text or (not phrase and text.lower() in _OPERATORS):
            continue
        if minus:
            excluded.append(text)
        else:
            terms.setdefault(
                (text.lower(), phrase), QueryTerm(text=text, phrase=phrase, required=phrase or words == "all")
            )
    return QueryWords(
        terms=tuple(terms.values()), excluded=tuple(dict.fromkeys(excluded)), language=text_config_detect(query)
    )
