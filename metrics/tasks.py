from celery import shared_task

from metrics.services import sbom_make, sboms_sweep


@shared_task(name="metrics.sbom_make", bind=True, acks_late=True, ignore_result=True)
def make_sbom(self, sbom_id: int):
    sbom_make(sbom_id=sbom_id)


@shared_task(name="metrics.sbom_sweep", ignore_result=True)
def sweep_sboms():
    """SBOMs left queued (the broker was down at commit) are sent again."""
    for sbom_id in sboms_sweep():
        make_sbom.delay(sbom_id)
