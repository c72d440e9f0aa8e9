"""What every import_* command shares: run an import job in the foreground with a progress bar, then report."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from tqdm import tqdm

from profiles.models import ImportJob, Profile
from profiles.services.imports import ImportBusy, import_job_create, import_job_run
from profiles.services.photos import ImportCancelled
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceError, SourceRefused, SourceUnavailable
from profiles.sources.registry import SourceOptionsInvalid, source_options_check


def progress_stream(stderr: OutputWrapper):
    """The terminal stream under a command's ``stderr`` for a progress bar, unwrapping a calling command's
    OutputWrapper (which would colour it and break each redraw)."""
    stream: Any = stderr
    while isinstance(stream, OutputWrapper):
        stream = stream._out
    return stream


class ImportCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")
        parser.add_argument(
            "--no-embed",
            action="store_true",
            help="Do not queue the new photos for embedding (run embed_photos later).",
        )

    def profile_for(self, *, kind: str, handle: str, options: dict[str, str]) -> Profile:
        """The ``kind`` profile ``handle`` with ``options`` checked by the source registry (the API's and the
        admin's rules) and remembered on it; CommandError naming the option otherwise."""
        try:
            checked = source_options_check(kind=kind, options=options)
            return profile_get_or_create(source_kind=kind, handle=handle, source_options=checked)
        except SourceOptionsInvalid as exc:
            name, messages = next(iter(exc.errors.items()))
            raise CommandError(f"{options.get(name, name)}: {messages[0]}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def run_import(
        self,
        *,
        profile: Profile,
        job_options: dict,
        no_progress: bool = False,
        no_embed: bool = False,
        **_command_options,
    ) -> ImportJob:
        """Create and run an import job for ``profile``; print skipped items and a summary; CommandError on failure."""
        bar: Any = None  # a tqdm (untyped), made by on_start before the first item

        def on_start(total: int | None) -> None:
            nonlocal bar
            bar = tqdm(
                total=total,
                unit="img",
                desc=f"Importing {profile.handle}",
                disable=no_progress or None,
                file=progress_stream(self.stderr),
            )

        job = import_job_create(profile=profile, options=job_options)
        try:
            job = import_job_run(job_id=job.pk, on_start=on_start, on_item=lambda *_: bar.update(), embed=not no_embed)
        except (ImportBusy, ImportCancelled) as exc:
            # Exit status 1, as for any import that did not complete: a script must not go on.
            raise CommandError(str(exc)) from None
        except SourceError as exc:
            job.refresh_from_db()
            self._report(job)
            hint = (
                " Progress is saved: rerun the same command to continue."
                if isinstance(exc, (SourceRefused, SourceUnavailable))
                else ""
            )
            raise CommandError(f"{exc}{hint}") from None
        finally:
            if bar is not None:
                bar.close()
        self._report(job)
        return job

    def _report(self, job: ImportJob) -> None:
        for source_id, reason in job.problems:
            # repr: a file name may hold a line break, which would forge lines of this report
            self.stderr.write(f"skipped {source_id!r}: {reason}")
        summary = (
            f"{job.profile.handle}: {job.imported} imported, {job.updated} updated, {job.unchanged} unchanged, "
            f"{job.skipped} skipped"
        )
        if job.failed:
            summary += f", {job.failed} failed (rerun to retry)"
        style = self.style.SUCCESS if job.status == ImportJob.Status.SUCCEEDED else self.style.WARNING
        self.stdout.write(style(summary))
