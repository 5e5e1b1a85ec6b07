"""Value records: the part of ``dataclasses`` this package uses, at a fraction of its start-up cost.

Why not ``dataclasses`` itself: ``accelnet-check`` is a one-shot command, so its start-up is
most of its run time. ``import dataclasses`` pulls in ``inspect`` (about 10 ms), and every
decorated class has its methods written out as source text and compiled (0.3 to 0.7 ms a class,
and the check defines dozens): together more than the whole diagnosis of a host. A record is
declared exactly as a dataclass is (annotations, defaults, ``field(default_factory=...)``,
``frozen=True``, ``__post_init__``) and behaves as one where the package relies on it
(positional and keyword construction, defaults, equality, the hash of frozen records, repr,
:func:`replace`), but its methods are shared closures over a tuple of fields: nothing is
compiled when a module is imported.

Not supported, because nothing here needs them (and a use fails loudly, not silently):
``ClassVar``/``InitVar`` pseudo-fields, ``order=``, ``unsafe_hash=``, keyword-only fields,
``asdict``. The type checker sees a real dataclass (PEP 681 ``dataclass_transform``).
"""

import sys
from _thread import get_ident
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Optional, Set, Tuple, Type, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_options: object) -> Callable[[Any], Any]:
        return lambda decorated: decorated

__all__ = ["FrozenInstanceError", "dataclass", "field", "replace"]

T = TypeVar("T")


class FrozenInstanceError(AttributeError):
    """Raised on assignment to a field of a frozen record (as ``dataclasses`` raises it)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
#: (record id, thread) pairs whose repr is being written: a record inside itself prints "...".
_repr_running = set()  # type: Set[Tuple[int, int]]


class Field:
    """One declared field: its name (set when the class is made) and how it gets a value."""

    __slots__ = ("name", "default", "default_factory", "init", "repr", "compare")

    def __init__(self, default: object, default_factory: Optional[Callable[[], object]],
                 init: bool, repr: bool, compare: bool) -> None:
        if default is not MISSING and default_factory is not None:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare

    def value(self, owner: str) -> object:
        """The value of a field the caller did not give."""
        if self.default_factory is not None:
            return self.default_factory()
        if self.default is MISSING:
            raise TypeError("%s() missing required argument: %r" % (owner, self.name))
        return self.default


@overload
def field(*, default: T, init: bool = ..., repr: bool = ..., compare: bool = ...) -> T:
    ...


@overload
def field(*, default_factory: Callable[[], T], init: bool = ..., repr: bool = ...,
          compare: bool = ...) -> T:
    ...


@overload
def field(*, init: bool = ..., repr: bool = ..., compare: bool = ...) -> Any:
    ...


def field(*, default: Any = MISSING, default_factory: Optional[Callable[[], Any]] = None,
          init: bool = True, repr: bool = True, compare: bool = True) -> Any:
    """A field with a factory, or one left out of ``__init__``, ``repr`` or comparisons."""
    return Field(default, default_factory, init, repr, compare)


def _pseudo_field(annotation: object) -> bool:
    """Whether an annotation is ``ClassVar``/``InitVar`` (written out or as a string). Not by
    ``str(annotation)``: typing's repr costs more than making the whole record."""
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar"))
    if annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar:
        return True
    if sys.version_info < (3, 7) and type(annotation) is type(ClassVar):  # 3.6: ClassVar[int]
        return True
    return type(annotation).__name__ == "InitVar"


def _own_annotations(cls: type) -> Dict[str, object]:
    """The annotations the class itself declares. From Python 3.10 through ``cls.__annotations__``
    (never a base's there): Python 3.14 evaluates them lazily and keeps none in the class's
    ``__dict__`` (PEP 649/749), where a record would find no field at all."""
    if sys.version_info >= (3, 10):
        return cls.__annotations__
    return cls.__dict__.get("__annotations__", {})


def _fields_of(cls: type) -> Tuple[Field, ...]:
    """The class's fields in declaration order, those of record base classes first (a field
    declared again keeps its place, as with dataclasses)."""
    found = {}  # type: Dict[str, Field]
    for base in reversed(cls.__mro__[1:]):
        for inherited in getattr(base, "__record_fields__", ()):
            found[inherited.name] = inherited
    for name, annotation in _own_annotations(cls).items():
        if _pseudo_field(annotation):
            raise TypeError("%s.%s: ClassVar and InitVar are not supported by records" % (cls.__name__, name))
        declared = getattr(cls, name, MISSING)  # a base class's attribute is a default too
        if isinstance(declared, Field):
            spec = declared
        else:
            if declared is not MISSING and type(declared).__hash__ is None:  # list, dict, set, bytearray...
                raise ValueError("mutable default %s for field %s is not allowed: use default_factory"
                                 % (type(declared).__name__, name))
            spec = Field(declared, None, True, True, True)
        spec.name = name
        if spec.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)  # a factory's field: no class attribute, as dataclasses does
        else:
            setattr(cls, name, spec.default)
        found[name] = spec
    specs = tuple(found.values())
    seen_default = False
    for spec in specs:
        if not spec.init:
            continue
        if spec.default is MISSING and spec.default_factory is None:
            if seen_default:
                raise TypeError("%s: non-default argument %r follows default argument" % (cls.__name__, spec.name))
        else:
            seen_default = True
    return specs


def _make_init(cls: type, specs: Tuple[Field, ...], frozen: bool) -> Callable[..., None]:
    owner = cls.__name__
    given = tuple(spec for spec in specs if spec.init)
    given_names = tuple(spec.name for spec in given)
    names = frozenset(given_names)
    every_field_given = len(given) == len(specs)
    post_init = getattr(cls, "__post_init__", None) is not None
    # As dataclasses: a frozen record is set past its own __setattr__, a mutable one through it.
    setter = object.__setattr__ if frozen else setattr

    def __init__(self: Any, *args: object, **kwargs: object) -> None:
        if not kwargs and len(args) == len(given) and every_field_given:
            for name, value in zip(given_names, args):  # the common call: every field in order
                setter(self, name, value)
        else:
            if len(args) > len(given):
                raise TypeError("%s() takes %d positional arguments but %d were given"
                                % (owner, len(given), len(args)))
            for unexpected in kwargs:
                if unexpected not in names:
                    raise TypeError("%s() got an unexpected keyword argument %r" % (owner, unexpected))
            index = 0
            for spec in specs:  # in declaration order: default factories run in that order
                if not spec.init:
                    if spec.default is not MISSING or spec.default_factory is not None:
                        setter(self, spec.name, spec.value(owner))
                    continue
                if index < len(args):
                    if spec.name in kwargs:
                        raise TypeError("%s() got multiple values for argument %r" % (owner, spec.name))
                    setter(self, spec.name, args[index])
                elif spec.name in kwargs:
                    setter(self, spec.name, kwargs[spec.name])
                else:
                    setter(self, spec.name, spec.value(owner))
                index += 1
        if post_init:
            self.__post_init__()

    return __init__


def _make_methods(cls: type, specs: Tuple[Field, ...], frozen: bool, eq: bool, repr: bool) -> Dict[str, Any]:
    compared = tuple(spec.name for spec in specs if spec.compare)
    shown = tuple(spec.name for spec in specs if spec.repr)

    def key(self: Any) -> Tuple[object, ...]:
        return tuple(getattr(self, name) for name in compared)

    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(key(self))

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in _repr_running:  # a record that contains itself, as reprlib.recursive_repr says it
            return "..."
        _repr_running.add(key)
        try:
            return "%s(%s)" % (self.__class__.__qualname__,
                               ", ".join("%s=%r" % (name, getattr(self, name)) for name in shown))
        finally:
            _repr_running.discard(key)

    def __setattr__(self: Any, name: str, value: object) -> None:
        raise FrozenInstanceError("cannot assign to field %r" % name)

    def __delattr__(self: Any, name: str) -> None:
        raise FrozenInstanceError("cannot delete field %r" % name)

    methods = {"__init__": _make_init(cls, specs, frozen)}  # type: Dict[str, Any]
    if repr:
        methods["__repr__"] = __repr__
    if eq:
        methods["__eq__"] = __eq__
        # As dataclasses: an equal-comparing record is hashable only when it is frozen, unless
        # the class says otherwise (a __hash__ of its own, or __hash__ = None without an __eq__:
        # Python writes that None itself for a class that defines __eq__).
        own_hash = cls.__dict__.get("__hash__", MISSING)
        if own_hash is MISSING or (own_hash is None and "__eq__" in cls.__dict__):
            methods["__hash__"] = __hash__ if frozen else None
    if frozen:
        methods["__setattr__"] = __setattr__
        methods["__delattr__"] = __delattr__
    return methods


def _process(cls: Type[T], frozen: bool, eq: bool, repr: bool) -> Type[T]:
    for base in cls.__mro__[1:]:
        if "__record_fields__" in base.__dict__:
            if base.__dict__["__record_frozen__"] != frozen:
                raise TypeError("cannot inherit %s record from a %s one"
                                % (("frozen", "non-frozen") if frozen else ("non-frozen", "frozen")))
            break
    specs = _fields_of(cls)
    for name, method in _make_methods(cls, specs, frozen, eq, repr).items():
        explicit = name in cls.__dict__ and name != "__hash__"
        if explicit and name in ("__setattr__", "__delattr__"):
            raise TypeError("cannot overwrite attribute %s in frozen class %s" % (name, cls.__name__))
        if not explicit:
            if method is not None:
                method.__qualname__ = "%s.%s" % (cls.__qualname__, name)
            setattr(cls, name, method)
    setattr(cls, "__record_fields__", specs)
    setattr(cls, "__record_frozen__", frozen)
    return cls


@overload
def dataclass(cls: Type[T]) -> Type[T]:
    ...


@overload
def dataclass(*, frozen: bool = ..., eq: bool = ..., repr: bool = ...) -> Callable[[Type[T]], Type[T]]:
    ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: Optional[Type[T]] = None, *, frozen: bool = False, eq: bool = True,
              repr: bool = True) -> Any:
    """Make ``cls`` a record: ``@dataclass`` or ``@dataclass(frozen=True)``, as with dataclasses."""
    if cls is None:
        return lambda later: _process(later, frozen, eq, repr)
    return _process(cls, frozen, eq, repr)


def replace(record: T, **changes: Any) -> T:
    """A copy of ``record`` with ``changes``; fields outside ``__init__`` cannot be changed."""
    specs = getattr(record, "__record_fields__", None)
    if specs is None:
        raise TypeError("replace() should be called on a record instance")
    values = {}  # type: Dict[str, object]
    for spec in specs:
        if not spec.init:
            if spec.name in changes:
                raise ValueError("field %s is declared with init=False, it cannot be specified with replace()" % spec.name)
            continue
        values[spec.name] = changes.pop(spec.name) if spec.name in changes else getattr(record, spec.name)
    if changes:
        raise TypeError("%s has no field %s" % (type(record).__name__, ", ".join(sorted(changes))))
    return record.__class__(**values)
