"""The plan of a new VM with AN: the article's sequence, skipping what already exists."""

from typing import List, Optional

from accelnet.provision.errors import Refused
from accelnet.provision.plan import Options, Plan, check_size
from accelnet.provision.reader import Reader
from accelnet.provision.state import Ref
from accelnet.records import dataclass


@dataclass(frozen=True)
class CreateSpec:
    resource_group: str
    location: str
    vnet: str
    address_prefix: str
    subnet: str
    subnet_prefix: str
    nsg: str
    nic: str
    vm: str
    size: str
    image: str
    admin_username: str
    public_ip: Optional[str] = None
    ssh_key_value: Optional[str] = None  # a public key file; None = --generate-ssh-keys


def plan_create(reader: Reader, command: List[str], spec: CreateSpec,
                options: Options = Options()) -> Plan:
    """The article's sequence, skipping what already exists."""
    plan = Plan(command)
    size = check_size(reader, plan, spec.size, spec.location, options,
                      f"create {spec.vm} with Accelerated Networking", new=True)
    rg = spec.resource_group
    group_exists = reader.group_exists(rg)

    def missing(show: List[str], what: str) -> bool:
        if group_exists and reader.exists(show, what):
            plan.notes.append(f"{what} exists already")
            return False
        return True

    if not group_exists:
        plan.add(["group", "create", "--name", rg, "--location", spec.location],
                 f"Create resource group {rg} to hold everything below")
    in_rg = ["--resource-group", rg]
    if missing(["network", "vnet", "show", *in_rg, "--name", spec.vnet],
               f"virtual network {spec.vnet}"):
        plan.add(["network", "vnet", "create", *in_rg, "--name", spec.vnet,
                  "--location", spec.location, "--address-prefix", spec.address_prefix,
                  "--subnet-name", spec.subnet, "--subnet-prefix", spec.subnet_prefix],
                 f"Create virtual network {spec.vnet} with subnet {spec.subnet} for the NIC")
    elif missing(["network", "vnet", "subnet", "show", *in_rg, "--vnet-name", spec.vnet,
                  "--name", spec.subnet], f"subnet {spec.subnet}"):
        plan.add(["network", "vnet", "subnet", "create", *in_rg, "--vnet-name", spec.vnet,
                  "--name", spec.subnet, "--address-prefixes", spec.subnet_prefix],
                 f"Create subnet {spec.subnet} in {spec.vnet} for the NIC")
    if missing(["network", "nsg", "show", *in_rg, "--name", spec.nsg],
               f"network security group {spec.nsg}"):
        plan.add(["network", "nsg", "create", *in_rg, "--name", spec.nsg,
                  "--location", spec.location],
                 f"Create network security group {spec.nsg}: its default rules deny inbound "
                 "traffic from the internet")
    if missing(["network", "nsg", "rule", "show", *in_rg, "--nsg-name", spec.nsg,
                "--name", "Allow-SSH-Internet"], "rule Allow-SSH-Internet"):
        plan.add(["network", "nsg", "rule", "create", *in_rg, "--nsg-name", spec.nsg,
                  "--name", "Allow-SSH-Internet", "--access", "Allow", "--protocol", "Tcp",
                  "--direction", "Inbound", "--priority", "100",
                  "--source-address-prefix", "Internet", "--source-port-range", "*",
                  "--destination-address-prefix", "*", "--destination-port-range", "22"],
                 "Open TCP port 22 from the internet so the VM can be reached with SSH")
    if spec.public_ip and missing(["network", "public-ip", "show", *in_rg,
                                   "--name", spec.public_ip], f"public IP {spec.public_ip}"):
        zones = ["--zone", *size.zones] if size.zones else []
        plan.add(["network", "public-ip", "create", *in_rg, "--name", spec.public_ip,
                  "--location", spec.location, "--sku", "Standard", *zones],
                 f"Create public IP {spec.public_ip} to reach the VM from the internet "
                 "(Standard" + (f", zone-redundant across zones {', '.join(size.zones)} of "
                                f"{spec.location}" if zones else ", no zones: Azure lists "
                                "none for the size here") + ")")
    nic = reader.optional_nic(Ref(rg, spec.nic)) if group_exists else None
    if nic is not None and not nic.accelerated:
        raise Refused(f"NIC {spec.nic} exists without Accelerated Networking; run "
                      f"'accelnet-provision enable' on its VM, or choose another --nic name")
    if nic is not None:
        plan.notes.append(f"NIC {spec.nic} exists already with Accelerated Networking")
    else:
        args = ["network", "nic", "create", *in_rg, "--name", spec.nic,
                "--location", spec.location, "--vnet-name", spec.vnet, "--subnet", spec.subnet,
                "--accelerated-networking", "true", "--network-security-group", spec.nsg]
        if spec.public_ip:
            args += ["--public-ip-address", spec.public_ip]
        plan.add(args, f"Create NIC {spec.nic} with Accelerated Networking on")
    if missing(["vm", "show", *in_rg, "--name", spec.vm], f"VM {spec.vm}"):
        keys = (["--ssh-key-values", spec.ssh_key_value] if spec.ssh_key_value
                else ["--generate-ssh-keys"])
        plan.add(["vm", "create", *in_rg, "--name", spec.vm, "--location", spec.location,
                  "--image", spec.image, "--size", spec.size,
                  "--admin-username", spec.admin_username, *keys, "--nics", spec.nic],
                 f"Create VM {spec.vm} ({spec.size}, a size with Accelerated Networking) "
                 f"with NIC {spec.nic}")
    plan.before = reader.state()
    return plan
