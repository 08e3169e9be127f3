"""Background work of the geometry app (huey)."""

from __future__ import annotations

from collections.abc import Sequence

from huey.contrib.djhuey import db_task

from .assign import run_reassign_job


@db_task()
def run_reassign(job_id: int | None, bbox: Sequence[float] | None = None) -> None:
    """Re-assign located rows to grids after boundaries changed (see ``assign.reassign_rows``);
    progress goes to the ``BackgroundJob`` when there is one."""
    run_reassign_job(job_id, bbox)
