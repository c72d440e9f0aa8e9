"""How the bench commands print their figures."""

from __future__ import annotations

import json


def figures_text(figures: dict, *, as_json: bool) -> str:
    """One JSON object (``--json``), or a line per figure with the names aligned."""
    if as_json:
        return json.dumps(figures)
    width = max(map(len, figures), default=0)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in figures.items())
