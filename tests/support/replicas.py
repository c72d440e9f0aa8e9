"""``manage.py`` children whose database is a streaming pair (tests/standby.py): its primary as DATABASE_URL, its
standby as the one read replica. Shared by tests/test_replicas.py and the hardening tests (not a test module)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def pair_env(pair, data_dir: Path) -> dict[str, str]:
    """A child's environment: the pair's primary as DATABASE_URL, its standby as the one replica."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "PHOTOSEARCH_"))},
        "DJANGO_SETTINGS_MODULE": "photosearch.settings",
        "DATABASE_URL": pair.primary_url,
        "DATABASE_REPLICA_URLS": pair.standby_url,
        "PHOTOSEARCH_REPLICA_RETRY_SECONDS": "1",
        "PHOTOSEARCH_DATA_DIR": str(data_dir),
        "PHOTOSEARCH_CLIP_MODEL": "photosearch-tiny",
        "PHOTOSEARCH_CLIP_PRETRAINED": "none",
        "PHOTOSEARCH_DEVICE": "cpu",
        "PHOTOSEARCH_AUTO_EMBED": "false",
        "PHOTOSEARCH_OCR": "none",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "PYTHONUNBUFFERED": "1",
    }
