"""Thin Celery adapters for beat: each asks the database what is due."""

from celery import shared_task

from incidents.services import incidents_sla_check


@shared_task(name="incidents.sla_check", ignore_result=True)
def check_incident_sla():
    # Safe to run twice at once: each escalation step is claimed by a conditional UPDATE.
    incidents_sla_check()
