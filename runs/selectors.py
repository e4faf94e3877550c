from django.shortcuts import get_object_or_404

from runs.models import LogChunk, Run, Step

TAIL_CHUNKS = 12
TAIL_LINES = 200


def run_get(*, run_id: int) -> Run:
    """Every role may read any run (runs belong to shared projects); 404 if none."""
    return get_object_or_404(
        Run.objects.select_related("requested_by", "project", "subject_type", "retry_of"), pk=run_id
    )


def run_get_for_progress(*, run_id: int) -> Run:
    """The run as its progress fragment shows it, which every open run page polls each
    second: only who requested it is joined. `run_get`'s four joins (and the JSON of the
    project and of the run retried) cost more than the rest of the query."""
    return get_object_or_404(Run.objects.select_related("requested_by"), pk=run_id)


def run_steps(*, run: Run) -> list:
    return list(Step.objects.filter(run_id=run.pk).order_by("order"))


def run_log_tail(*, run: Run, lines: int = TAIL_LINES) -> str:
    """The end of the log: the last few chunks (one indexed query), however long it is."""
    chunks = list(
        LogChunk.objects.filter(run_id=run.pk)
        .order_by("-seq")
        .values_list("text", flat=True)[:TAIL_CHUNKS]
    )
    text = "".join(reversed(chunks))
    return "\n".join(text.splitlines()[-lines:])


def run_list(*, kind: str = "", status: str = "", project_id: int | None = None):
    runs = Run.objects.select_related("requested_by", "project")
    if kind:
        runs = runs.filter(kind=kind)
    if status:
        runs = runs.filter(status=status)
    if project_id:
        runs = runs.filter(project_id=project_id)
    return runs.order_by("-created_at", "-id")


def run_latest_for(*, subject_type, subject_id, kind: str) -> Run | None:
    return (
        Run.objects.filter(subject_type=subject_type, subject_id=str(subject_id), kind=kind)
        .select_related("requested_by")
        .order_by("-created_at", "-id")
        .first()
    )
