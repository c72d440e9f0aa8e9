import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from profiles.models import Photo

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_embed_photos_embeds_a_profile_and_reports_the_model(photo_folder, encoder):
    call_command("import_folder", str(photo_folder({"a.jpg": 1, "b.jpg": 2})), "--profile", "p", stdout=StringIO())
    out = StringIO()

    call_command("embed_photos", "--profile", "p", "--batch-size", "1", stdout=out, stderr=StringIO())

    assert "2 embedded with photosearch-tiny/random-seed0, 0 failed" in out.getvalue()
    assert not Photo.objects.filter(embedding__isnull=True).exists()


def test_embed_photos_refuses_an_unknown_profile():
    with pytest.raises(CommandError, match="No profile named 'ghost'"):
        call_command("embed_photos", "--profile", "ghost")


def test_without_weights_embed_photos_fails_with_one_sentence_and_no_traceback(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "photosearch.settings",
        "PHOTOSEARCH_CLIP_MODEL": "photosearch-tiny",
        "PHOTOSEARCH_CLIP_PRETRAINED": str(tmp_path / "missing.pt"),
        "PHOTOSEARCH_DATA_DIR": str(tmp_path / "data"),
        # Without the model the words are still read and faces found (tests/test_first_hour_offline.py); this
        # database has no tables to read them from.
        "PHOTOSEARCH_OCR": "none",
        "PHOTOSEARCH_FACES": "none",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "embed_photos"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("CommandError")]
    assert error_lines == [
        f"CommandError: Checkpoint file {tmp_path / 'missing.pt'} (PHOTOSEARCH_CLIP_PRETRAINED) does not exist; "
        "point it at a downloaded open_clip checkpoint for photosearch-tiny."
    ]
