"""accelnet.records behaves as dataclasses does wherever the package relies on it.

The package swapped ``dataclasses`` for records to start faster (issue 21 item 7); these tests
hold the records to the stdlib's behaviour, side by side with the real dataclass where the
interpreter has one, so a difference shows up here and not as a wrong verdict."""

import sys
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import pytest

from accelnet import records
from accelnet.records import FrozenInstanceError, dataclass, field, replace

try:  # the stdlib's, or on Python 3.6 the backport the test extra installs
    import dataclasses as stdlib
except ImportError:
    stdlib = None  # type: ignore[assignment]


def _declare(module, frozen: bool):
    """The same class body made by ``accelnet.records`` or by the stdlib's ``dataclasses``."""

    @module.dataclass(frozen=frozen)
    class Nic:
        name: str
        mtu: int = 1500
        addresses: Tuple[str, ...] = module.field(default_factory=tuple)
        cache: Dict[str, int] = module.field(default_factory=dict, repr=False, compare=False)
        slot: Optional[Tuple[int, str]] = None

    return Nic


def test_construction_by_position_keyword_and_default() -> None:
    Nic = _declare(records, frozen=True)
    nic = Nic("eth0", 9000, slot=(1, "x"))
    assert (nic.name, nic.mtu, nic.addresses, nic.cache, nic.slot) == ("eth0", 9000, (), {}, (1, "x"))
    assert Nic(name="eth1").mtu == 1500


def test_every_record_gets_its_own_factory_value() -> None:
    Nic = _declare(records, frozen=False)
    first, second = Nic("a"), Nic("b")
    first.cache["eth0"] = 1
    assert second.cache == {}


@pytest.mark.parametrize("call, message", [
    (lambda Nic: Nic(), "missing required argument: 'name'"),
    (lambda Nic: Nic("a", 1, (), {}, None, "extra"), "takes 5 positional arguments but 6 were given"),
    (lambda Nic: Nic("a", name="b"), "multiple values for argument 'name'"),
    (lambda Nic: Nic("a", speed=1), "unexpected keyword argument 'speed'"),
])
def test_wrong_construction_is_a_type_error(call, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call(_declare(records, frozen=True))


def test_frozen_records_refuse_assignment_and_deletion() -> None:
    nic = _declare(records, frozen=True)("eth0")
    with pytest.raises(FrozenInstanceError):
        nic.mtu = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del nic.mtu  # type: ignore[misc]
    assert nic.mtu == 1500


def test_mutable_records_take_assignment_and_are_not_hashable() -> None:
    nic = _declare(records, frozen=False)("eth0")
    nic.mtu = 4000
    assert nic.mtu == 4000
    with pytest.raises(TypeError):
        hash(nic)


def test_equality_hash_and_repr_leave_out_what_the_field_says() -> None:
    Nic = _declare(records, frozen=True)
    a = Nic("eth0", cache={"x": 1})
    b = Nic("eth0", cache={"y": 2})
    assert a == b and hash(a) == hash(b)
    assert a != Nic("eth1")
    assert a != ("eth0", 1500, (), None)
    assert repr(a) == "_declare.<locals>.Nic(name='eth0', mtu=1500, addresses=(), slot=None)"


@pytest.mark.skipif(stdlib is None, reason="no dataclasses module to compare with")
@pytest.mark.parametrize("frozen", [True, False])
def test_same_behaviour_as_the_stdlib(frozen: bool) -> None:
    ours = _declare(records, frozen)
    theirs = _declare(stdlib, frozen)
    for args, kwargs in [(("eth0",), {}), (("eth1", 9000, ("a",)), {"slot": (2, "b")})]:
        mine, real = ours(*args, **kwargs), theirs(*args, **kwargs)
        assert repr(mine) == repr(real)
        assert (mine == ours(*args, **kwargs)) == (real == theirs(*args, **kwargs))
        if frozen:
            assert hash(mine) == hash(real)
            assert repr(replace(mine, mtu=1)) == repr(stdlib.replace(real, mtu=1))
        else:
            assert ours.__hash__ is None and theirs.__hash__ is None


def test_post_init_and_fields_outside_init() -> None:
    @dataclass
    class Host:
        root: str
        files: List[str] = field(init=False, repr=False)

        def __post_init__(self) -> None:
            self.files = [self.root + "/sys"]

    host = Host("/snap")
    assert host.files == ["/snap/sys"]
    assert repr(host) == "test_post_init_and_fields_outside_init.<locals>.Host(root='/snap')"
    with pytest.raises(ValueError, match="init=False"):
        replace(host, files=[])
    assert replace(host, root="/other").files == ["/other/sys"]


def test_replace_refuses_unknown_fields_and_non_records() -> None:
    nic = _declare(records, frozen=True)("eth0")
    with pytest.raises(TypeError, match="no field speed"):
        replace(nic, speed=1)
    with pytest.raises(TypeError):
        replace(object())


def test_declarations_dataclasses_refuses_are_refused() -> None:
    with pytest.raises(ValueError, match="mutable default"):
        @dataclass
        class Bad:
            items: List[int] = []
    with pytest.raises(TypeError, match="non-default argument"):
        @dataclass
        class Order:
            a: int = 0
            b: int  # type: ignore[misc]
    with pytest.raises(ValueError):
        field(default=1, default_factory=int)  # type: ignore[call-overload]


@pytest.mark.parametrize("annotation", [ClassVar[int], ClassVar, "ClassVar[int]", "InitVar[int]"])
def test_class_variables_are_refused_not_taken_for_fields(annotation) -> None:
    with pytest.raises(TypeError, match="ClassVar and InitVar are not supported"):
        dataclass(type("Counter", (), {"__annotations__": {"total": annotation}}))


def test_any_and_optional_annotations_are_fields() -> None:
    @dataclass(frozen=True)
    class Loose:
        anything: Any
        maybe: Optional[int] = None

    assert Loose(1).anything == 1 and Loose(1).maybe is None


def test_inherited_fields_come_first() -> None:
    @dataclass(frozen=True)
    class Base:
        a: int

    @dataclass(frozen=True)
    class Child(Base):
        b: int = 2

    assert repr(Child(1)) == "test_inherited_fields_come_first.<locals>.Child(a=1, b=2)"
    assert Child(1) != Base(1)


def test_explicit_methods_are_kept() -> None:
    @dataclass(frozen=True)
    class Version:
        text: str

        def __repr__(self) -> str:
            return "v" + self.text

    assert repr(Version("1")) == "v1"


def test_no_dataclasses_module_is_needed() -> None:
    """The point of records: importing them loads neither dataclasses nor inspect."""
    import subprocess
    code = ("import sys; import accelnet.records; "
            "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    assert out.strip() == "[]"
    assert records.__all__ == ["FrozenInstanceError", "dataclass", "field", "replace"]


# -- what dataclasses does that a record silently did differently (attack21b) -----------------

def _both(build):
    """``build(module)`` made with the records and, where there is one, with dataclasses."""
    return [build(module) for module in (records, stdlib) if module is not None]


def test_a_field_declared_again_keeps_its_place() -> None:
    """A subclass that gives an inherited field a new default binds positional arguments as
    dataclasses does: the field stays where the base declared it."""
    def build(module):
        @module.dataclass
        class Base:
            x: int
            y: int = 2

        @module.dataclass
        class Child(Base):
            x: int = 5
            z: int = 3

        return repr(Child(7)).split("(", 1)[1]

    assert set(_both(build)) == {"x=7, y=2, z=3)"}


def test_a_default_inherited_from_a_base_class_is_the_default() -> None:
    def build(module):
        @module.dataclass
        class Base:
            x: int = 1

        @module.dataclass
        class Child(Base):
            x: int  # type: ignore[misc]

        class Plain:
            y = 7

        @module.dataclass
        class FromPlain(Plain):
            y: int

        return Child().x, FromPlain().y

    assert set(_both(build)) == {(1, 7)}


def test_a_record_that_contains_itself_has_a_repr() -> None:
    def build(module):
        @module.dataclass
        class Node:
            nxt: Optional[object] = None

        node = Node()
        node.nxt = Node(node)
        return repr(node).split("(", 1)[1]

    modules = [records] + ([stdlib] if stdlib is not None and sys.version_info >= (3, 7) else [])  # not the backport's
    assert {build(module) for module in modules} == {
        "nxt=test_a_record_that_contains_itself_has_a_repr.<locals>.build.<locals>.Node(nxt=...))"}


@pytest.mark.parametrize("base_frozen", [True, False])
def test_frozen_and_mutable_records_do_not_inherit_from_each_other(base_frozen: bool) -> None:
    for module in (records, stdlib):
        if module is None:
            continue

        @module.dataclass(frozen=base_frozen)
        class Base:
            a: int

        with pytest.raises(TypeError, match="cannot inherit"):
            @module.dataclass(frozen=not base_frozen)
            class Child(Base):
                b: int


def test_an_explicit_hash_none_leaves_a_frozen_record_unhashable() -> None:
    def build(module):
        @module.dataclass(frozen=True)
        class Secret:
            a: int
            __hash__ = None  # type: ignore[assignment]

        @module.dataclass(frozen=True)
        class OwnEq:
            a: int

            def __eq__(self, other: object) -> bool:
                return True

        return Secret.__hash__ is None, hash(OwnEq(1)) == hash(OwnEq(1))

    assert set(_both(build)) == {(True, True)}


def test_an_unhashable_default_is_refused() -> None:
    """A bytearray (any instance of a class that cannot hash) would be one object shared by
    every record, as a list would: refused as Python 3.11's dataclasses refuse it."""
    with pytest.raises(ValueError, match="mutable default"):
        @dataclass
        class Buffer:
            data: bytearray = bytearray()


def test_a_mutable_record_is_set_through_its_own_setattr() -> None:
    def build(module):
        seen = []

        @module.dataclass
        class Watched:
            a: int
            b: int = 2

            def __setattr__(self, name: str, value: object) -> None:
                seen.append(name)
                object.__setattr__(self, name, value)

        Watched(1)
        return tuple(seen)

    assert set(_both(build)) == {("a", "b")}


def test_defaults_are_made_in_declaration_order() -> None:
    def build(module):
        made = []

        def factory(name: str):
            return lambda: made.append(name) or name

        @module.dataclass
        class Ordered:
            a: str = module.field(default_factory=factory("a"))
            b: str = module.field(init=False, default_factory=factory("b"))
            c: str = module.field(default_factory=factory("c"))

        Ordered()
        return tuple(made)

    assert set(_both(build)) == {("a", "b", "c")}


@pytest.mark.skipif(sys.version_info < (3, 10), reason="annotations are in the class's __dict__ before 3.10")
def test_fields_are_found_where_python_keeps_them() -> None:
    """Python 3.14 evaluates a class's annotations lazily (PEP 649/749): they are no longer in
    the class's ``__dict__``, only behind ``cls.__annotations__``. Records read them as Python
    documents since 3.10, so a record is not left without fields there. Simulated: a metaclass
    serves the annotations the way 3.14's ``type`` does, and the class dict has none."""
    class LazyAnnotations(type):
        @property
        def __annotations__(cls) -> Dict[str, Any]:
            return {"name": str, "mtu": int}

    class Nic(metaclass=LazyAnnotations):
        mtu = 1500

    assert "__annotations__" not in Nic.__dict__
    nic = dataclass(Nic)("eth0")
    assert (nic.name, nic.mtu) == ("eth0", 1500)
    assert repr(nic).endswith("Nic(name='eth0', mtu=1500)")
