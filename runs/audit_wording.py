"""How the run engine's actions read in an object's audit trail, and which events are an
object's: those of the runs about it (recorded against the run). Registered at start-up
by liftoff.apps via autodiscovery; see liftoff.audit."""

from django.db.models import CharField, Q
from django.db.models.functions import Cast

from liftoff.audit import (
    register_audit_context,
    register_audit_kind,
    register_audit_scope,
    register_describer,
)
from runs.models import Run
from runs.registry import kind_label

RUN = Run._meta.label_lower

register_audit_kind("runs", "Runs", order=40)


def _runs_about(object_type: str, object_id: str) -> Q | None:
    app_label, _, model = object_type.partition(".")
    runs = (
        Run.objects.filter(
            subject_type__app_label=app_label, subject_type__model=model, subject_id=object_id
        )
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    return Q(object_type=RUN, object_id__in=runs)


def _run_kinds(events, subject) -> dict:
    ids = {e.object_id for e in events if e.object_type == RUN}
    if not ids:
        return {}
    return {"run_kinds": dict(Run.objects.filter(pk__in=ids).values_list("pk", "kind"))}


def _run(event, ctx) -> str:
    kind = ctx.get("run_kinds", {}).get(int(event.object_id))
    label = kind_label(kind) if kind else "a run"
    return f"{label} (run #{event.object_id})"


def _created(event, ctx):
    retry_of = (event.after or {}).get("retry_of")
    again = f", again after run #{retry_of}" if retry_of else ""
    return f"started {_run(event, ctx)}{again}"


def _failed(event, ctx):
    error = (event.after or {}).get("error")
    return f"failed {_run(event, ctx)}" + (f": {error}" if error else "")


register_audit_scope(_runs_about)
register_audit_context(_run_kinds)
register_describer("run.created", _created, kind="runs")
register_describer("run.started", lambda e, ctx: f"began {_run(e, ctx)}", kind="runs")
register_describer("run.succeeded", lambda e, ctx: f"finished {_run(e, ctx)}", kind="runs")
register_describer("run.failed", _failed, kind="runs")
register_describer("run.cancelled", lambda e, ctx: f"cancelled {_run(e, ctx)}", kind="runs")
register_describer(
    "run.cancel_requested", lambda e, ctx: f"asked to cancel {_run(e, ctx)}", kind="runs"
)
