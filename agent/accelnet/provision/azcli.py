"""The Azure CLI backend: runs `az` with an argument list, never through a shell.

Every call names the subscription (``--subscription``, pinned once per run, see
Reader.subscription), asks for ``--output json`` and is bounded by a timeout. Errors Azure documents as
transient (throttling, 5xx, dropped connections) are retried with exponential backoff; the
operations we run (show, deallocate, start, update to a fixed value) are idempotent, so a
retry after a timeout cannot do harm.
"""

import json
import os
import shutil
import subprocess
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from accelnet.provision.errors import (AzError, AzMissing, AzNotFound, AzNotLoggedIn,
                                       AzOutputError, AzTimeout, first_error_line)
from accelnet.records import dataclass, field

# Substrings of az's stderr that mean "try again later".
TRANSIENT_MARKERS = (
    "TooManyRequests", "429", "RetryableError", "ServiceUnavailable", "InternalServerError",
    "GatewayTimeout", "Connection aborted", "Connection reset", "ConnectionResetError",
    "timed out", "Temporary failure in name resolution", "RequestTimeout",
    "AnotherOperationInProgress", "OperationPreempted",
)
LOGIN_MARKERS = ("az login", "AADSTS", "No subscription found")
NOT_FOUND_MARKERS = ("ResourceNotFound", "ResourceGroupNotFound", "NotFound", "was not found")
# az exits with 3 when the resource of a show command does not exist.
EXIT_NOT_FOUND = 3


def spawn_subprocess(path: str, argv: List[str], env: Dict[str, str],
                     timeout: float) -> Tuple[int, str, str]:
    """Run az; (status, stdout, stderr). Raises subprocess.TimeoutExpired and OSError."""
    proc = subprocess.run([path, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout,
                          env=env)
    return proc.returncode, proc.stdout, proc.stderr


@dataclass
class AzCli:
    """Runs az. ``sleep`` and ``spawn`` are injectable so tests never wait (``spawn`` None
    means spawn_subprocess, looked up at each call). Calls may come from several threads."""

    executable: str = "az"
    timeout: float = 600.0
    retries: int = 3
    backoff: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    poll: float = 30.0  # seconds between the tries of a wait (Step.poll)
    calls: List[List[str]] = field(default_factory=list)
    subscription: Optional[str] = None
    spawn: Optional[Callable[[str, List[str], Dict[str, str], float],
                             Tuple[int, str, str]]] = None

    def full_argv(self, args: Sequence[str]) -> List[str]:
        """The arguments after 'az' of a call: the same for a run and a --dry-run script."""
        pinned = ["--subscription", self.subscription] if self.subscription else []
        return [*args, *pinned, "--output", "json"]

    def resolve(self) -> str:
        path = shutil.which(self.executable)
        if path is None:
            raise AzMissing([self.executable], 127, "",
                            "the Azure CLI ('az') is not on PATH: install it "
                            "(https://learn.microsoft.com/cli/azure/install-azure-cli) "
                            "and run 'az login'")
        return path

    def run(self, args: Sequence[str]) -> Any:
        """Run ``az <args> --output json`` and return the parsed JSON (None if no output)."""
        argv = self.full_argv(args)
        attempt = 0
        while True:
            try:
                return self._run_once(argv)
            except (AzMissing, AzNotLoggedIn, AzNotFound):
                raise
            except AzError as exc:
                if attempt >= self.retries or not is_transient(exc):
                    raise
                self.sleep(self.backoff * (2 ** attempt))
                attempt += 1

    def _run_once(self, argv: List[str]) -> Any:
        path = self.resolve()
        self.calls.append(list(argv))
        env = dict(os.environ, AZURE_CORE_NO_COLOR="1", AZURE_CORE_ONLY_SHOW_ERRORS="1")
        try:
            returncode, stdout, stderr = (self.spawn or spawn_subprocess)(
                path, argv, env, self.timeout)
        except subprocess.TimeoutExpired:
            raise AzTimeout(argv, -1, "", f"az {argv[0]} {argv[1] if len(argv) > 1 else ''} "
                            f"did not finish within {self.timeout:g} s".replace("  ", " "))
        except OSError as exc:
            raise AzMissing(argv, 127, str(exc), f"cannot run az: {exc}") from None
        if returncode != 0:
            raise classify(argv, returncode, stderr)
        return parse_json_output(stdout)


def classify(argv: Sequence[str], returncode: int, stderr: str) -> AzError:
    """Turn a failed az call into the error type the caller needs to react to."""
    if any(marker in stderr for marker in LOGIN_MARKERS):
        return AzNotLoggedIn(argv, returncode, stderr,
                             "not logged in to Azure: run 'az login' (az said: "
                             f"{first_error_line(stderr)})")
    if returncode == EXIT_NOT_FOUND or any(m in stderr for m in NOT_FOUND_MARKERS[:2]):
        return AzNotFound(argv, returncode, stderr)
    return AzError(argv, returncode, stderr)


def is_transient(error: AzError) -> bool:
    if isinstance(error, AzTimeout):
        return True
    return any(marker in error.stderr for marker in TRANSIENT_MARKERS)


def parse_json_output(stdout: str) -> Any:
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # deep nesting raises RecursionError
        raise AzOutputError(f"az printed something that is not JSON: {text[:120]!r} ({str(exc)[:120]})")


def make_cli(timeout: Optional[float] = None, retries: Optional[int] = None,
             backoff: Optional[float] = None) -> AzCli:
    """An AzCli with CLI flags, else ACCELNET_AZ_* environment values, else defaults."""
    def pick(value: Optional[float], env: str, default: float) -> float:
        if value is not None:
            return value
        raw = os.environ.get(env)
        try:
            return float(raw) if raw else default
        except ValueError:
            return default

    return AzCli(timeout=pick(timeout, "ACCELNET_AZ_TIMEOUT", 600.0),
                 retries=int(pick(retries, "ACCELNET_AZ_RETRIES", 3)),
                 backoff=pick(backoff, "ACCELNET_AZ_BACKOFF", 2.0),
                 poll=pick(None, "ACCELNET_AZ_POLL", 30.0))
