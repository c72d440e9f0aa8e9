"""Faces grouped into persons and named from the posts, on real photos of faces (tests/data/faces): one person per
identity, never two identities in one; names from an instaloader folder's per-image tags and from sidecars'
@mentions; typed names through a recluster; nothing left after faces_forget."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from profiles.models import Photo
from search.models import Face, FaceScan, Person
from search.services.faces import photos_find_faces
from search.services.person_names import person_evidence
from search.services.persons import persons_recluster, persons_update
from tests.search.people import folder_import, folder_of, instagram_post, instaloader_folder, photos_of

pytestmark = pytest.mark.django_db

SALLEY, SAVAGE, SCHNEIDER, SIMM = "john_salley", "john_savage", "john_schneider", "john_simm"


@pytest.fixture(autouse=True)
def faces_on(settings):
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    settings.PHOTOSEARCH_FACES_MIN_GROUP = 3


def identity_of(face: Face, *, files: dict[str, str] | None = None) -> str:
    """The labelled identity of a face's photo: from its file name (a folder import), or through ``files`` (source
    id → file name: an Instagram import)."""
    name = (files or {}).get(face.photo.source_id, face.photo.source_id)
    return name.rsplit("/", 1)[-1].rsplit("_", 1)[0]


def persons_by_identity(*, files: dict[str, str] | None = None) -> dict[str, set[int | None]]:
    """Identity → the persons its faces were put in (None: no person)."""
    found: dict[str, set[int | None]] = {}
    for face in Face.objects.select_related("photo"):
        found.setdefault(identity_of(face, files=files), set()).add(face.person_id)
    return found


def identities_by_person() -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for face in Face.objects.filter(person__isnull=False).select_related("photo"):
        found.setdefault(face.person_id, set()).add(identity_of(face))
    return found


def scanned_and_grouped(tmp_path, names: list[str], *, folder: str = "faces", profile: str = "faces") -> None:
    folder_import(folder_of(tmp_path / folder, names), profile=profile)
    photos_find_faces()
    persons_update()


def test_each_identity_seen_in_three_photos_or_more_becomes_one_person_of_its_own(tmp_path):
    names = [*photos_of(SALLEY)[:4], *photos_of(SAVAGE)[:4], *photos_of(SCHNEIDER)[:3], photos_of(SIMM)[0]]

    scanned_and_grouped(tmp_path, names)

    groups = persons_by_identity()
    assert all(len(groups[who]) == 1 and None not in groups[who] for who in (SALLEY, SAVAGE, SCHNEIDER))
    assert groups[SIMM] == {None}  # one photo: no group of three to found a person
    assert all(len(identities) == 1 for identities in identities_by_person().values())
    assert Person.objects.count() == 3


def test_new_faces_join_their_person_and_small_faces_join_without_founding_one(tmp_path, settings):
    scanned_and_grouped(tmp_path, photos_of(SALLEY)[:3], folder="first")
    (person,) = Person.objects.all()
    settings.PHOTOSEARCH_FACES_SEED_SIZE = 10_000  # from now on no face is big enough to found a person

    scanned_and_grouped(tmp_path, [*photos_of(SALLEY)[3:6], *photos_of(SAVAGE)[:4]], folder="second")

    assert Person.objects.get() == person
    assert persons_by_identity() == {SALLEY: {person.pk}, SAVAGE: {None}}
    assert Face.objects.filter(person__isnull=True).count() == 4  # kept, waiting for a person to join


def test_a_face_never_joins_a_person_already_in_its_photo_nor_one_it_was_taken_from(tmp_path):
    scanned_and_grouped(tmp_path, photos_of(SALLEY)[:4])
    (person,) = Person.objects.all()
    face = Face.objects.order_by("id").last()
    Face.objects.filter(pk=face.pk).update(person=None, rejected_person=person)

    summary = persons_update()

    assert summary.joined == 0 and Face.objects.get(pk=face.pk).person_id is None


def test_typed_names_hidden_flags_and_ids_survive_a_recluster(tmp_path, settings):
    scanned_and_grouped(tmp_path, [*photos_of(SALLEY)[:4], *photos_of(SAVAGE)[:4]])
    salley, savage = (next(iter(persons_by_identity()[who])) for who in (SALLEY, SAVAGE))
    Person.objects.filter(pk=salley).update(name="John S.")
    Person.objects.filter(pk=savage).update(hidden=True)
    settings.PHOTOSEARCH_FACES_DISTANCE = 0.5

    summary = persons_recluster()
    out = StringIO()
    call_command("recluster_faces", stdout=out)

    assert persons_by_identity() == {SALLEY: {salley}, SAVAGE: {savage}}
    assert (summary.carried_over, summary.created, summary.lost_names) == (2, 0, [])
    assert Person.objects.get(pk=salley).name == "John S." and Person.objects.get(pk=savage).hidden
    assert Person.objects.count() == 2 and "2 persons carried over" in out.getvalue()


def test_faces_forget_leaves_no_face_crop_scan_or_person(tmp_path, django_capture_on_commit_callbacks):
    scanned_and_grouped(tmp_path, photos_of(SALLEY)[:3])
    crops = list(Face.objects.values_list("crop", flat=True))
    assert crops and Person.objects.exists() and all(default_storage.exists(name) for name in crops)

    with pytest.raises(CommandError, match="--yes-really"):
        call_command("faces_forget")
    assert Face.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        call_command("faces_forget", "--yes-really", stdout=StringIO())

    assert (Face.objects.count(), FaceScan.objects.count(), Person.objects.count()) == (0, 0, 0)
    assert not any(default_storage.exists(name) for name in crops)
    shards = default_storage.listdir("faces")[0]
    assert [name for shard in shards for name in default_storage.listdir(f"faces/{shard}")[1]] == []
    assert Photo.objects.count() == 3


# --- Names from the posts ---------------------------------------------------------------------------------------


def test_persons_are_named_by_the_accounts_tagged_on_each_image_of_an_instaloader_folder(tmp_path):
    salley, savage, schneider, simm = (photos_of(who) for who in (SALLEY, SAVAGE, SCHNEIDER, SIMM))
    posts = [
        instagram_post("C1salley001", 1, "Dinner with @joe.friend", [(salley[0], ("salley.j",))]),
        instagram_post("C2salley002", 2, "Beach", [(salley[1], ("salley.j", "savage.j"))]),
        # A carousel: each image names the people on it (the post's people are both).
        instagram_post("C3carousel1", 3, "Two friends", [(salley[2], ("salley.j",)), (savage[0], ("savage.j",))]),
        instagram_post("C4carousel2", 4, "Again", [(salley[3], ("salley.j",)), (savage[1], ("savage.j",))]),
        instagram_post("C5savage001", 5, "Hike", [(savage[2], ("savage.j",))]),
        # Never tagged: the owner's handle (on every post) does not name them.
        *(instagram_post(f"C6owner{i:04d}", 6 + i, "Me again, @alice", [(schneider[i], ())]) for i in range(3)),
        # The owner tagged on her own photos does name her.
        *(instagram_post(f"C7self{i:05d}", 10 + i, "Selfie", [(simm[i], ("alice",))]) for i in range(3)),
    ]
    folder = instaloader_folder(tmp_path / "alice", posts)
    call_command("import_instagram", "alice", "--from-dir", str(folder), "--no-embed", stdout=StringIO())
    photos_find_faces()

    summary = persons_update()

    files = {
        f"{node['code']}_{i}" if len(names) > 1 else node["code"]: name
        for node, names in posts
        for i, name in enumerate(names, start=1)
    }
    grouped = persons_by_identity(files=files)
    assert all(len(ids) == 1 and None not in ids for ids in grouped.values())
    person = {who: Person.objects.get(pk=next(iter(ids))) for who, ids in grouped.items()}
    assert summary.named == 3
    assert (person[SALLEY].handle, person[SAVAGE].handle, person[SCHNEIDER].handle) == ("salley.j", "savage.j", "")
    assert person[SIMM].handle == "alice"
    assert person[SALLEY].name_evidence == {
        "handle": "salley.j",
        "source": "tagged",
        "tagged": 4,
        "mentioned": 0,
        "photos": 4,
        "next": 1,  # savage.j, tagged on the beach photo beside them
    }
    assert person[SAVAGE].name_evidence["tagged"] == 3 and person[SAVAGE].name_evidence["next"] == 0
    assert person[SALLEY].shown_name == "@salley.j"


def test_persons_are_named_by_the_mentions_in_a_folders_sidecars_and_a_typed_name_stays(tmp_path):
    # Four photos: two of the first three are 0.555 apart, too far to found a person by themselves (all mutually
    # within PHOTOSEARCH_FACES_DISTANCE); with a fourth the group forms and the third joins it.
    shimkus, simm = photos_of("john_shimkus")[:4], photos_of(SIMM)[:3]
    sidecars = {
        shimkus[0]: "Lunch with @shimkus.j",
        shimkus[1]: "@shimkus.j and @someone.else",
        shimkus[2]: "Conference day",
        simm[0]: "With @simm.j",  # once: not enough
        simm[1]: "Hello",
        simm[2]: "",
    }
    folder = folder_of(tmp_path / "faces", [*shimkus, *simm], sidecars={k: v for k, v in sidecars.items() if v})
    folder_import(folder)
    photos_find_faces()
    persons_update()
    by_identity = {who: Person.objects.get(pk=next(iter(ids))) for who, ids in persons_by_identity().items()}
    by_identity[SIMM].name = "John Simm"
    by_identity[SIMM].save()

    persons_update()

    shimkus_person = Person.objects.get(pk=by_identity["john_shimkus"].pk)
    simm_person = Person.objects.get(pk=by_identity[SIMM].pk)
    assert (shimkus_person.handle, shimkus_person.name_evidence["source"]) == ("shimkus.j", "mention")
    assert (shimkus_person.name_evidence["mentioned"], shimkus_person.name_evidence["next"]) == (2, 1)
    assert (simm_person.handle, simm_person.name, simm_person.shown_name) == ("", "John Simm", "John Simm")


@pytest.mark.parametrize(
    "photos, handle",
    [
        ([({"ana"}, set()), ({"ana"}, set()), (set(), set())], "ana"),  # on 2 of its 3 photos, alone
        ([({"ana"}, set()), (set(), set())], ""),  # on one photo only
        ([({"ana", "bo"}, set()), ({"ana", "bo"}, set()), ({"ana"}, set())], ""),  # bo too close behind (3 vs 2)
        ([({"ana"}, set()), ({"ana"}, set()), ({"bo"}, set()), ({"cy"}, set()), ({"dee"}, set())], ""),  # 2 of 5
        ([(set(), {"ana"}), (set(), {"ana"}), ({"bo"}, set())], "ana"),  # tags decide nothing: mentions do
        ([({"bo"}, set()), ({"bo"}, {"ana"}), (set(), {"ana"}), (set(), {"ana"})], "bo"),  # tags first
    ],
)
def test_a_handle_names_a_person_only_when_it_is_on_two_photos_and_clearly_leads(photos, handle):
    assert person_evidence(photos=photos).get("handle", "") == handle
