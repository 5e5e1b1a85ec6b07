"""Declared intent, the Azure side: the VM tag ``accelnet`` that says what AN should be.

``accelnet-check`` and ``accelnet-agent`` read it through IMDS (``compute.tagsList``); the
value ``off`` means Accelerated Networking is off on purpose, so a VM without it is healthy
by design rather than broken. ``accelnet-provision disable`` offers to write it (a step of
the plan, under the same consent and ``--dry-run`` as the rest), ``enable`` takes it back.
The Tags API (``az tag update``) writes it without touching the VM model, running or not.
"""

from typing import List

from accelnet.provision.tags import update_args

TAG = "accelnet"
OFF = "off"


def set_args(resource_id: str) -> List[str]:
    return update_args(resource_id, "Merge", TAG, OFF)


def remove_args(resource_id: str, name: str, value: str) -> List[str]:
    return update_args(resource_id, "Delete", name, value)
