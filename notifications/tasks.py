"""Thin Celery adapters: ids in, services do the work. Routed to NOTIFICATIONS_QUEUE
(settings.CELERY_TASK_ROUTES), so a slow receiver never delays deployments' tasks."""

from celery import shared_task

from notifications.services import deliveries_sweep, delivery_send


@shared_task(name="notifications.send", acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int):
    # Safe to run twice: the service claims the row first and returns if it lost.
    return delivery_send(delivery_id=delivery_id)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep_deliveries():
    return deliveries_sweep()
