"""Thin Celery adapters: ids in, services do the work. Sent to NOTIFICATIONS_QUEUE or, for
an endpoint that was slow to answer, NOTIFICATIONS_SLOW_QUEUE (the lane is the task's
argument), so a slow receiver never delays deployments' tasks nor the fast receivers."""

from celery import shared_task

from notifications.services import deliveries_sweep, delivery_send


@shared_task(name="notifications.send", acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int, lane: str = "fast"):
    # Safe to run twice: the service claims the row first and returns if it lost.
    return delivery_send(delivery_id=delivery_id, lane=lane)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep_deliveries():
    return deliveries_sweep()
