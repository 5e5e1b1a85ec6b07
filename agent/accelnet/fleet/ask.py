"""Ask many VMs at once through Run Command, each within its own time budget.

Per VM: what Azure says of it first (`az vm get-instance-view`, or the Uniform set's listing):
a Windows VM, a VM that is not running or whose VM agent is not ready is not asked, and says
why; otherwise the payload runs there (`az vm run-command invoke`, or `az vmss run-command
invoke --instance-id` for a Uniform instance), later calls fetch the rest of a long answer,
and the answer becomes a verdict (verdict.py). Every VM ends with a verdict or a Reason.

Run Command runs one script at a time per VM and cannot be cancelled: an answer that does not
come within the VM's budget is given up (the `az` process is stopped), and the table says that
the script may still be running there; so is every call in flight when the run is interrupted
(stop(): the calls are ended through the ``stop_calls`` seam, processes.py). A VM that is busy with another run is asked again
until its budget is spent. Throttling (429) and Azure's 5xx are retried with backoff, within
the budget too. Nothing is changed in Azure: the only calls are reads and Run Command.
"""

import concurrent.futures
import json
import secrets
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from accelnet import records
from accelnet.diagnosis.facts import Options
from accelnet.errors import ParseError
from accelnet.fleet import answer, minibundle
from accelnet.fleet.inventory import (UNIFORM, VM, Target, VmView, checked_target,
                                      parse_uniform_instances, parse_view, parse_vm_list,
                                      parse_vmss)
from accelnet.fleet.payload import MAX_PARTS, PayloadError, Question, build
from accelnet.fleet.verdict import VIA_CHECK, VIA_COLLECTOR, Verdict, diagnose_entries, from_report
from accelnet.provision.azcli import AzCli, is_transient
from accelnet.provision.errors import (AzError, AzMissing, AzNotFound, AzNotLoggedIn, AzTimeout,
                                       Refused, first_error_line)
from accelnet.records import dataclass, field

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_PARALLEL = 8
#: The shortest wait before asking a busy (or throttling) VM again.
MIN_RETRY_WAIT_S = 0.5
#: Markers of a VM that runs another Run Command (or operation) now: ask again later.
BUSY_MARKERS = ("Conflict", "execution is in progress", "AnotherOperationInProgress",
                "OperationPreempted")
AGENT_MARKERS = ("VMAgentStatusCommunicationError", "VM agent", "Guest Agent")
DENIED_MARKERS = ("AuthorizationFailed", "does not have authorization", "LinkedAuthorizationFailed")

# Reason kinds. The first two are states of the VM, not failures: they do not make the fleet's
# status unknown.
NOT_RUNNING, WINDOWS = "not running", "windows"
AGENT, TIMEOUT, NO_ANSWER, CUT, BUSY, DENIED = "agent", "timeout", "no answer", "cut", "busy", "denied"
FAILED, VM_SAID, GONE, REFUSED, INTERRUPTED = "failed", "vm", "gone", "refused", "interrupted"
BY_DESIGN = (NOT_RUNNING, WINDOWS)


@dataclass(frozen=True)
class Reason:
    """Why a VM has no verdict: ``kind`` groups VMs, ``message`` says it for this one."""

    kind: str
    message: str

    @property
    def counts(self) -> bool:
        """Whether it makes the fleet's status unknown (a failure to diagnose)."""
        return self.kind not in BY_DESIGN


@dataclass
class VmResult:
    target: Target
    view: Optional[VmView] = None
    verdict: Optional[Verdict] = None
    reason: Optional[Reason] = None
    calls: int = 0  # Run Command calls
    seconds: float = 0.0


@dataclass
class Settings:
    timeout: float = DEFAULT_TIMEOUT_S  # per VM, everything included
    sample_seconds: float = 2.0
    max_parallel: int = DEFAULT_PARALLEL
    options: Options = field(default_factory=Options)  # of the diagnosis of reduced bundles


class _Expired(Exception):
    """The VM's budget is spent."""


class _Stopped(Exception):
    """The run was interrupted while this VM was being asked."""


class Abort(Exception):
    """Nothing more can be asked (az missing, not logged in): the whole run stops."""


def _vm_limit(timeout: float) -> int:
    """Seconds the diagnosis may take on the VM: a part of the budget, Run Command's own
    ~20 s and the later calls need the rest."""
    return int(max(10, min(90, timeout / 3)))


class Fleet:
    """``cli`` runs az (its spawn is the seam tests use); ``collector`` is the text of
    accelnet-collect sent to VMs without accelnet (None: such VMs say so); ``stop_calls``
    ends the az calls in flight when the run is interrupted (processes.AzProcesses.stop)."""

    def __init__(self, cli: AzCli, settings: Settings, collector: Optional[str],
                 clock: Callable[[], float] = time.monotonic,
                 token: Callable[[], str] = lambda: secrets.token_hex(8),
                 stop_calls: Callable[[], None] = lambda: None) -> None:
        self.cli = cli
        self.settings = settings
        self.collector = collector
        self.clock = clock
        self.token = token
        self.stop_calls = stop_calls
        self._abort: Optional[str] = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # -- listing -------------------------------------------------------------------------------

    def targets(self, group: str, vms: Sequence[str] = (),
                vmss: Optional[str] = None) -> List[Tuple[Target, Optional[VmView]]]:
        """The VMs to ask: those named, the scale set's, else the resource group's. Uniform
        instances come with their view (the listing has it); the others are viewed when asked."""
        if vms:
            return [(checked_target(VM, name, group), None) for name in vms]
        try:
            if vmss is None:
                return [(t, None) for t in parse_vm_list(self.cli.run(["vm", "list", "--resource-group", group]))]
            where = ["--resource-group", group, "--name", vmss]
            scale_set = parse_vmss(self.cli.run(["vmss", "show", *where]))
            if scale_set.mode == "Flexible":
                listed = self.cli.run(["vm", "list", "--resource-group", group])
                return [(t, None) for t in parse_vm_list(listed, scale_set=vmss)]
            listed = self.cli.run(["vmss", "list-instances", *where, "--expand", "instanceView"])
            return parse_uniform_instances(listed, group, scale_set, vmss)
        except AzNotFound:
            what = f"scale set {vmss!r} in " if vmss else ""
            raise Refused(f"{what}resource group {group!r} not found") from None

    # -- one VM ---------------------------------------------------------------------------------

    def ask(self, target: Target, view: Optional[VmView] = None) -> VmResult:
        start = self.clock()
        result = VmResult(target, view)
        try:
            self._ask(result, start + self.settings.timeout)
        except _Expired as exc:
            result.reason = Reason(TIMEOUT, f"no answer within {self.settings.timeout:g} s ({exc}); "
                                   "Run Command cannot be cancelled: the script may still run there")
        except _Stopped as exc:
            result.reason = Reason(INTERRUPTED, f"interrupted while {exc}" + (
                "; Run Command cannot be cancelled: the script may still run there"
                if "Run Command" in str(exc) else ""))
        except (AzMissing, AzNotLoggedIn) as exc:
            with self._lock:
                self._abort = self._abort or str(exc)
            result.reason = Reason(FAILED, str(exc))
        result.seconds = self.clock() - start
        return result

    def _ask(self, result: VmResult, deadline: float) -> None:
        target = result.target
        if target.refused:
            result.reason = Reason(REFUSED, f"not asked: {target.refused}")
            return
        if self._stopping.is_set():
            result.reason = Reason(INTERRUPTED, "not asked: interrupted")
            return
        if self._abort:
            result.reason = Reason(FAILED, f"not asked: {self._abort}")
            return
        if result.view is None:
            try:
                result.view = parse_view(self._call(["vm", "get-instance-view", *target.where()],
                                                    deadline, "reading its instance view"))
            except AzError as exc:
                result.reason = _reason_of(exc)
                return
            except ParseError as exc:
                result.reason = Reason(FAILED, f"unreadable instance view: {exc}")
                return
        result.reason = not_askable(result.view)
        if result.reason is None:
            self._diagnose(result, deadline)

    def _diagnose(self, result: VmResult, deadline: float) -> None:
        token = self.token()
        known: Dict[int, answer.Frame] = {}
        part = 1
        try:
            while True:
                left = deadline - self.clock()
                question = Question(token, part, self.settings.sample_seconds,
                                    _vm_limit(min(left, self.settings.timeout)))
                script = build(question, self.collector if part == 1 else None)
                verb = "vmss" if result.target.kind == UNIFORM else "vm"
                doc = self._call([verb, "run-command", "invoke", *result.target.where(),
                                  "--command-id", "RunShellScript", "--scripts", script],
                                 deadline, f"waiting for Run Command (call {result.calls + 1})")
                result.calls += 1
                stdout, stderr = answer.run_command_streams(doc)
                frames = answer.find_frames(stdout, token) + answer.find_frames(stderr, token)
                if part not in [f.part for f in frames]:  # the line asked for is on stdout
                    result.reason = _silent(stdout, stderr)
                    return
                if frames[0].kind == "error":
                    said = answer.inflate(frames[0].data, 4096).decode("utf-8", "replace")
                    result.reason = Reason(VM_SAID, said)
                    return
                answer.collect(known, frames)
                need = answer.missing(known)
                if not need:
                    break
                if result.calls >= MAX_PARTS:
                    raise answer.AnswerError(f"parts {need} still missing after {result.calls} calls")
                part = need[0]
            result.verdict = self._verdict(known)
        except AzError as exc:
            result.reason = _reason_of(exc)
        except PayloadError as exc:
            result.reason = Reason(FAILED, str(exc))
        except (ParseError, ValueError, UnicodeDecodeError) as exc:  # ParseError: AnswerError too
            result.reason = Reason(NO_ANSWER, f"unusable answer: {exc}")

    def _verdict(self, known: Dict[int, answer.Frame]) -> Verdict:
        kind = known[1].kind
        if kind not in ("report", "bundle") or any(known[p].kind != "part" for p in known if p > 1):
            raise answer.AnswerError(f"an answer of kind {kind!r}")
        blob = answer.inflate(answer.assemble(known))
        if kind == "report":
            return from_report(json.loads(blob.decode("utf-8")), VIA_CHECK)
        report = diagnose_entries(minibundle.parse(blob), self.settings.options)
        return from_report(report, VIA_COLLECTOR)

    def _call(self, args: List[str], deadline: float, doing: str) -> Any:
        """One az call within the deadline: no retry of a timeout (the budget is the limit),
        transient errors and a busy VM asked again after a backoff while time is left; any
        failure once the run is interrupted is the interrupt (az was ended by stop())."""
        attempt = 0
        refused: Optional[AzError] = None  # what the last attempt said: the reason if time runs out
        while True:
            if self._stopping.is_set():
                raise _Stopped(doing)
            left = deadline - self.clock()
            if left <= 0:
                if refused is not None:
                    raise refused
                raise _Expired(doing)
            cli = records.replace(self.cli, timeout=left, retries=0)
            try:
                return cli.run(args)
            except AzError as exc:
                if self._stopping.is_set():
                    raise _Stopped(doing) from None
                if isinstance(exc, AzTimeout):
                    if refused is not None:
                        raise refused from None
                    raise _Expired(doing) from None
                if isinstance(exc, (AzMissing, AzNotLoggedIn, AzNotFound)):
                    raise
                refused = exc
                if not (is_transient(exc) or _busy(exc)):
                    raise
                wait = max(MIN_RETRY_WAIT_S, self.cli.backoff * (2 ** min(attempt, 5)))
                if deadline - self.clock() <= wait:
                    raise
                self._stopping.wait(wait)  # a sleep that an interrupt cuts short
                attempt += 1

    # -- many VMs -------------------------------------------------------------------------------

    def run(self, targets: Sequence[Tuple[Target, Optional[VmView]]],
            on_done: Callable[[VmResult], None] = lambda r: None,
            on_start: Callable[[Target], None] = lambda t: None) -> List[VmResult]:
        """Every target asked, at most ``max_parallel`` at once; results in target order.
        Ctrl-C (or SIGTERM made one): the calls in flight are ended, and every VM without a
        verdict by then ends as interrupted."""
        results: List[Optional[VmResult]] = [None] * len(targets)

        def one(index: int) -> None:
            target, view = targets[index]
            on_start(target)
            result = results[index] = self.ask(target, view)
            on_done(result)

        workers = max(1, min(self.settings.max_parallel, len(targets) or 1))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        futures = [pool.submit(one, i) for i in range(len(targets))]
        try:
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            self.stop()
            for future in futures:
                future.cancel()
            pool.shutdown(wait=True)
            for index, found in enumerate(results):
                if found is None:
                    results[index] = VmResult(targets[index][0], targets[index][1],
                                              reason=Reason(INTERRUPTED, "not asked: interrupted"))
            raise Interrupted([r for r in results if r is not None])
        pool.shutdown(wait=True)
        return [r for r in results if r is not None]

    def stop(self) -> None:
        """Ask no more, and end the calls in flight: their VMs end as interrupted."""
        self._stopping.set()
        self.stop_calls()

    @property
    def aborted(self) -> Optional[str]:
        return self._abort


class Interrupted(Exception):
    """Ctrl-C during a run; ``results`` holds every VM (those not asked: interrupted)."""

    def __init__(self, results: List[VmResult]) -> None:
        super().__init__("interrupted")
        self.results = results


def not_askable(view: VmView) -> Optional[Reason]:
    """Why a VM is not asked, from Azure's view of it (None: ask it)."""
    if view.windows:
        return Reason(WINDOWS, "Windows VM: accelnet diagnoses Linux VMs")
    if view.power not in ("running",):
        return Reason(NOT_RUNNING, f"VM {view.power}: Run Command needs a running VM "
                      "(accelnet-fleet starts nothing)")
    if view.agent != "Ready":
        said = f" ({view.agent_message})" if view.agent_message else ""
        status = view.agent or "no status reported"
        return Reason(AGENT, f"VM agent not ready: {status}{said}; Run Command needs the agent")
    return None


def _busy(exc: AzError) -> bool:
    return any(m in exc.stderr for m in BUSY_MARKERS)


def _reason_of(exc: AzError) -> Reason:
    said = first_error_line(exc.stderr) or str(exc)
    if isinstance(exc, AzNotFound):
        return Reason(GONE, f"not found: {said}")
    if any(m in exc.stderr for m in DENIED_MARKERS):
        return Reason(DENIED, "not allowed: Run Command needs the permission "
                      "Microsoft.Compute/virtualMachines/runCommand/action (Virtual Machine "
                      f"Contributor); az said: {said}")
    if any(m in exc.stderr for m in AGENT_MARKERS):
        return Reason(AGENT, f"VM agent not reachable: {said}")
    if "deallocat" in exc.stderr.lower():
        return Reason(NOT_RUNNING, f"VM deallocated: {said}")
    if _busy(exc):
        return Reason(BUSY, "busy until its budget ran out: another Run Command (or operation) "
                      f"runs there, and Run Command runs one at a time; az said: {said}")
    return Reason(FAILED, f"az failed: {said}")


def _silent(stdout: str, stderr: str) -> Reason:
    """The reason for output without an answer line."""
    if answer.cut_off(stdout):
        return Reason(CUT, "answer cut off: the VM printed more than the 4,096 bytes Run Command "
                      "returns (a login script writing to stdout?)")
    said = answer.last_line(stderr) or answer.last_line(stdout)
    return Reason(NO_ANSWER, "no answer in its output" + (f"; it said: {said}" if said else " (empty)"))
