"""What typing has only on newer Pythons, for the type checker alone.

``typing.Protocol`` exists from Python 3.8; the code runs on 3.6. Protocol classes here only
describe what a seam must offer (nothing inherits from them at run time), so at run time the
name is ``object`` and the checker, which reads the ``TYPE_CHECKING`` branch, sees the real one.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Protocol
else:
    Protocol = object

__all__ = ["Protocol"]
