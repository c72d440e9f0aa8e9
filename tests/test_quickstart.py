"""A new user's first run, as separate processes on a brand-new data directory: the embedded PostgreSQL is
initialised and started on demand, migrations create the vector extension, and the server is shared by concurrent
processes and stopped when the last one exits."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _manage(*args, data_dir: Path, extra_env: dict | None = None, **kwargs):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="photosearch.settings",
        PHOTOSEARCH_DATA_DIR=str(data_dir),
        PHOTOSEARCH_CLIP_MODEL="photosearch-tiny",
        PHOTOSEARCH_CLIP_PRETRAINED="none",
        **(extra_env or {}),
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def _finish(process) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def test_quickstart_on_a_fresh_data_dir_indexes_a_folder(photo_folder, tmp_path):
    root = photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": "Snow on the pass", "bad.jpg": b"junk"})
    data_dir = tmp_path / "data"

    out = _finish(_manage("quickstart", str(root), "--no-serve", data_dir=data_dir))

    assert "photos: 2 imported, 0 updated, 0 unchanged, 1 skipped" in out
    assert "2 embedded with photosearch-tiny/random-seed0" in out
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert len(list((data_dir / "media" / "thumbnails").rglob("*.jpg"))) == 2

    # Two processes at once share the one embedded server.
    query = (
        "from django.db import connection; c = connection.cursor(); "
        "c.execute(\"SELECT extversion FROM pg_extension WHERE extname = 'vector'\"); v = c.fetchone()[0]; "
        "from search.selectors import photo_search; "
        "print(v, [h.photo.source_id for h in photo_search(query='snow pass').hits][0])"
    )
    readers = [_manage("shell", "-c", query, data_dir=data_dir) for _ in range(2)]
    outputs = [_finish(reader) for reader in readers]
    assert all(output.split()[-1] == "b.jpg" for output in outputs)
    assert all(output.split()[-2].startswith("0.8") for output in outputs)  # pgvector 0.8.x

    # The last process to leave stops the server.
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()

    # The server's own settings (photosearch.conf) apply when it starts again.
    show = (
        "from django.db import connection; c = connection.cursor(); c.execute('SHOW shared_buffers'); "
        "print(c.fetchone()[0])"
    )
    out = _finish(
        _manage("shell", "-c", show, data_dir=data_dir, extra_env={"PHOTOSEARCH_EMBEDDED_SHARED_BUFFERS": "160MB"})
    )
    assert out.split()[-1] == "160MB"
    assert (data_dir / "pgdata" / "postgresql.conf").read_text().count("include_if_exists = 'photosearch.conf'") == 1
