"""How well the query parser reads queries (``manage.py evaluate_query_parser``): a labelled set — each query with
the description expected to remain and the parts expected understood — parsed, and the figures: exact matches,
per-kind precision and recall, traps (queries that must stay plain words) that became filters, and each miss.

The shipped set is ``bench/query_set.json`` (its own ``today`` and library: places, aliases, profiles); a
user's file has the same shape, and ``--library`` reads it against the real library's names instead."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from search.query.parser import ParsedQuery, Vocabulary, query_parse

SHIPPED_SET = Path(__file__).with_name("query_set.json")


def query_set_load(path: Path | str = SHIPPED_SET) -> dict:
    """The set at ``path``: ``today`` (a date; today when the file has none), ``vocabulary`` (a ``Vocabulary``) and
    ``queries`` (dicts: query, description, understood — a list of {kind, text, value} —, trap)."""
    data = json.loads(Path(path).read_text())
    vocabulary = data.get("vocabulary") or {}
    return {
        "today": date.fromisoformat(data["today"]) if data.get("today") else date.today(),
        "vocabulary": Vocabulary.from_names(
            places=vocabulary.get("places", ()),
            profiles=vocabulary.get("profiles", ()),
            aliases=vocabulary.get("aliases"),
            persons=vocabulary.get("persons", ()),
        ),
        "queries": data["queries"],
    }


def _parts(parsed: ParsedQuery) -> list[tuple[str, str, str]]:
    return [(part.kind, part.text, part.value) for part in parsed.understood]


def query_parser_evaluate(*, queries: list[dict], vocabulary: Vocabulary, today: date) -> dict:
    """Parse every query and compare. Returns: ``queries``, ``exact`` (share parsed exactly: same description, same
    parts in order), ``kinds`` (kind → precision, recall, expected, found), ``traps``, ``traps_filtered`` (traps
    that became a filter) and ``misses`` (query, expected, got)."""
    exact, traps, traps_filtered, misses = 0, 0, 0, []
    hits, expected_count, found_count = Counter(), Counter(), Counter()
    for item in queries:
        parsed = query_parse(item["query"], vocabulary=vocabulary, today=today)
        expected = [(part["kind"], part["text"], part["value"]) for part in item.get("understood", ())]
        got = _parts(parsed)
        description = item.get("description", item["query"] if not expected else None)
        for kind, *_ in expected:
            expected_count[kind] += 1
        for kind, *_ in got:
            found_count[kind] += 1
        for part in set(expected) & set(got):
            hits[part[0]] += 1
        if item.get("trap"):
            traps += 1
            traps_filtered += bool(got)
        if got == expected and (description is None or parsed.description == " ".join(description.split())):
            exact += 1
        else:
            misses.append(
                {
                    "query": item["query"],
                    "expected": {"description": description, "understood": expected},
                    "got": {"description": parsed.description, "understood": got},
                }
            )
    kinds = {
        kind: {
            "precision": hits[kind] / found_count[kind] if found_count[kind] else None,
            "recall": hits[kind] / expected_count[kind] if expected_count[kind] else None,
            "expected": expected_count[kind],
            "found": found_count[kind],
        }
        for kind in sorted(expected_count | found_count)
    }
    return {
        "queries": len(queries),
        "exact": exact / len(queries) if queries else 0.0,
        "kinds": kinds,
        "traps": traps,
        "traps_filtered": traps_filtered,
        "misses": misses,
    }


def query_parser_report(figures: dict) -> str:
    """The figures as text, for people."""
    lines = [
        f"{figures['queries']} queries: {figures['exact']:.1%} parsed exactly; "
        f"{figures['traps_filtered']} of {figures['traps']} traps became a filter.",
        "",
        f"{'kind':<12} {'precision':>9} {'recall':>7} {'expected':>8} {'found':>6}",
    ]
    for kind, row in figures["kinds"].items():
        precision = "-" if row["precision"] is None else f"{row['precision']:.1%}"
        recall = "-" if row["recall"] is None else f"{row['recall']:.1%}"
        lines.append(f"{kind:<12} {precision:>9} {recall:>7} {row['expected']:>8} {row['found']:>6}")
    for miss in figures["misses"]:
        lines += [
            "",
            f"miss: {miss['query']}",
            f"  expected: {miss['expected']['description']!r} {miss['expected']['understood']}",
            f"  got:      {miss['got']['description']!r} {miss['got']['understood']}",
        ]
    return "\n".join(lines)
