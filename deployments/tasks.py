"""Thin Celery adapters for beat: each asks the database what is due."""

from celery import shared_task

from deployments.health import environments_check_health
from deployments.services import deployments_start_due


@shared_task(name="deployments.start_due", ignore_result=True)
def start_due_deployments():
    return deployments_start_due()


@shared_task(name="deployments.health", ignore_result=True)
def check_environment_health():
    return environments_check_health()
