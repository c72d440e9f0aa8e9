"""How the words channel reads a query: words, "quoted phrases" and -exclusions. Pure text, no database access.

A photo is a candidate when it holds ANY query word (``words="all"``: every one); a quoted phrase must be held as is;
an exclusion drops every photo holding it. Stop words of the query's language match nothing: their unstemmed copy is
in nearly every photo, so they would rank by chance (the statement drops them: only PostgreSQL knows its stop lists).
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
