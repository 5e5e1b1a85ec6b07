"""Errors of the provisioning side, one per outcome the CLI reports differently."""

from typing import Sequence

from accelnet.errors import ParseError


class ProvisionError(Exception):
    """Base of everything accelnet-provision reports as a clear message."""


class Refused(ProvisionError):
    """Refused before any change (exit 1): bad input, unsupported size, missing resource."""


class AzError(ProvisionError):
    """An `az` call that failed (after retries where the error was transient)."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, message: str = ""):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(message or first_error_line(stderr) or f"az exited with {returncode}")


class AzMissing(AzError):
    """No `az` executable on PATH."""


class AzNotLoggedIn(AzError):
    """`az` answered "Please run 'az login'"."""


class AzNotFound(AzError):
    """The resource asked for does not exist (az exit status 3, ResourceNotFound)."""


class AzTimeout(AzError):
    """`az` did not finish within the timeout."""


class AzOutputError(ParseError):
    """`az` printed something that is not the JSON document we asked for."""


def first_error_line(stderr: str) -> str:
    """The line of az's stderr worth showing: the ERROR line, else the last non-empty one."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for line in lines:
        if line.startswith("ERROR"):
            return line
    return lines[-1] if lines else ""
