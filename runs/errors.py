from liftoff.errors import DomainError


class StepFailed(DomainError):
    """A step could not finish; the message is shown as the step's and the run's error."""


class RunCancelled(Exception):
    """Raised inside a step when the user cancelled the run."""
