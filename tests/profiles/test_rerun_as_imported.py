"""A profile remembers how it was imported (a download folder read offline, a login) and every rerun — the command
without its flags, the API, the admin's "Import now" and "Fast update" — goes the same way; pages and the admin say
what to do when an import stops. Instagram is down in these tests: instaloader gets a context whose every network
method raises what a dead network makes it raise, and the CDN fetcher fails the test."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import instaloader
import pytest
from django.core.management import call_command
from instaloader import InstaloaderContext

from profiles.models import ImportJob, Photo, Profile
from profiles.selectors import import_job_status_words
from profiles.services.imports import import_job_create, import_job_run
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceNotFound, SourceUnavailable
from profiles.sources.instagram import live as instagram
from profiles.sources.instagram.offline import OfflineContext
from profiles.sources.registry import SourceOptionsInvalid, source_options_check
from tests.profiles.sources.instagram.downloads import POSTS, download
from tests.profiles.sources.instagram.fake_instagram import NETWORK_DOWN
from tests.support.api import api, make_tokens

pytestmark = pytest.mark.django_db(transaction=True)

OFFLINE_IDS = {"Bsingle0001", "Bcarousel01_1", "Bcarousel01_2", "Bvideo00001"}


class NetworkDown(InstaloaderContext):
    """What instaloader meets with no network: every request raises the ConnectionException it raises then."""

    def __init__(self) -> None:
        super().__init__(sleep=False, quiet=True, max_connection_attempts=1, iphone_support=False)
        self.requests: list[str] = []


def _down(method: str):
    def fail(self, *args, **kwargs):
        self.requests.append(method)
        raise NETWORK_DOWN

    return fail


for _method in OfflineContext.NETWORK_METHODS:
    setattr(NetworkDown, _method, _down(_method))


@pytest.fixture
def instagram_down(monkeypatch) -> list[NetworkDown]:
    """Instagram unreachable for the live importer; the contexts it was given, to see whether it was asked."""
    contexts: list[NetworkDown] = []

    def loader() -> instaloader.Instaloader:
        built = instaloader.Instaloader(sleep=False, quiet=True)
        built.context = NetworkDown()
        contexts.append(built.context)
        return built

    monkeypatch.setattr(instagram, "default_loader", loader)
    monkeypatch.setattr("profiles.fetch._session", lambda: pytest.fail("the import fetched from the network"))
    return contexts


@pytest.fixture
def offline_alice(tmp_path) -> Profile:
    """alice, imported offline with `import_instagram alice --from-dir FOLDER` (4 images)."""
    folder = download(tmp_path / "alice", POSTS, metadata=True)
    out = StringIO()
    call_command(
        "import_instagram",
        "alice",
        "--from-dir",
        str(folder),
        "--no-progress",
        "--no-embed",
        stdout=out,
        stderr=StringIO(),
    )
    assert "alice: 4 imported" in out.getvalue()
    return Profile.objects.get(handle="alice")


def assert_reran_offline(job: ImportJob, contexts: list[NetworkDown]) -> None:
    assert (job.status, job.last_error, job.imported, job.unchanged) == ("succeeded", "", 0, 4)
    assert contexts == []  # the live importer was never even built
    assert set(Photo.objects.values_list("source_id", flat=True)) == OFFLINE_IDS


def test_the_profile_remembers_the_download_folder(offline_alice, tmp_path):
    assert offline_alice.source_options == {"from_dir": str((tmp_path / "alice").resolve())}


def test_a_rerun_through_the_api_reads_the_folder_again_without_the_network(
    live_server, offline_alice, instagram_down, django_user_model
):
    staff = make_tokens(django_user_model)["staff"]

    status, _, body = api(live_server, "POST", f"/api/v1/profiles/{offline_alice.pk}/imports/", token=staff)

    assert status == 202, body
    assert (body["status"], body["last_error"] or "") == ("succeeded", ""), body["last_error"]
    assert body["next_step"] is None
    assert_reran_offline(ImportJob.objects.get(pk=body["id"]), instagram_down)


@pytest.mark.parametrize("action", ["import_now", "fast_update"])
def test_the_admin_actions_rerun_offline_too(
    admin_client, offline_alice, instagram_down, action, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/profiles/profile/", {"action": action, "_selected_action": [offline_alice.pk]}
        )

    assert response.status_code == 302
    assert_reran_offline(ImportJob.objects.latest("created_at"), instagram_down)


def test_the_command_without_from_dir_reruns_offline(offline_alice, instagram_down):
    out = StringIO()

    call_command("import_instagram", "alice", "--no-progress", "--no-embed", stdout=out, stderr=StringIO())

    assert "alice: 0 imported, 0 updated, 4 unchanged" in out.getvalue()
    assert_reran_offline(ImportJob.objects.latest("created_at"), instagram_down)


def test_a_profile_imported_offline_before_profiles_remembered_the_folder_reruns_it(offline_alice, instagram_down):
    # As an older version left it: the folder named by the job only, nothing on the profile.
    folder = offline_alice.source_options["from_dir"]
    Profile.objects.update(source_options={})
    ImportJob.objects.update(options={"from_dir": folder})

    job = import_job_run(job_id=import_job_create(profile=offline_alice).pk)

    assert_reran_offline(job, instagram_down)


def test_one_way_to_reach_instagram_replaces_the_other(tmp_path):
    folder = tmp_path / "dl"
    folder.mkdir()
    profile = profile_get_or_create(source_kind="instagram", handle="alice", source_options={"from_dir": str(folder)})

    profile = profile_get_or_create(source_kind="instagram", handle="alice", source_options={"login": "bob"})
    assert profile.source_options == {"login": "bob"}
    profile = profile_get_or_create(source_kind="instagram", handle="alice", source_options={"from_dir": str(folder)})
    assert profile.source_options == {"from_dir": str(folder)}
    with pytest.raises(SourceOptionsInvalid) as refused:
        source_options_check(kind="instagram", options={"login": "bob", "from_dir": str(folder)})
    assert "read offline, without a login" in refused.value.errors["from_dir"][0]


# --- What the pages say when an import stops ------------------------------------------------------------------------

UNREACHABLE = (
    "Instagram could not be reached: rerun when online, or import from a download folder with "
    "import_instagram alice --from-dir FOLDER."
)


@pytest.fixture
def alice_offline_line(instagram_down) -> ImportJob:
    """A live import of alice while Instagram cannot be reached."""
    profile = profile_get_or_create(source_kind="instagram", handle="alice")
    with pytest.raises(SourceUnavailable):
        import_job_run(job_id=import_job_create(profile=profile).pk)
    assert instagram_down and instagram_down[0].requests  # it did try, and met the dead network
    return ImportJob.objects.get()


@pytest.mark.browser
def test_the_profiles_page_says_what_to_do_when_instagram_cannot_be_reached(live_server, page, alice_offline_line):
    page.goto(live_server.url + "/profiles/")

    row = page.locator("tr[data-profile=alice]")
    assert row.locator(".status").inner_text() == "Interrupted"
    assert row.locator(".next-step").inner_text() == UNREACHABLE
    assert "Could not reach Instagram" in row.locator(".job-error").inner_text()  # the reason, below


def test_the_admin_says_it_in_the_same_words(admin_client, alice_offline_line):
    profiles = admin_client.get("/admin/profiles/profile/").content.decode()
    jobs = admin_client.get("/admin/profiles/importjob/").content.decode()
    detail = admin_client.get(f"/admin/profiles/profile/{alice_offline_line.profile_id}/change/").content.decode()

    assert f"Interrupted (0 new) — {UNREACHABLE}" in profiles
    assert UNREACHABLE in jobs and UNREACHABLE in detail


def test_a_missing_folder_a_refusal_and_a_busy_profile_each_say_what_to_do(offline_alice, instagram_down):
    for path in Path(offline_alice.source_options["from_dir"]).iterdir():
        path.unlink()
    Path(offline_alice.source_options["from_dir"]).rmdir()
    with pytest.raises(SourceNotFound, match="is not a folder"):
        import_job_run(job_id=import_job_create(profile=offline_alice).pk)
    failed = ImportJob.objects.latest("created_at")
    refused = ImportJob.objects.create(profile=offline_alice, status="refused")
    throttled = ImportJob.objects.create(profile=offline_alice, status="interrupted", options={"stopped_by": "refused"})

    assert import_job_status_words(job=failed) == (
        "Failed",
        "Not found (see why below): correct the profile's name, folder or file in the admin, then import again.",
    )
    assert "is not a folder" in failed.last_error
    assert import_job_status_words(job=refused) == (
        "Not run",
        "Another import of this profile was running: import again when it has ended.",
    )
    assert import_job_status_words(job=throttled)[1].startswith("Instagram refused (see why below): do what it asks")
