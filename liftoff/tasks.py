import socket

from celery import shared_task

from liftoff.workers import worker_heartbeat_record


@shared_task(bind=True, name="liftoff.worker_heartbeat", ignore_result=True, acks_late=False)
def worker_heartbeat(self):
    """Run by beat every 15 s; whichever worker takes it proves a worker is alive."""
    worker_heartbeat_record(hostname=self.request.hostname or socket.gethostname())
