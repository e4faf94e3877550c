"""The embedded broker (no REDIS_URL) hands a worker whole messages only."""

import json
import os
import subprocess
import sys
import threading

from kombu import Connection
from kombu.transport import resolve_transport

from tests.helpers import ROOT


def _embedded_transport() -> str:
    """The transport Celery is configured with when REDIS_URL is not set."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    code = "from liftoff.celery import app; print(app.conf.broker_transport)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DEBUG": "1"},
        text=True,
        capture_output=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_a_worker_polling_the_folder_never_reads_a_message_being_written(tmp_path):
    """A producer writes large messages while a consumer polls the same folder, as the web
    process and a worker do. kombu's own transport hands the consumer a half-written file
    (an empty payload, a JSONDecodeError that ends the worker) most of the time here."""
    transport = resolve_transport(_embedded_transport())
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "store_processed": False,
    }
    producer = Connection(transport=transport, transport_options=options).channel()
    consumer = Connection(transport=transport, transport_options=options).channel()
    count, body = 60, {"payload": "x" * 1_000_000}
    received, broken = [], []
    sent = threading.Event()

    def consume():
        while len(received) + len(broken) < count:
            try:
                received.append(consumer._get("liftoff"))
            except json.JSONDecodeError as exc:
                broken.append(exc)
            except Exception:  # Empty: nothing there yet
                if sent.is_set() and not os.listdir(tmp_path):
                    return

    thread = threading.Thread(target=consume)
    thread.start()
    for _ in range(count):
        producer._put("liftoff", body)
    sent.set()
    thread.join(timeout=60)
    assert broken == []
    assert len(received) == count
    assert all(message == body for message in received)
