"""Whether this kernel has, and runs, the modules of the Accelerated Networking path.

Three sources, read through the Host so a bundle answers the same: ``/sys/module/<name>/initstate``
(``live`` for a loaded module; the kernel removes the directory on unload), and the AN lines
of the running kernel's ``modules.dep`` and ``modules.builtin`` (captures ``modules-dep`` and
``modules-builtin``, parsers/kmod.py). What could not be read stays None: "not known" is never
"missing".
"""

from typing import Dict, Optional

from accelnet.parsers.kmod import AN_MODULES, parse_modules_builtin, parse_modules_dep
from accelnet.readers import capturenames
from accelnet.readers.host import Host
from accelnet.records import dataclass

SYS_MODULE = "/sys/module"


@dataclass
class ModuleState:
    name: str
    #: /sys/module/<name>/initstate is "live"; None where /sys/module could not be read.
    loaded: Optional[bool] = None
    #: listed in modules.builtin; None where it was not read.
    builtin: Optional[bool] = None
    #: its file in modules.dep ("" when modules.dep does not list it); None where not read.
    file: Optional[str] = None

    @property
    def available(self) -> Optional[bool]:
        """Whether this kernel can have the module at all: built in, or installed as a file."""
        if self.builtin or self.file:
            return True
        if self.builtin is None or self.file is None:
            return None
        return False

    def as_evidence(self) -> Dict[str, object]:
        return {"loaded": self.loaded, "builtin": self.builtin, "file": self.file}


def read_modules(host: Host) -> Dict[str, ModuleState]:
    """The state of each AN module (parsers/kmod.py AN_MODULES)."""
    sys_module = host.is_dir(SYS_MODULE)
    dep_text = host.capture(capturenames.MODULES_DEP)
    builtin_text = host.capture(capturenames.MODULES_BUILTIN)
    files = parse_modules_dep(dep_text) if dep_text is not None else None
    builtins = parse_modules_builtin(builtin_text) if builtin_text is not None else None
    states = {}
    for name in AN_MODULES:
        state = ModuleState(name)
        if sys_module:
            state.loaded = host.read_attr(f"{SYS_MODULE}/{name}/initstate") == "live"
        if builtins is not None:
            state.builtin = name in builtins
        if files is not None:
            state.file = files.get(name, "")
        states[name] = state
    return states
