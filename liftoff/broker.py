"""The embedded broker (no REDIS_URL): kombu's filesystem transport, with whole messages.

kombu writes a message by creating its file under its final name and then writing into
it; a worker polling the folder may move and read the file in between, get an empty
payload and die with a JSONDecodeError (seen with two test processes at once, and
possible under any load). Here a message is written under a name no queue reads, then
renamed into place: a rename within one folder is atomic, so a reader sees the whole
message or nothing. Selected by `CELERY_BROKER_TRANSPORT` in the settings.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`, visible only once it is whole."""
        token = uuid.uuid4()
        # The name kombu gives it: readers take messages in the order of their names.
        final = os.path.join(
            self.data_folder_out, f"{round(monotonic() * 1000)}_{token}.{queue}.msg"
        )
        # Not "<queue>.msg" after its first dot: no reader takes it.
        partial = os.path.join(self.data_folder_out, f"{token}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
    # The filesystem transport's state is global to the process, as kombu's.
    global_state = filesystem.Transport.global_state
