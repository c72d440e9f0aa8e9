"""Shared pieces of the hardening tests: a small embedded library, tokens, a counter of generated inputs, and the
environment for real subprocesses (manage.py, gunicorn, celery) that must use this test run's database."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# How many generated inputs each fuzz test sent, printed at the end of the run (docs/reliability.md quotes it).
INPUTS_SENT: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter):
    if INPUTS_SENT:
        terminalreporter.write_sep("-", f"hardening: {sum(INPUTS_SENT.values())} generated inputs sent")
        for name, count in sorted(INPUTS_SENT.items()):
            terminalreporter.write_line(f"  {count:6d}  {name}")
        out = os.environ.get("PHOTOSEARCH_FUZZ_COUNTS")
        if out:
            Path(out).write_text(json.dumps(dict(INPUTS_SENT), indent=1))


def subprocess_env(media_root: Path, **extra: str) -> dict[str, str]:
    """Environment of a real ``manage.py``/gunicorn/celery child that shares this test's database and media."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "photosearch.settings",
        "PHOTOSEARCH_CLIP_MODEL": "photosearch-tiny",
        "PHOTOSEARCH_CLIP_PRETRAINED": "none",
        "PHOTOSEARCH_DEVICE": "cpu",
        "PHOTOSEARCH_AUTO_EMBED": "false",
        "PHOTOSEARCH_DATA_DIR": str(settings.DATA_DIR),
        "PHOTOSEARCH_MEDIA_ROOT": str(media_root),
        "PHOTOSEARCH_EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("CELERY_BROKER_URL", None)
    if settings.DATABASE_URL:
        env["DATABASE_URL"] = settings.DATABASE_URL.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    return env


@pytest.fixture
def no_throttle(settings):
    """Fuzzing sends hundreds of anonymous requests a minute: lift the anonymous rate limit (tested elsewhere)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None}}
