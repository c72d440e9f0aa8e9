from django.core.management.base import BaseCommand

from search.services.persons import persons_recluster


class Command(BaseCommand):
    help = (
        "Group every face into persons again from scratch (after changing PHOTOSEARCH_FACES_DISTANCE or the seed "
        "rules). Each old person is carried over to the new group sharing most of its faces: its id, typed name and "
        "hidden flag survive. Names from the posts are chosen again."
    )

    def handle(self, *args, **options):
        self.stdout.write(self.style.SUCCESS(str(persons_recluster())))
