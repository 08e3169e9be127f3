"""Background work of the assessment (huey): building the bulletins that were asked for."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from . import services


@db_task()
def run_bulletin(bulletin_id: int) -> str:
    """Build one requested bulletin (snapshot, .xlsx and PDF files); returns its status."""
    return services.bulletin_build(bulletin_id=bulletin_id).status
