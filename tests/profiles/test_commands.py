from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiles.models import Photo

pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_folder_names_each_skipped_file_and_summarises(photo_folder):
    root = photo_folder({"a.jpg": 1, "b.jpg": 2, "broken.jpg": b"\xff\xd8\xff not really"})

    out, err = _run("import_folder", str(root), "--profile", "trip")

    assert "trip: 2 imported, 0 updated, 0 unchanged, 1 skipped" in out
    assert "skipped broken.jpg:" in err
    out, _ = _run("import_folder", str(root), "--profile", "trip")
    assert "0 imported, 0 updated, 2 unchanged, 1 skipped" in out
    assert Photo.objects.count() == 2


def test_import_folder_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        _run("import_folder", str(tmp_path / "missing"), "--profile", "trip")
