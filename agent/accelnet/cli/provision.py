"""accelnet-provision: plan, show and run the Azure side of Accelerated Networking.

Exit status: 0 done (or nothing to do), 1 refused before any change, 2 failed halfway (with
a report of what ran and the command that resumes).
"""

import argparse
import sys
from typing import List, Optional, Sequence, TextIO

from accelnet.provision.errors import ProvisionError, Refused

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

    def error(self, message: str) -> None:  # type: ignore[override]
        raise Refused(f"{message} (see {self.prog} --help)")


def _names(value: str) -> List[str]:
    return [part for part in value.split(",") if part]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="accelnet-provision", description=__doc__, epilog=EXAMPLE,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-g", "--resource-group", required=True, metavar="NAME")
    common.add_argument("--dry-run", action="store_true",
                        help="print the plan as a POSIX sh script of az commands; change nothing")
    common.add_argument("--allow-unknown-size", action="store_true",
                        help="go ahead with a size the rules cannot place")
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
                         help="resume: also start these (comma-separated) at the end")

    resize = subs.add_parser("resize", parents=[common], help="resize a VM, handling AN")
    resize.add_argument("--vm", required=True, metavar="NAME")
    resize.add_argument("--size", required=True)
    resize.add_argument("--also-start", type=_names, default=[], metavar="NAMES",
                        help="resume: also start these (comma-separated) at the end")
    return parser


def _validated_command(args: argparse.Namespace) -> List[str]:
    """Check every name before any call; return the canonical arguments (for resume)."""
    from accelnet.provision.names import check_name, check_path, check_prefix, check_size

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
        if args.public_ip:
            pairs.append(("--public-ip", check_name("public_ip", args.public_ip)))
        if args.ssh_key_value:
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
    elif args.vmss and args.upgrade_policy != "keep":
        command += ["--upgrade-policy", args.upgrade_policy]
    if args.allow_unknown_size:
        command.append("--allow-unknown-size")
    return command


def _build_plan(args: argparse.Namespace, command: List[str], reader):  # type: ignore[no-untyped-def]
    from accelnet.provision import plan as plans
    from accelnet.provision.state import Ref

    rg = args.resource_group
    if args.action == "create":
        spec = plans.CreateSpec(
            resource_group=rg, location=args.location, vnet=args.vnet_name,
            address_prefix=args.address_prefix, subnet=args.subnet_name,
            subnet_prefix=args.subnet_prefix, nsg=args.nsg, nic=args.nic, vm=args.vm,
            size=args.size, image=args.image, admin_username=args.admin_username,
            public_ip=args.public_ip, ssh_key_value=args.ssh_key_value)
        return plans.plan_create(reader, command, spec, args.allow_unknown_size)
    if args.action == "resize":
        return plans.plan_resize(reader, command, Ref(rg, args.vm), args.size,
                                 args.also_start, args.allow_unknown_size)
    enable = args.action == "enable"
    if args.vmss:
        return plans.plan_vmss_accelerated(reader, command, Ref(rg, args.vmss), enable,
                                           args.upgrade_policy, args.also_start,
                                           args.allow_unknown_size)
    return plans.plan_vm_accelerated(reader, command, Ref(rg, args.vm), enable,
                                     args.also_start, args.allow_unknown_size)


def run(argv: Optional[Sequence[str]], out: TextIO, err: TextIO) -> int:
    try:
        args = build_parser().parse_args(argv)
        command = _validated_command(args)
    except Refused as exc:
        err.write(f"accelnet-provision: refused: {exc}\n")
        return 1
    from accelnet.provision.azcli import make_cli
    from accelnet.provision.reader import Reader
    from accelnet.provision.runner import execute, failure_report
    from accelnet.provision.script import render_script

    cli = make_cli(args.az_timeout, args.az_retries, args.az_backoff)
    try:
        cli.resolve()
        plan = _build_plan(args, command, Reader(cli))
    except (ProvisionError, ValueError) as exc:  # ParseError (bad az output) is a ValueError
        err.write(f"accelnet-provision: refused before any change: {exc}\n")
        return 1
    if args.dry_run:
        out.write(render_script(plan, cli.calls))
        return 0
    for warning in plan.warnings:
        err.write(f"accelnet-provision: warning: {warning}\n")
    for note in plan.notes:
        out.write(f"found: {note}\n")
    if not plan.steps:
        out.write("nothing to do: everything is already as asked\n")
        return 0
    outcome = execute(plan, cli, out)
    if not outcome.ok:
        err.write(failure_report(plan, outcome))
        return 2
    out.write(f"done: {len(outcome.done)} step(s)\n")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return run(argv, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("accelnet-provision: interrupted\n")
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if isinstance(exc.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
