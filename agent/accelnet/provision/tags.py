"""`az tag update` arguments: the one way this tool writes tags (journal and intent).

The Tags API merges or deletes single tags without touching the resource's model, so it is
safe on a running VM and leaves every other tag as it was.
"""

from typing import List


def update_args(resource_id: str, operation: str, name: str, value: str) -> List[str]:
    """``operation`` is Merge (add or overwrite ``name``) or Delete (remove it where its
    value is ``value``)."""
    return ["tag", "update", "--resource-id", resource_id, "--operation", operation,
            "--tags", f"{name}={value}"]
