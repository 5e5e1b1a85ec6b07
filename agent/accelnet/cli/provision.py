"""accelnet-provision: plan, show and run the Azure side of Accelerated Networking.

Exit status: 0 done (or nothing to do), 1 refused before any change, 2 failed halfway (with
a report of what ran; the same command again finishes the job, starting what the failed run
stopped).
"""

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, TextIO, Tuple

from accelnet import __version__
from accelnet.cli.argtypes import number_in
from accelnet.provision.errors import ProvisionError, Refused

if TYPE_CHECKING:  # imported where a plan is made, not by --help
    from typing import NoReturn  # 3.6.2+ only: named as a string where used

    from accelnet.provision.plan import Plan
    from accelnet.provision.reader import Reader

EXAMPLE = ("examples (the article's names):\n"
           "  accelnet-provision create -g myResourceGroup -l centralus --vnet-name myVnet "
           "--address-prefix 192.168.0.0/16 --subnet-name mySubnet --subnet-prefix "
           "192.168.1.0/24 --nsg myNetworkSecurityGroup --public-ip myPublicIp --nic myNic "
           "--vm myVM --size Standard_DS4_v2 --image Ubuntu2204 --admin-username azureuser\n"
           "  accelnet-provision enable -g myResourceGroup --vm myVM --dry-run\n"
           "  accelnet-provision enable -g myrg --vmss myvmss\n"
           "  accelnet-provision resize -g myResourceGroup --vm myVM --size Standard_D4s_v5\n")


class _Parser(argparse.ArgumentParser):
    """Bad arguments are a refusal before any change (exit 1), not argparse's exit 2."""

    def error(self, message: str) -> "NoReturn":
        raise Refused(f"{message} (see {self.prog} --help)")


def _names(value: str) -> List[str]:
    return [part for part in value.split(",") if part]


_positive = number_in(int, 1, 64)
_seconds = number_in(float, 0.0, 86400.0, " seconds")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="accelnet-provision", description=__doc__, epilog=EXAMPLE,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"accelnet-provision (accelnet) {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("-g", "--resource-group", required=True, metavar="NAME")
    common.add_argument("--subscription", metavar="ID",
                        help="subscription id or name, passed on every az call (default: "
                        "az's default subscription, read once at the start and pinned)")
    common.add_argument("--dry-run", action="store_true",
                        help="print the plan as a POSIX sh script of az commands; change nothing")
    common.add_argument("-y", "--yes", action="store_true",
                        help="no question before a plan that deallocates VMs other than the "
                        "one named, or starts them to resume an earlier run (without a "
                        "terminal such a plan needs it)")
    common.add_argument("-o", "--output", choices=("text", "json"), default="text",
                        help="json: one document on stdout (steps, state before and after); "
                        "progress goes to stderr")
    common.add_argument("--max-parallel", type=_positive, default=None, metavar="N",
                        help="az calls at once when the VMs of a set are deallocated or "
                        "started (default 8; 1 = one after the other)")
    common.add_argument("--allow-unknown-size", action="store_true",
                        help="go ahead with a size neither Azure's SKU list (when it "
                        "cannot be read) nor the bundled rules can place")
    common.add_argument("--az-timeout", type=float, metavar="SECONDS",
                        help="limit for each az call (default 600, env ACCELNET_AZ_TIMEOUT)")
    common.add_argument("--az-retries", type=int, metavar="N",
                        help="retries of a transient az error (default 3)")
    common.add_argument("--az-backoff", type=float, metavar="SECONDS",
                        help="first retry delay, doubled each time (default 2)")
    subs = parser.add_subparsers(dest="action", metavar="{create,enable,disable,resize}",
                                 parser_class=_Parser)
    subs.required = True

    create = subs.add_parser("create", parents=[common], help="new VM with AN (the article)")
    create.add_argument("-l", "--location", required=True, help="e.g. centralus")
    for flag, example in (("--vnet-name", "myVnet"), ("--address-prefix", "192.168.0.0/16"),
                          ("--subnet-name", "mySubnet"), ("--subnet-prefix", "192.168.1.0/24"),
                          ("--nsg", "myNetworkSecurityGroup"), ("--nic", "myNic"),
                          ("--vm", "myVM"), ("--size", "Standard_DS4_v2"),
                          ("--image", "Ubuntu2204"), ("--admin-username", "azureuser")):
        create.add_argument(flag, required=True, help=f"e.g. {example}")
    create.add_argument("--public-ip", metavar="NAME",
                        help="also create this public IP (e.g. myPublicIp)")
    create.add_argument("--ssh-key-value", metavar="FILE",
                        help="public key file (default: az --generate-ssh-keys)")

    for name, text in (("enable", "switch AN on"), ("disable", "switch AN off")):
        sub = subs.add_parser(name, parents=[common], help=f"{text}: a VM (and its "
                              "availability set) or a scale set")
        target = sub.add_mutually_exclusive_group(required=True)
        target.add_argument("--vm", metavar="NAME")
        target.add_argument("--vmss", metavar="NAME")
        sub.add_argument("--upgrade-policy", choices=("keep", "automatic"), default="keep",
                         help="scale sets: set upgradePolicy.mode=Automatic (every later "
                         "model change then restarts all instances at once)")
        sub.add_argument("--also-start", type=_names, default=[], metavar="NAMES",
                         help="also start these (comma-separated) at the end (a rerun needs "
                         "no such help: it reads the journal tags of the failed run)")
        sub.add_argument("--upgrade-timeout", type=_seconds, default=3600.0,
                         metavar="SECONDS",
                         help="scale sets whose upgrade policy is Rolling or Automatic: how "
                         "long to wait for every instance to report latestModelApplied after "
                         "the model changes (default 3600; the same command waits again)")
        sub.add_argument("--no-intent-tag", dest="intent_tag", action="store_false",
                         help="leave the tag accelnet alone (by default disable sets "
                         "accelnet=off, declaring AN off on purpose for accelnet-check and "
                         "the agent, and enable removes it)")

    resize = subs.add_parser("resize", parents=[common], help="resize a VM, handling AN")
    resize.add_argument("--vm", required=True, metavar="NAME")
    resize.add_argument("--size", required=True)
    resize.add_argument("--also-start", type=_names, default=[], metavar="NAMES",
                        help="also start these (comma-separated) at the end")
    return parser


def _validated_command(args: argparse.Namespace) -> List[str]:
    """Check every name before any call; return the canonical arguments (for resume)."""
    from accelnet.provision.names import (check_name, check_path, check_prefix, check_size,
                                          check_subscription)

    if args.subscription is not None:
        check_subscription(args.subscription)
    command = [args.action, "--resource-group", check_name("resource_group", args.resource_group)]
    if args.action == "create":
        args.location = check_name("location", args.location.lower())
        args.size = check_size(args.size)
        args.address_prefix = check_prefix("address prefix", args.address_prefix)
        args.subnet_prefix = check_prefix("subnet prefix", args.subnet_prefix)
        pairs = [("--location", args.location), ("--vnet-name", check_name("vnet", args.vnet_name)),
                 ("--address-prefix", args.address_prefix),
                 ("--subnet-name", check_name("subnet", args.subnet_name)),
                 ("--subnet-prefix", args.subnet_prefix), ("--nsg", check_name("nsg", args.nsg)),
                 ("--nic", check_name("nic", args.nic)), ("--vm", check_name("vm", args.vm)),
                 ("--size", args.size), ("--image", check_name("image", args.image)),
                 ("--admin-username", check_name("admin_username", args.admin_username))]
        if args.public_ip is not None:
            pairs.append(("--public-ip", check_name("public_ip", args.public_ip)))
        if args.ssh_key_value is not None:
            pairs.append(("--ssh-key-value", check_path("SSH key file", args.ssh_key_value)))
        for flag, value in pairs:
            command += [flag, value]
        return command
    if getattr(args, "vmss", None):
        command += ["--vmss", check_name("vmss", args.vmss)]
        for name in args.also_start:
            check_name("vmss", name)
    else:
        command += ["--vm", check_name("vm", args.vm)]
        for name in args.also_start:
            check_name("vm", name)
    if args.action == "resize":
        args.size = check_size(args.size)
        command += ["--size", args.size]
    else:
        if args.vmss and args.upgrade_policy != "keep":
            command += ["--upgrade-policy", args.upgrade_policy]
        if not args.intent_tag:
            command.append("--no-intent-tag")
        if args.vmss and args.upgrade_timeout != 3600.0:
            command += ["--upgrade-timeout", f"{args.upgrade_timeout:g}"]
    if args.allow_unknown_size:
        command.append("--allow-unknown-size")
    return command


def _build_plan(args: argparse.Namespace, command: List[str], reader: "Reader") -> "Plan":
    from accelnet.provision.plan import Options
    from accelnet.provision.plan_create import CreateSpec, plan_create
    from accelnet.provision.plan_vm import plan_resize, plan_vm_accelerated
    from accelnet.provision.plan_vmss import plan_vmss_accelerated
    from accelnet.provision.state import Ref

    rg = args.resource_group
    options = Options(
        also_start=tuple(getattr(args, "also_start", ())),
        allow_unknown_size=args.allow_unknown_size,
        intent_tag=getattr(args, "intent_tag", True),
        upgrade_policy=getattr(args, "upgrade_policy", "keep"),
        upgrade_timeout=getattr(args, "upgrade_timeout", 3600.0))
    if args.action == "create":
        spec = CreateSpec(
            resource_group=rg, location=args.location, vnet=args.vnet_name,
            address_prefix=args.address_prefix, subnet=args.subnet_name,
            subnet_prefix=args.subnet_prefix, nsg=args.nsg, nic=args.nic, vm=args.vm,
            size=args.size, image=args.image, admin_username=args.admin_username,
            public_ip=args.public_ip, ssh_key_value=args.ssh_key_value)
        return plan_create(reader, command, spec, options)
    if args.action == "resize":
        return plan_resize(reader, command, Ref(rg, args.vm), args.size, options)
    enable = args.action == "enable"
    if args.vmss:
        return plan_vmss_accelerated(reader, command, Ref(rg, args.vmss), enable, options)
    return plan_vm_accelerated(reader, command, Ref(rg, args.vm), enable, options)


def _wants_json(argv: Sequence[str]) -> bool:
    """--output json as typed, for the answer to arguments argparse refuses."""
    words = list(argv)
    return any(w in ("-ojson", "--output=json") or (w in ("-o", "--output") and
               words[i + 1:i + 2] == ["json"]) for i, w in enumerate(words))


def _others(plan: Any, args: argparse.Namespace) -> Tuple[List[str], List[str]]:
    """VMs the plan deallocates other than the one named (its availability set), and VMs it
    starts other than the one named only because an earlier run's journal says so."""
    if getattr(args, "vmss", None) or args.action == "create":
        return [], []
    named = args.vm.lower()
    asked = {name.lower() for name in args.also_start}

    def unnamed(names: List[str]) -> List[str]:
        return [n for n in dict.fromkeys(names) if n.lower() != named and n.lower() not in asked]

    return unnamed(plan.deallocated()), unnamed(plan.resumed_starts())


def _consent_text(stopped: List[str], started: List[str]) -> str:
    parts = []
    if stopped:
        parts.append(f"also deallocates {len(stopped)} VM(s) you did not name (every VM of "
                     f"the availability set must be down): {', '.join(stopped)}")
    if started:
        parts.append(f"resumes an unfinished earlier run and starts {len(started)} VM(s) you "
                     f"did not name (their journal tags say that run stopped them): "
                     f"{', '.join(started)}")
    return "This plan " + "; it ".join(parts) + "."


def _consent(stopped: List[str], started: List[str], args: argparse.Namespace, stdin: Any,
             err: TextIO) -> bool:
    """Ask on a terminal before stopping or starting VMs nobody named; without one, --yes is
    the answer."""
    if not (stopped or started) or args.yes:
        return True
    isatty = getattr(stdin, "isatty", None)
    if not (isatty and isatty()):
        return False
    err.write(_consent_text(stopped, started) + "\nContinue? [y/N] ")
    err.flush()
    answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _refusal(stopped: List[str], started: List[str], stdin: Any) -> str:
    what = []
    if stopped:
        what.append("also deallocates " + ", ".join(stopped))
    if started:
        what.append("resumes an earlier run and starts " + ", ".join(started))
    terminal = getattr(stdin, "isatty", None) and stdin.isatty()
    return ("accelnet-provision: refused before any change: the plan " + " and ".join(what)
            + ", which you did not name; " + ("not confirmed" if terminal else
                                              "without a terminal to ask on, pass --yes to "
                                              "go ahead"))


def run(argv: Optional[Sequence[str]], out: TextIO, err: TextIO,
        stdin: Any = None) -> int:
    """The command; ``stdin`` answers the question before stopping VMs nobody named (a
    terminal only; default sys.stdin)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(argv)
    stdin = sys.stdin if stdin is None else stdin

    def emit(result: str, message: Optional[str] = None, **kw: Any) -> int:
        from accelnet.provision.result import EXIT, document
        if as_json:
            doc = document(result, kw.pop("command", argv), message, **kw)
            out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        elif message:
            (out if EXIT[result] == 0 else err).write(message + "\n")
        return EXIT[result]

    try:
        args = build_parser().parse_args(argv)
        command = _validated_command(args)
    except Refused as exc:
        return emit("refused", f"accelnet-provision: refused: {exc}")
    as_json = args.output == "json"
    progress = err if as_json else out
    from accelnet.provision.azcli import make_cli
    from accelnet.provision.reader import Reader
    from accelnet.provision.runner import DEFAULT_PARALLEL, execute, failure_report
    from accelnet.provision.script import render_script

    cli = make_cli(args.az_timeout, args.az_retries, args.az_backoff)
    try:
        cli.resolve()
        cli.subscription = Reader(cli).subscription(args.subscription)
        parallel = args.max_parallel or DEFAULT_PARALLEL
        plan = _build_plan(args, command, Reader(cli, parallel=parallel))
    except (ProvisionError, ValueError) as exc:  # ParseError (bad az output) is a ValueError
        return emit("refused", f"accelnet-provision: refused before any change: {exc}",
                    command=command, subscription=cli.subscription)
    resume = ["accelnet-provision", *command]
    if args.subscription:
        resume += ["--subscription", args.subscription]
    if args.yes:
        resume.append("--yes")
    common = dict(command=command, subscription=cli.subscription, plan=plan,
                  full_argv=cli.full_argv)
    if args.dry_run:
        if as_json:
            return emit("planned", None, **common)
        out.write(render_script(plan, cli.calls, cli.full_argv, cli.poll))
        return 0
    for warning in plan.warnings:
        err.write(f"accelnet-provision: warning: {warning}\n")
    if plan.resumed:
        progress.write("resuming what an earlier run left unfinished (journal tags):\n")
        for line in plan.resumed:
            progress.write(f"  {line}\n")
    for line in plan.ignored:
        progress.write(f"not resumed: {line}\n")
    for note in plan.notes:
        progress.write(f"found: {note}\n")
    if not plan.steps:
        return emit("nothing-to-do", "nothing to do: everything is already as asked",
                    **common)
    stopped, started = _others(plan, args)
    if not _consent(stopped, started, args, stdin, err):
        return emit("refused", _refusal(stopped, started, stdin), **common)
    outcome = execute(plan, cli, progress, parallel)
    after, after_error = None, None
    if as_json:
        try:
            after = _build_plan(args, command, Reader(cli, parallel=parallel)).before
        except (ProvisionError, ValueError) as exc:
            after_error = str(exc)
    if not outcome.ok:
        err.write(failure_report(plan, outcome, resume))
        return emit("failed", None, outcome=outcome, after=after, after_error=after_error,
                    **common)
    return emit("done", f"done: {len(outcome.done)} step(s)", outcome=outcome, after=after,
                after_error=after_error, **common)


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return run(argv, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("accelnet-provision: interrupted\n")
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
