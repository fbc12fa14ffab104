# tracealign's tracer: what a candidate program did during one test.
#
# Prepended to the harness (both are embedded in the binary). Records events of the
# candidate's own code only (frames whose code comes from "<candidate>"): `call` (with
# arguments), `line` (the line about to run, with the variables the previous line changed),
# `return` (value; `yield` for generators), `exception` (type, message, line). Values are
# bounded renderings (BoundedRepr). Hard caps on events and bytes per test end in an
# explicit `truncated`.
#
# Tracing never changes what a test does: the tracer runs none of the program's code (see
# "the program's code never runs in the tracer" below), and a failure of its own ends the
# recording, never the test.
#
# Front ends feed one recorder: sys.monitoring on Python 3.12+ (events are enabled only on
# the candidate's code objects, so the rest of the process runs at full speed); before that,
# sys.settrace for full traces and, for coverage, markers compiled into the candidate's
# statements (see `instrument`; on 3.10 and older, or if instrumenting fails, settrace).
# Coverage mode records only which lines ran, each line once.
#
# Cost (see bench/README.md): a recorded event costs a few microseconds of Python, so the
# common cases take fast paths (the same immutable object is unchanged; small containers of
# plain values are compared element by element by identity; their renderings are the
# builtin repr when that equals reprlib's). Events are written as JSON text when recorded
# and leave the child as a line of their own that the worker passes on undecoded: only
# tracealign parses them. Past a cap only coverage goes on, at coverage's cost (on 3.11
# tracing stops altogether and the markers give the coverage). On 3.11 a marker costs a few
# instructions per statement run (HumanEval/75: ~15-30%), where sys.settrace made CPython run
# every instruction of every frame on its slow tracing path and call the trace function on
# every call (~4x there). On 3.12+ coverage touches only the program's own code objects (see
# LineWatch). The worker compiles (and instruments) each program once per job, before it
# forks the job's child (see `compile_job` in the harness).

import dis
import re
import sys
import types
from collections import Counter, OrderedDict, defaultdict, deque
from itertools import compress as _compress
from itertools import islice as _islice
from operator import itemgetter
from json.encoder import encode_basestring_ascii as _json_str
from operator import is_ as _is

TRACE_CANDIDATE_FILE = "<candidate>"

# -- the program's code never runs in the tracer -------------------------------------------
# Tracing must not change what a test does: a `__repr__` that raises, prints, loops or
# changes state, a `__len__`, `__eq__`, `__hash__` (of a class, through its metaclass),
# `__class__` property or `__str__` of the program's, would run while the program runs and
# could change its verdict or its time. So the tracer calls no method that a program can
# define: values are rendered from exact builtin types by their C code, through the C
# methods of the builtin base of a subclass, and by type name otherwise (see BoundedRepr);
# types are told apart by identity (`id`, `is`, `issubclass` of an exact type), never by
# hashing or comparing them; and the builtins and `sys` functions it uses are bound here,
# before a program could replace them. What still fails (a RecursionError at the program's
# recursion limit, a MemoryError) ends recording as a cap does: the trace says `truncated`.
_type = type
_id = id
_len = len
_repr = repr
_set = set
_map = map
_max = max
_all = all
_sorted = sorted
_issubclass = issubclass
_tuple = tuple
_frozenset = frozenset
_list = list
_dict = dict
_str = str
_bytes = bytes
_bytearray = bytearray
_int = int
_float = float
_complex_type = complex
_bool_type = bool
_slice = slice
_range = range
_zip = zip
_BaseException = BaseException
_OSError = OSError
_KeyError = KeyError
_TypeError = TypeError
_UnicodeEncodeError = UnicodeEncodeError
_FunctionType = types.FunctionType
_ModuleType = types.ModuleType
_MemberDescriptorType = types.MemberDescriptorType
_MODULES = sys.modules
_getframe = sys._getframe
_settrace = sys.settrace
_HAS_MONITORING = hasattr(sys, "monitoring")
if _HAS_MONITORING:  # copies: a program may replace the functions of sys.monitoring
    _MONITORING = types.SimpleNamespace(**vars(sys.monitoring))
    _MONITORING.events = types.SimpleNamespace(**vars(sys.monitoring.events))

# C getters read through the descriptors of `type`, `BaseException`, ...: never through
# the value, whose class (or metaclass) may shadow them.
_get_type_name = type.__dict__["__name__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_exception_args = BaseException.__dict__["args"].__get__
_str_copy = str.__str__  # a str subclass's text, as an exact str
_dict_items = dict.items
_dict_keys = dict.keys
_dict_values = dict.values
_dict_len = dict.__len__
_default_factory = defaultdict.__dict__["default_factory"].__get__
_method_function = types.MethodType.__dict__["__func__"].__get__
_method_self = types.MethodType.__dict__["__self__"].__get__
_function_qualname = types.FunctionType.__dict__["__qualname__"].__get__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_os_errno = OSError.__dict__["errno"].__get__
_os_strerror = OSError.__dict__["strerror"].__get__
_os_filename = OSError.__dict__["filename"].__get__
_os_filename2 = OSError.__dict__["filename2"].__get__
_first = itemgetter(0)
_second = itemgetter(1)
_NONE_TYPE = type(None)
_PATTERN = type(re.compile(""))
_MATCH = type(re.match("", ""))
_FRAME_LOCALS = type((lambda: sys._getframe().f_locals)())  # dict before 3.13


def _exact(text):
    """A str of `text`, a str or a str subclass (whose methods are the program's)."""
    return text if _type(text) is _str else _str_copy(text)


def _name(kind):
    """A type's __name__, read without running a metaclass's code."""
    return _exact(_get_type_name(kind))


def _class_attribute(kind, name):
    """`name` as found in the dicts of `kind`'s classes (no descriptor is called), or None."""
    for klass in _type_mro(kind):
        namespace = _type_dict(klass)
        if name in namespace:
            return namespace[name]
    return None


class BoundedRepr:
    """Values as bounded text, without running any of the program's code.

    Exact builtin types read as reprlib renders them (lists, tuples, sets and deques to 8
    items, dicts to 6, 3 levels deep; long ints cut in the middle; long strings and other
    reprs cut to `max_chars` as head…tail; sets and dict keys sorted when their items are
    plain values). A subclass of a builtin reads as its class name around its base's
    rendering, taken through the base's C methods (`Name([1, 2])`; namedtuples as
    `Point(x=1, y=2)`; Counter, defaultdict and OrderedDict as their reprs); an exception
    as its type and arguments; anything else by its type's name, as object.__repr__ would
    (`<__candidate__.Point object>`), whatever `__repr__` it defines. A few types whose
    repr is C code that reads nothing of the program's (functions, classes, ranges,
    regular expressions, ...) keep their repr, addresses removed."""

    def __init__(self, max_chars):
        self.max_chars = max_chars
        # An int of more bits has more than max_chars digits: its repr would be cut.
        self.short_int_bits = _int(max_chars * 3.3219280948873626) + 4
        self.kinds = {}  # id(type) -> (type, its renderer), for the other types met

    def show(self, value):
        """A value's text."""
        kind = _type(value)
        # Most values in a trace are small ints, floats, bools, None and short strings, or
        # short lists and tuples of them: their builtin repr is what the renderer gives.
        if kind is _int and -10**15 < value < 10**15 or kind is _float or kind is _bool_type \
                or value is None:
            return _repr(value)
        try:
            if kind is _str:
                return self.cut(_repr(value))
            if kind is _list or kind is _tuple:
                text = self._plain(value, 3)
                if text is not None:
                    return text
            return self.render(value, 3)
        except _BaseException as exc:
            return "<unrepresentable %s>" % _name(_type(exc))

    def cut(self, text):
        """`text`, as head…tail if it is longer than max_chars."""
        if _len(text) <= self.max_chars:
            return text
        half = _max((self.max_chars - 1) // 2, 1)
        return text[:half] + "…" + text[-half:]

    def render(self, value, level):
        kind = _type(value)
        renderer = _RENDERERS.get(_id(kind))
        if renderer is None:
            known = self.kinds.get(_id(kind))
            if known is None:
                known = self.kinds[_id(kind)] = (kind, _renderer(kind))
            renderer = known[1]
        return renderer(self, value, level)

    def _plain(self, value, level):
        """The rendering of a list or tuple of plain values (and of lists and tuples of
        them), by the builtin repr; None for anything else, or for an element that would
        be cut."""
        n = _len(value)
        kind = _type(value)
        if level <= 0 and n:
            return "[...]" if kind is _list else "(...)"
        items = value if n <= 8 else value[:8]
        kinds = _set(_map(_id, _map(_type, items)))
        if kinds <= _ATOM_IDS:  # the builtin repr is the renderer's
            if _INT_ID in kinds:  # a long int would be cut (and its repr may cost much)
                bits = _max(_map(_int_bits, items)) if kinds == _INTS_ONLY else \
                    _max([_int_bits(item) for item in items if _type(item) is _int])
                if bits > self.short_int_bits:
                    return None
            if items and _max(_map(_len, _map(_repr, items))) > self.max_chars:
                return None
            text = _repr(items)
            if n > 8:
                text = text[:-1] + (", ...]" if kind is _list else ", ...)")
            return text
        if not kinds <= _NESTABLE_IDS:
            return None
        pieces = []
        for item in items:
            if _id(_type(item)) in _ATOM_IDS:
                if _type(item) is _int and _int_bits(item) > self.short_int_bits:
                    return None
                piece = _repr(item)
                if _len(piece) > self.max_chars:
                    return None
            else:
                piece = self._plain(item, level - 1)
                if piece is None:
                    return None
            pieces.append(piece)
        if n > 8:
            pieces.append("...")
        if kind is _list:
            return "[" + ", ".join(pieces) + "]"
        return "(" + ", ".join(pieces) + (",)" if n == 1 else ")")

    # -- renderers: (self, value, level) -> text ------------------------------------------
    def _int_text(self, value, level):
        if _int_bits(value) > _HUGE_INT_BITS:
            return _huge_int(value)
        return self._long(_repr(value))

    def _long(self, text):
        """An int's digits, cut in the middle as reprlib cuts them."""
        if _len(text) > self.max_chars:
            i = _max(0, (self.max_chars - 3) // 2)
            j = _max(0, self.max_chars - 3 - i)
            text = text[:i] + "..." + text[_len(text) - j:]
        return text

    def _str_text(self, value, level):
        return self.cut(_repr(value))

    def _builtin_text(self, value, level):
        """A type whose repr is C code that calls nothing of the value's contents."""
        text = _repr(value)
        if " at 0x" in text:  # addresses change from run to run and mean nothing here
            text = _ADDRESS.sub("", text)
        return self.cut(text)

    def _items(self, n, items, level, left, right, most=8, trail=""):
        """reprlib's rendering of a sequence of `n` items (`items` yields them in order)."""
        if level <= 0 and n:
            return left + "..." + right
        if n == 1 and trail:
            right = trail + right
        render = self.render
        level -= 1
        pieces = [render(item, level) for item in _islice(items, most)]
        if n > most:
            pieces.append("...")
        return left + ", ".join(pieces) + right

    def _pairs(self, n, pairs, level):
        """reprlib's rendering of a dict of `n` items (`pairs` yields them in order)."""
        if n == 0:
            return "{}"
        if level <= 0:
            return "{...}"
        render = self.render
        level -= 1
        pieces = [render(key, level) + ": " + render(item, level)
                  for key, item in _islice(pairs, 6)]
        if n > 6:
            pieces.append("...")
        return "{" + ", ".join(pieces) + "}"

    def _list_text(self, value, level):
        return self._items(_len(value), value, level, "[", "]")

    def _tuple_text(self, value, level):
        return self._items(_len(value), value, level, "(", ")", 8, ",")

    def _set_text(self, value, level):
        return self._set_items(_set, value, level, "{", "}", "set()")

    def _frozenset_text(self, value, level):
        return self._set_items(_frozenset, value, level, "frozenset({", "})", "frozenset()")

    def _set_items(self, base, value, level, left, right, empty):
        n = base.__len__(value)
        if n == 0:
            return empty
        if level <= 0:
            return left + "..." + right
        return self._items(n, _possibly_sorted(_list(base.__iter__(value))), level, left, right)

    def _deque_text(self, value, level):
        return self._items(deque.__len__(value), deque.__iter__(value), level, "deque([", "])")

    def _dict_text(self, value, level):
        n = _dict_len(value)
        if n == 0 or level <= 0:
            return self._pairs(n, (), level)
        return self._pairs(n, _sorted_pairs(value), level)

    def _view_text(self, value, level):  # dict_keys, dict_values, dict_items
        return self._items(_len(value), value, level, _name(_type(value)) + "([", "])")

    def _array_text(self, value, level):
        if not value:
            return "array('%s')" % value.typecode
        return self._items(_len(value), value, level, "array('%s', [" % value.typecode, "])",
                           5)

    def _counter_text(self, value, level):
        n = _dict_len(value)
        if n == 0:
            return "Counter()"
        pairs = _dict_items(value)
        if level > 0 and _ORDERABLE_IDS.issuperset(_map(_id, _map(_type, _dict_values(value)))):
            pairs = _sorted(pairs, key=_second, reverse=True)  # most_common()'s order
        return "Counter(" + self._pairs(n, pairs, level) + ")"

    def _defaultdict_text(self, value, level):
        factory = self.render(_default_factory(value), level - 1)
        return "defaultdict(%s, %s)" % (factory, self._dict_text(value, level))

    def _ordered_dict_text(self, value, level):
        # In the order of the dict beneath: OrderedDict's own order is read through
        # lookups, which may compare keys with the program's __eq__.
        n = _dict_len(value)
        if n == 0:
            return "OrderedDict()"
        return "OrderedDict(" + self._pairs(n, _dict_items(value), level) + ")"

    def _exception_text(self, value, level):
        name = _name(_type(value))
        args = _exception_args(value)
        if _type(args) is not _tuple:
            return name + "()"
        if _len(args) == 1:
            return name + "(" + self.render(args[0], level - 1) + ")"
        return name + self._tuple_text(args, level)

    def _method_text(self, value, level):
        function = _method_function(value)
        name = _exact(_function_qualname(function)) \
            if _type(function) is _FunctionType else "?"
        return "<bound method %s of %s>" % (name, self.render(_method_self(value), level - 1))

    def _module_text(self, value, level):
        name = _module_dict(value).get("__name__")
        return "<module %s>" % (_repr(name) if _type(name) is _str else "?")

    def _pattern_text(self, value, level):
        if _type(value.pattern) is _str or _type(value.pattern) is _bytes:
            return self._builtin_text(value, level)
        return "<re.Pattern object>"

    def _slice_text(self, value, level):
        render = self.render
        level -= 1
        return "slice(%s, %s, %s)" % (render(value.start, level), render(value.stop, level),
                                      render(value.step, level))

    def _object_text(self, value, level):
        """What object.__repr__ says of it (without the address)."""
        return "<%s object>" % _qualified(_type(value))

    def _class_text(self, value, level):
        """What type.__repr__ says of a class (whatever its metaclass says)."""
        return "<class '%s'>" % _qualified(value)


def _qualified(kind):
    """A class's module and qualified name, as object.__repr__ and type.__repr__ give them."""
    try:
        module = _type_module(kind)
    except _BaseException:  # a class without __module__
        module = None
    if module is not None and _issubclass(_type(module), _str):
        module = _exact(module)
        if module != "builtins":
            return module + "." + _exact(_type_qualname(kind))
    return _name(kind)


def _subclass(render):
    """A renderer for subclasses of `base`: the class name around `render`'s text of the
    value as its base would show it."""
    def subclass(shower, value, level):
        return _name(_type(value)) + "(" + render(shower, value, level) + ")"
    return subclass


def _namedtuple(fields):
    def namedtuple(shower, value, level):
        name = _name(_type(value))
        n = _tuple.__len__(value)
        if level <= 0 and n:
            return name + "(...)"
        render = shower.render
        pieces = ["%s=%s" % (field, render(item, level - 1))
                  for field, item in _islice(_zip(fields, _tuple.__iter__(value)), 8)]
        if n > 8:
            pieces.append("...")
        return name + "(" + ", ".join(pieces) + ")"
    return namedtuple


def _renderer(kind):
    """How BoundedRepr renders values of `kind`, a type that is not in _RENDERERS."""
    if _issubclass(kind, _BaseException):
        return BoundedRepr._exception_text
    if _issubclass(kind, _type):
        return BoundedRepr._class_text
    if _issubclass(kind, _tuple):
        fields = _class_attribute(kind, "_fields")
        if _type(fields) is _tuple and _all(_type(f) is _str for f in fields):
            return _namedtuple(fields)
    for base, render in _SUBCLASS_RENDERERS:
        if _issubclass(kind, base):
            return _subclass(render)
    fraction = _stdlib_class("fractions", "Fraction")
    if fraction is not None and kind is fraction:
        numerator = _member(fraction, "_numerator")
        denominator = _member(fraction, "_denominator")
        if numerator is not None and denominator is not None:
            def fraction_text(shower, value, level):
                return "Fraction(%s, %s)" % (shower.render(numerator(value), level - 1),
                                             shower.render(denominator(value), level - 1))
            return fraction_text
    decimal = _stdlib_class("decimal", "Decimal")
    if decimal is not None and kind is decimal:
        return BoundedRepr._builtin_text
    return BoundedRepr._object_text


def _stdlib_class(module_name, name):
    """A class of a standard module the program imported, or None."""
    module = _MODULES.get(module_name)
    if _type(module) is not _ModuleType:
        return None
    found = _module_dict(module).get(name)
    return found if _issubclass(_type(found), _type) else None


def _member(kind, name):
    """The getter of a __slots__ member of `kind`, or None if it is something else."""
    descriptor = _type_dict(kind).get(name)
    if _type(descriptor) is not _MemberDescriptorType:
        return None
    return descriptor.__get__


def _huge_int(value):
    """An int too long to convert to decimal here: converting it costs time that grows with
    the square of its length (before 3.12), which the program may never spend (the harness
    lifts Python's limit on int conversions)."""
    digits = _int(_int_bits(value) * 0.30102999566398120) + 1
    return "<%sint of about %d digits>" % ("negative " if value < 0 else "", digits)


def _possibly_sorted(items):
    """`items` (a list) sorted, as reprlib shows sets, when they are plain values (which
    compare by C code alone); else as they are."""
    if _orderable(items):
        try:
            return _sorted(items)
        except _TypeError:  # mixed types: reprlib shows them unsorted too
            pass
    return items


def _sorted_pairs(value):
    """A dict's items, by key when the keys are plain values (reprlib sorts them)."""
    if _orderable(_dict_keys(value)):
        try:
            return _sorted(_dict_items(value), key=_first)
        except _TypeError:
            pass
    return _dict_items(value)


def _orderable(items, depth=0):
    """Whether `items` are plain values, or tuples and frozensets of them: sorting them
    runs no code of the program's."""
    kinds = _set(_map(_id, _map(_type, items)))
    if kinds <= _ORDERABLE_IDS:
        return True
    if depth >= 2 or not kinds <= _COMPOSITE_IDS:
        return False
    return _all(_id(_type(item)) in _ORDERABLE_IDS or _orderable(item, depth + 1)
                for item in items)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_int_bits = int.bit_length
_HUGE_INT_BITS = 4000  # about 1200 digits: str() takes ~30 µs there, ~300 µs at 4300 digits
# Element types whose builtin repr is the renderer's (when at most max_chars long).
_ATOM_IDS = _frozenset(_map(_id, (_int, _float, _bool_type, _str, _NONE_TYPE)))
_NESTABLE_IDS = _ATOM_IDS | {_id(_list), _id(_tuple)}
_INT_ID = _id(_int)
_INTS_ONLY = {_INT_ID}
_ORDERABLE_IDS = _ATOM_IDS | {_id(_bytes)}
_COMPOSITE_IDS = _ORDERABLE_IDS | {_id(_tuple), _id(_frozenset)}
# Exact types, by id (a type's hash or == may be its metaclass's code), and their renderers.
_RENDERERS = {_id(kind): renderer for kind, renderer in (
    (_int, BoundedRepr._int_text), (_str, BoundedRepr._str_text), (_list, BoundedRepr._list_text),
    (_tuple, BoundedRepr._tuple_text), (_dict, BoundedRepr._dict_text),
    (_set, BoundedRepr._set_text),
    (_frozenset, BoundedRepr._frozenset_text), (deque, BoundedRepr._deque_text),
    (Counter, BoundedRepr._counter_text), (defaultdict, BoundedRepr._defaultdict_text),
    (OrderedDict, BoundedRepr._ordered_dict_text),
    (_type({}.keys()), BoundedRepr._view_text), (_type({}.values()), BoundedRepr._view_text),
    (_type({}.items()), BoundedRepr._view_text),
    (types.MethodType, BoundedRepr._method_text), (types.ModuleType, BoundedRepr._module_text),
    (_PATTERN, BoundedRepr._pattern_text), (_MATCH, BoundedRepr._builtin_text),
    (_slice, BoundedRepr._slice_text),
)}
_RENDERERS[_id(_type)] = BoundedRepr._class_text
for _kind in (_float, _bool_type, _NONE_TYPE, _complex_type, _bytes, _bytearray, _range,
              _type(Ellipsis), _type(NotImplemented), types.FunctionType,
              types.BuiltinFunctionType, types.MethodWrapperType, types.WrapperDescriptorType,
              types.MethodDescriptorType, types.ClassMethodDescriptorType,
              types.GetSetDescriptorType, types.MemberDescriptorType, types.CodeType,
              types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType):
    _RENDERERS[_id(_kind)] = BoundedRepr._builtin_text
try:
    import array as _array_module
    _RENDERERS[_id(_array_module.array)] = BoundedRepr._array_text
except ImportError:
    pass
# Subclasses of builtins, by their first builtin base in this order.
_SUBCLASS_RENDERERS = (
    (_dict, lambda s, v, level: s._pairs(_dict_len(v), _sorted_pairs(v), level)),
    (_list, lambda s, v, level: s._items(_list.__len__(v), _list.__iter__(v), level, "[", "]")),
    (_tuple, lambda s, v, level: s._items(_tuple.__len__(v), _tuple.__iter__(v), level, "(", ")",
                                         8, ",")),
    (_set, lambda s, v, level: s._set_items(_set, v, level, "{", "}", "set()")),
    (_frozenset, lambda s, v, level: s._set_items(_frozenset, v, level, "frozenset({", "})",
                                                 "frozenset()")),
    (deque, BoundedRepr._deque_text),
    (_str, lambda s, v, level: s.cut(_str.__repr__(v))),
    (_bytes, lambda s, v, level: s.cut(_bytes.__repr__(v))),
    (_bytearray, lambda s, v, level: s.cut(_bytearray.__repr__(v))),
    (_int, lambda s, v, level: s._int_text(_int.__index__(v), level)),
    (_float, lambda s, v, level: s.cut(_float.__repr__(v))),
    (_complex_type, lambda s, v, level: s.cut(_complex_type.__repr__(v))),
)


class _Frame:
    """What the recorder remembers of one live candidate frame."""
    __slots__ = ("frame", "func", "depth", "seen", "index", "raising", "head")

    def __init__(self, frame, depth, index):
        # Held, so that its address cannot be reused: states are found by id(frame), and a
        # frame that ended without a return event (a generator closed mid-way, say) must not
        # pass for a new frame at the same address resuming.
        self.frame = frame
        self.func = frame.f_code.co_name
        self.depth = depth
        # name -> (value, fingerprint, repr, snapshot, length) at the last event (see
        # Recorder._changes). The value itself, not its id: an id can be reused once the
        # object is freed.
        self.seen = {}
        self.index = index
        self.raising = False  # an exception is passing through, not yet handled
        self.head = ',"func":%s,"depth":%d' % (_json_str(self.func), depth)  # in every event


class Recorder:
    """Turns frame callbacks into bounded events.

    Events are kept as JSON text, written once when recorded: the trace leaves the child
    as one line that the worker passes on without decoding it (see `_send` in the
    harness; decoding and re-encoding megabytes of small objects in Python cost as much
    as recording them)."""

    def __init__(self, mode, max_events, max_bytes, max_value_chars):
        self.mode = mode
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.shower = BoundedRepr(max_value_chars)
        self.events = []  # JSON text of each recorded event
        self.lines = _set()
        self.bytes = 0
        self.total = 0
        self.truncated = False
        self.frames = {}  # id(frame) -> _Frame
        self.depth = 0
        self.calls = 0
        self.on_truncate = None  # set by the front end

    def result(self):
        if self.mode == "coverage":
            return {"lines": _sorted(self.lines)}
        return {"lines": _sorted(self.lines),
                "json": '{"events":[%s],"truncated":%s,"events_total":%d}'
                        % (",".join(self.events), "true" if self.truncated else "false",
                           self.total)}

    # -- callbacks ------------------------------------------------------------------
    # Each ends recording, as a cap does, if it fails (see the note on the program's code
    # above): an exception left to escape would be raised in the program.
    def on_call(self, frame):
        try:
            key = _id(frame)
            state = self.frames.get(key)
            resumed = state is not None
            if not resumed:
                self.calls += 1
                state = self.frames[key] = _Frame(frame, self.depth, self.calls)
            self.depth = state.depth + 1
            if self.mode == "coverage":
                return
            if resumed:
                self.total += 1
                if not self.truncated:
                    self._add('{"step":%d,"kind":"call","line":%d%s,"resumed":true}'
                              % (self.total - 1, frame.f_lineno, state.head), 64)
                return
            self.total += 1
            if self.truncated:
                return
            args, size = self._arguments(frame, state)
            self._add('{"step":%d,"kind":"call","line":%d%s,"args":{%s}}'
                      % (self.total - 1, frame.f_lineno, state.head, args), 64 + size)
        except:  # noqa: E722 (no name to look up: the program may have replaced builtins)
            self.truncated = True

    def on_line(self, frame, line):
        self.lines.add(line)
        if self.mode == "coverage":
            return
        try:
            state = self.frames.get(_id(frame)) or self._state(frame)
            state.raising = False  # a line ran: the exception was handled
            self.total += 1
            if self.truncated:
                return
            changed = self._changes(frame, state)
            if changed is None:
                event = '{"step":%d,"kind":"line","line":%d%s}' % (self.total - 1, line,
                                                                   state.head)
                size = 64
            else:
                event = ('{"step":%d,"kind":"line","line":%d%s,"changed":{%s}}'
                         % (self.total - 1, line, state.head, changed[0]))
                size = 64 + changed[1]
            # _add, inline: this is the most frequent event
            if _len(self.events) >= self.max_events or self.bytes + size > self.max_bytes:
                self._add(event, size)  # records that the cap is reached
                return
            self.bytes += size
            self.events.append(event)
        except:  # noqa: E722
            self.truncated = True

    def on_return(self, frame, value, yielded):
        try:
            state = self.frames.get(_id(frame)) or self._state(frame)
            self.depth = state.depth
            if not yielded:
                self.frames.pop(_id(frame), None)
            # sys.settrace reports a frame left by an exception as a return of None; the
            # exception event already said what happened (and sys.monitoring says no more).
            if self.mode == "coverage" or state.raising:
                return
            self.total += 1
            if self.truncated:
                return
            text = self.shower.show(value)
            size = 64 + _len(text)
            event = ('{"step":%d,"kind":"%s","line":%d%s,"value":%s'
                     % (self.total - 1, "yield" if yielded else "return", frame.f_lineno,
                        state.head, _json_str(text)))
            changed = self._changes(frame, state)
            if changed is not None:
                event += ',"changed":{%s}' % changed[0]
                size += changed[1]
            self._add(event + "}", size)
        except:  # noqa: E722
            self.truncated = True

    def on_unwind(self, frame):
        """A frame left by an exception (sys.monitoring reports no return for it): forget
        it, or a later frame at the same address would pass for it resuming."""
        try:
            state = self.frames.pop(_id(frame), None)
            if state is not None:
                self.depth = state.depth
        except:  # noqa: E722
            self.truncated = True

    def on_exception(self, frame, exc):
        if self.mode == "coverage":
            return
        try:
            state = self.frames.get(_id(frame)) or self._state(frame)
            state.raising = True
            self.total += 1
            if self.truncated:
                return
            message = _utf8(_exception_message(exc, self.shower)[:200])
            self._add('{"step":%d,"kind":"exception","line":%d%s,"exc_type":%s,"message":%s}'
                      % (self.total - 1, frame.f_lineno, state.head,
                         _json_str(_name(_type(exc))), _json_str(message)), 64)
        except:  # noqa: E722
            self.truncated = True

    # -- helpers ------------------------------------------------------------------------
    def _state(self, frame):
        state = self.frames.get(_id(frame))
        if state is None:  # a frame already running when tracing began
            self.calls += 1
            state = self.frames[_id(frame)] = _Frame(frame, self.depth, self.calls)
        return state

    def _arguments(self, frame, state):
        """The JSON of the call's arguments (inside braces) and their size estimate."""
        code = frame.f_code
        count = code.co_argcount + code.co_kwonlyargcount
        count += (code.co_flags & 0x04 != 0) + (code.co_flags & 0x08 != 0)  # *args, **kwargs
        names = code.co_varnames[:count]
        local = _locals(frame)
        show = self.shower.show
        parts = []
        size = 0
        for name in names:
            if name in local:
                value = local[name]
                text = show(value)
                length = _length_of(value)
                state.seen[name] = (value, _fingerprint(value, length), text, _snapshot(value),
                                    length)
                parts.append(_json_str(name) + ":" + _json_str(text))
                size += _len(name) + _len(text) + 6
        return ",".join(parts), size

    def _changes(self, frame, state):
        parts = None
        size = 0
        seen = state.seen
        show = self.shower.show
        local = frame.f_locals
        if _type(local) is not _dict and _type(local) is not _FRAME_LOCALS:
            local = _locals(frame)
        for name, value in local.items():
            previous = seen.get(name)
            if previous is not None and previous[0] is value:
                length = previous[4]
                if length is None:
                    continue  # the same immutable value, or not a container: as shown before
                count = length(value)
                fingerprint = (count,) if count > 16 else None
                if previous[1] == fingerprint:
                    if fingerprint is not None:
                        continue
                    snapshot = previous[3]
                    if snapshot is not None and _unchanged(value, snapshot):
                        continue
                    text = show(value)
                    if text == previous[2]:
                        seen[name] = (value, fingerprint, text, _snapshot(value), length)
                        continue
                else:
                    text = show(value)
                    if previous[2] == text:
                        seen[name] = (value, fingerprint, text, _snapshot(value), length)
                        continue
            else:
                length = _length_of(value)
                fingerprint = _fingerprint(value, length)
                text = show(value)
                if previous is not None and previous[2] == text:
                    seen[name] = (value, fingerprint, text, _snapshot(value), length)
                    continue
            seen[name] = (value, fingerprint, text, _snapshot(value), length)
            if parts is None:
                parts = []
            parts.append(_json_str(name) + ":" + _json_str(text))
            size += _len(name) + _len(text) + 6
        return None if parts is None else (",".join(parts), size)

    def _add(self, event, size):
        """Keeps an event (its JSON; `size` estimates it), unless a cap is reached."""
        if _len(self.events) >= self.max_events or self.bytes + size > self.max_bytes:
            self.truncated = True
            if self.on_truncate is not None:
                self.on_truncate()  # recording is over: stop paying for tracing
            return
        self.bytes += size
        self.events.append(event)


_IMMUTABLE_IDS = _frozenset(_map(_id, (_int, _float, _bool_type, _str, _bytes, _tuple, _frozenset,
                                    _type(None), _complex_type)))
# The containers whose changes are looked for at every event, by the id of their exact type
# (of a subclass too, in _container_kinds): the C function that gives their length.
_CONTAINER_BASES = (_list, _dict, _set, _bytearray, deque)
_CONTAINERS = {_id(kind): kind.__len__ for kind in _CONTAINER_BASES}
_container_kinds = {}  # id(type) -> (type, its base's __len__ or None), for other types


def _length_of(value):
    """The C function that gives the length of `value` if it is one of the containers whose
    changes are looked for (see _fingerprint), else None."""
    kind = _id(_type(value))
    if kind in _IMMUTABLE_IDS:
        return None
    length = _CONTAINERS.get(kind)
    return length if length is not None else _container_length(value)


def _container_length(value):
    """The C length function of a subclass of a container in _CONTAINER_BASES, else None."""
    kind = _type(value)
    known = _container_kinds.get(_id(kind))
    if known is None:
        length = None
        for base in _CONTAINER_BASES:
            if _issubclass(kind, base):
                length = base.__len__
                break
        if _len(_container_kinds) > 1000:
            _container_kinds.clear()
        known = _container_kinds[_id(kind)] = (kind, length)
    return known[1]


def _locals(frame):
    """A frame's variables, as a mapping read by C code alone: a class body run by a
    metaclass whose __prepare__ gives another mapping counts as having none."""
    local = frame.f_locals
    kind = _type(local)
    if kind is _dict or kind is _FRAME_LOCALS:
        return local
    if _issubclass(kind, _dict):
        return _dict(_dict_items(local))
    return {}


def _fingerprint(value, length):
    """For large mutable containers, (length,) stands in for the contents: re-rendering them
    at every line would cost more than the program. None: compare reprs instead.
    `length`: what _length_of gives for it."""
    if length is None:
        return None
    size = length(value)
    return (size,) if size > 16 else None


def _snapshot(value):
    """The elements of a small list, set or dict of plain values (ints, strings, ...), to
    tell later, by identity alone, that it still holds the very same objects: then its
    repr cannot have changed. None for anything else."""
    kind = _type(value)
    if kind is _list or kind is _set:
        if _len(value) <= 16 and _ATOM_IDS.issuperset(_map(_id, _map(_type, value))):
            return _tuple(value)
    elif kind is _dict:
        if (_len(value) <= 16 and _ATOM_IDS.issuperset(_map(_id, _map(_type, value)))
                and _ATOM_IDS.issuperset(_map(_id, _map(_type, value.values())))):
            return (_tuple(value), _tuple(value.values()))
    return None


def _unchanged(value, snapshot):
    if _type(value) is _dict:
        keys, values = snapshot
        return (_len(value) == _len(keys) and _all(_map(_is, value, keys))
                and _all(_map(_is, value.values(), values)))
    return _len(value) == _len(snapshot) and _all(_map(_is, value, snapshot))


def _exception_message(exc, shower):
    """What str(exc) says, for builtin exceptions, without running a __str__ of the
    program's: the arguments (a str as it is), KeyError's as reprs, OSError's errno and
    strerror as OSError shows them."""
    kind = _type(exc)
    args = _exception_args(exc)
    if _type(args) is not _tuple or not args:
        return ""
    if _issubclass(kind, _OSError):
        number, reason = _os_errno(exc), _os_strerror(exc)
        if number is not None and reason is not None:
            text = "[Errno %s] %s" % (shower.render(number, 2), _text(reason, shower))
            first, second = _os_filename(exc), _os_filename2(exc)
            if first is not None:
                text += ": " + shower.render(first, 2)
                if second is not None:
                    text += " -> " + shower.render(second, 2)
            return text
    if _len(args) == 1:
        if _issubclass(kind, _KeyError):
            return shower.render(args[0], 3)
        return _text(args[0], shower)
    return shower.render(args, 3)


def _text(value, shower):
    """str(value) for a str, else its rendering."""
    return _exact(value) if _issubclass(_type(value), _str) else shower.render(value, 3)


def _utf8(text):
    """`text`, with lone surrogates (not valid in JSON text) escaped."""
    try:
        text.encode("utf-8")
        return text
    except _UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class SettraceTracer:
    """The sys.settrace front end (Pythons without sys.monitoring). With a probe (statement
    markers compiled into the candidate), the probe gives the coverage too."""

    def __init__(self, recorder, probe=None):
        self.recorder = recorder
        self.probe = probe
        self.running = False
        # Past the cap, events are no longer recorded but coverage must stay complete
        # (localization counts on it): with markers, tracing simply ends (the marks give
        # the coverage); without, switch to the cheap coverage tracer.
        self._coverage_global, self._coverage_local = _coverage_tracer(recorder.lines)
        self._global, self._local = self._full_tracer()
        if probe is not None:
            recorder.on_truncate = _untrace
        else:
            recorder.on_truncate = lambda: _settrace(self._coverage_global)

    def start(self):
        if self.probe is not None:
            self.probe.reset()
        self.running = True
        if self.recorder.mode == "coverage":
            _settrace(self._coverage_global)
        else:
            _settrace(self._global)

    def stop(self):
        _untrace()
        if self.running:
            self.running = False
            if self.probe is not None:
                self.recorder.lines.update(self.probe.lines())

    def _full_tracer(self):
        """The global and local trace functions of full mode, as closures: a bound method
        would be created anew for every event (it is what the local function returns)."""
        recorder = self.recorder
        on_call, on_line = recorder.on_call, recorder.on_line
        on_return, on_exception = recorder.on_return, recorder.on_exception
        coverage_local = self._coverage_local

        def global_(frame, event, arg):
            if frame.f_code.co_filename != TRACE_CANDIDATE_FILE:
                return None
            on_call(frame)
            return local

        def local(frame, event, arg):
            if recorder.truncated:
                return coverage_local(frame, event, arg)
            if event == "line":
                on_line(frame, frame.f_lineno)
            elif event == "return":
                on_return(frame, arg, _is_yield(frame))
            elif event == "exception":
                on_exception(frame, arg[1])
            return local

        return global_, local


def _untrace():
    _settrace(None)
    frame = _getframe(1)
    while frame is not None:  # frames keep their local tracer after settrace(None)
        frame.f_trace = None
        frame = frame.f_back


def _coverage_tracer(lines):
    """The cheapest settrace tracer that sees every line of the candidate's code: loops run
    millions of line events, so each costs one call and one set lookup, no more. A code
    object all of whose lines have run (by line number: a comprehension on a line already
    seen counts too) needs no more events: its new frames get no local tracer, and the
    frame that ran its last new line stops tracing."""
    codes = {}  # id(code) -> (code, lines of it not run yet, or None: unknown)
    done = _set()  # id(code) of the candidate's code objects all of whose lines ran
    waiting = {}  # line -> the sets of lines not run yet that hold it

    def left(code):
        entry = codes.get(_id(code))
        if entry is None:
            wanted = _event_lines(code)
            remaining = None if wanted is None else _set(wanted - lines)
            for line in remaining or ():
                waiting.setdefault(line, []).append((remaining, _id(code)))
            entry = codes[_id(code)] = (code, remaining)
            if remaining is not None and not remaining:
                done.add(_id(code))
        return entry[1]

    def new_line(frame, line):
        lines.add(line)
        for remaining, key in waiting.pop(line, ()):
            remaining.discard(line)
            if not remaining:
                done.add(key)
        left(frame.f_code)  # registers a code first seen here (traced before a cap)
        if _id(frame.f_code) in done:
            frame.f_trace = None  # every line of this code has run
            return None
        return local

    def local(frame, event, arg):
        if event == "line":
            line = frame.f_lineno
            if line not in lines:
                return new_line(frame, line)
        return local

    def global_(frame, event, arg, candidate=TRACE_CANDIDATE_FILE):
        code = frame.f_code
        if _id(code) in done or code.co_filename != candidate:
            return None
        left(code)
        return None if _id(code) in done else local

    return global_, local


_EVENT_LINES = {}  # id(code) -> (code, its lines that can get a line event, or None)
_PROLOGUE = frozenset(("RESUME", "RETURN_GENERATOR", "POP_TOP", "MAKE_CELL", "COPY_FREE_VARS"))


def _event_lines(code):
    """The lines of `code` that sys.settrace can report a line event for: those of its
    instructions, less the `def` line when it holds only the prologue (entering a frame is
    a call event, not a line event). None when this Python cannot tell (before 3.11)."""
    entry = _EVENT_LINES.get(_id(code))
    if entry is None:
        try:
            found = {line for _, _, line in code.co_lines() if line is not None}
            first = code.co_firstlineno
            if _all(op.opname in _PROLOGUE for op in dis.get_instructions(code)
                   if op.positions.lineno == first):
                found.discard(first)
            found = _frozenset(found)
        except Exception:
            found = None
        entry = _EVENT_LINES[_id(code)] = (code, found)
    return entry[1]


def _is_yield(frame):
    """A `return` event of a generator that will resume is a yield."""
    code = frame.f_code
    if not code.co_flags & 0x20:  # CO_GENERATOR
        return False
    try:
        return code.co_code[frame.f_lasti] in _YIELD_OPS
    except IndexError:
        return False


def _yield_ops():
    return {dis.opmap[name] for name in ("YIELD_VALUE",) if name in dis.opmap}


_YIELD_OPS = _yield_ops()


class LineWatch:
    """The candidate's code objects, but for the module's own (it has run by the time tests
    start). Knowing them, coverage on 3.12+ switches LINE events on for exactly these at
    each test, and changes nothing global: after a global change (set_events,
    restart_events) every code object in the process, the harness's and the standard
    library's too, re-instruments itself when it next runs (~40 µs a test here)."""

    def __init__(self, module_code):
        self.codes = _tuple(_code_objects(module_code))[1:]
        # id(code) -> its first line, for the code objects whose first line gets no LINE
        # event when events are enabled before the call (3.13: the body starts on the line
        # of RESUME, as in `lambda x: x * x`): a PY_START event counts that line instead.
        self.first_lines = {}
        for code in self.codes:
            line = _line_after_resume(code)
            if line is not None:
                self.first_lines[_id(code)] = line


def _line_after_resume(code):
    """The line of the instruction after RESUME when it is RESUME's own line, else None."""
    raw = code.co_code
    positions = _list(code.co_positions())
    resume = dis.opmap["RESUME"]
    for offset in range(0, len(raw) - 2, 2):
        if raw[offset] == resume:
            line = positions[offset // 2][0]
            return line if line is not None and positions[offset // 2 + 1][0] == line else None
    return None


def compile_traced(source, mode):
    """The candidate compiled for tracing in `mode`, and what gives its coverage cheaply (the
    probe): on 3.12+ a LineWatch (coverage mode only: full traces watch the code objects that
    start); before, statement markers compiled into it (see `instrument`), or None. Raises
    what compile() raises for a program that does not compile."""
    if _HAS_MONITORING:
        code = compile(source, TRACE_CANDIDATE_FILE, "exec", dont_inherit=True)
        return code, LineWatch(code) if mode == "coverage" else None
    import ast
    try:  # parsed once, for the plain compile and the instrumented one
        tree = ast.parse(source, TRACE_CANDIDATE_FILE)
        plain = compile(tree, TRACE_CANDIDATE_FILE, "exec", dont_inherit=True)
    except Exception:
        tree = None  # compiling the source says why (or, against the odds, works)
        plain = compile(source, TRACE_CANDIDATE_FILE, "exec", dont_inherit=True)
    instrumented = instrument(source, plain, tree)
    return instrumented if instrumented is not None else (plain, None)


class MonitoringTracer:
    """The sys.monitoring front end (Python 3.12+): events are switched on per code object,
    only for the candidate's code, so other code pays nothing."""

    TOOL = 4  # one of the ids free for tools (0-5), not the debugger's or profiler's

    def __init__(self, recorder, watch=None):
        self.recorder = recorder
        self.mon = _MONITORING
        self.codes = {}  # id(code) -> code: hashing a code object costs as much as its size
        recorder.on_truncate = self._silence
        # Coverage of a program whose code objects are known: LINE events on exactly them.
        self.watch = watch if recorder.mode == "coverage" else None

    def start(self):
        mon, events = self.mon, self.mon.events
        mon.use_tool_id(self.TOOL, "tracealign")
        if self.watch is not None:
            mon.register_callback(self.TOOL, events.LINE, self._line_callback())
            mon.register_callback(self.TOOL, events.PY_START, self._first_line_callback())
            first_lines = self.watch.first_lines
            for code in self.watch.codes:  # (re-)enables lines disabled in an earlier test
                self.codes[_id(code)] = code
                wanted = events.LINE | (events.PY_START if _id(code) in first_lines else 0)
                mon.set_local_events(self.TOOL, code, wanted)
            return
        mon.restart_events()  # lines disabled after their first hit in an earlier test
        callbacks = {
            events.PY_START: self._start, events.PY_RESUME: self._start,
            events.LINE: self._line_callback(), events.PY_RETURN: self._return,
            events.PY_YIELD: self._yield, events.RAISE: self._raise,
            events.PY_UNWIND: self._unwind,
        }
        for event, callback in callbacks.items():
            mon.register_callback(self.TOOL, event, callback)
        # RAISE and PY_UNWIND cannot be enabled per code object: they are global and
        # filtered in their callbacks.
        wanted = events.PY_START
        if self.recorder.mode != "coverage":
            wanted |= events.RAISE | events.PY_UNWIND
        mon.set_events(self.TOOL, wanted)

    def _line_callback(self):
        """The LINE callback, the most frequent: a closure with everything at hand."""
        recorder = self.recorder
        add_line = recorder.lines.add
        disable = self.mon.DISABLE
        if recorder.mode == "coverage":
            def line_event(code, line):
                add_line(line)
                return disable  # each line once: coverage needs no more
            return line_event
        on_line = recorder.on_line
        getframe = _getframe

        def line_event(code, line):
            if recorder.truncated:
                add_line(line)
                return disable
            on_line(getframe(1), line)
        return line_event

    def _first_line_callback(self):
        add_line, first_lines, disable = self.recorder.lines.add, self.watch.first_lines, \
            self.mon.DISABLE

        def start_event(code, offset):
            add_line(first_lines[_id(code)])
            return disable
        return start_event

    def stop(self):
        mon = self.mon
        if mon.get_tool(self.TOOL) is None:
            return
        if self.watch is None:
            mon.set_events(self.TOOL, 0)
        for code in self.codes.values():
            mon.set_local_events(self.TOOL, code, 0)
        mon.free_tool_id(self.TOOL)

    def _silence(self):
        """Past the cap: lines only (each once), for complete coverage at coverage's cost."""
        events = self.mon.events
        self.mon.set_events(self.TOOL, events.PY_START)
        for code in self.codes.values():
            self.mon.set_local_events(self.TOOL, code, events.LINE)

    def _start(self, code, offset):
        if code.co_filename != TRACE_CANDIDATE_FILE:
            return self.mon.DISABLE
        events = self.mon.events
        coverage = self.recorder.mode == "coverage" or self.recorder.truncated
        if _id(code) not in self.codes:
            self.codes[_id(code)] = code
            wanted = events.LINE
            if not coverage:
                wanted |= events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
            self.mon.set_local_events(self.TOOL, code, wanted)
        if coverage:
            return self.mon.DISABLE  # its lines are watched now; calls do not matter
        self.recorder.on_call(_getframe(1))

    def _return(self, code, offset, value):
        self.recorder.on_return(_getframe(1), value, False)

    def _yield(self, code, offset, value):
        self.recorder.on_return(_getframe(1), value, True)

    def _raise(self, code, offset, exc):
        if _id(code) in self.codes:
            self.recorder.on_exception(_getframe(1), exc)

    def _unwind(self, code, offset, exc):
        if _id(code) in self.codes:
            self.recorder.on_unwind(_getframe(1))


def make_tracer(mode, max_events=10000, max_bytes=1 << 18, max_value_chars=60, probe=None):
    """A tracer for one test. `probe`: what `compile_traced` gave for the candidate (statement
    markers, or the code objects to watch), or None."""
    recorder = Recorder(mode, max_events, max_bytes, max_value_chars)
    if _HAS_MONITORING:
        return MonitoringTracer(recorder, probe)
    if probe is not None and mode == "coverage":
        return MarkTracer(recorder, probe)
    return SettraceTracer(recorder, probe)


# -- coverage by statement markers (Python 3.11) --------------------------------------------
# Under sys.settrace, CPython 3.11 runs every instruction of every frame on its slow tracing
# path and calls the trace function on every call, however cheap the trace function: a
# loop-heavy test runs several times slower. So on 3.11 a traced job compiles the candidate
# from a syntax tree in which each statement inside a function is preceded by a marker,
# `MARKS[k] = 1` (MARKS: a list that the code objects hold as a constant, out of the
# candidate's reach; no name is added to its namespace), located on the line of the
# statement's first instruction in the plain compile. No real instruction changes its
# position, so tracebacks, exception lines and f_lineno stay the same, and settrace (full
# mode) sees the same line events as without markers. Not marked: docstrings (a marker would
# make them plain expressions), `global`/`nonlocal`, module-level statements (they run before
# tracing starts).
#
# Site k stands for the lines settrace could report for it: the lines of its statement that
# hold instructions in the plain compile (header lines of a compound statement, a multi-line
# statement's continuation lines; not the lines of the statements nested in it, which are
# sites of their own). Parts of a multi-line statement that may not run when it does (the
# right side of `and`/`or`, a branch of a conditional expression, a comprehension's element,
# condition or inner loop, a lambda's body, an assertion's message), when they start a line
# of their own, are sites of their own, marked by a call inside the expression. `except`
# clauses are marked when their type is evaluated, so a clause that was tested and did not
# match counts, as under settrace. A test's coverage is the union of the marked sites' lines:
# what settrace gives on all 164 HumanEval solutions and on crates/exec/tests/markers.py.
# Known differences: a line that is not the start of any expression part (a method call's
# `.name(` on a continuation line, `case` patterns) counts when its statement starts, as does
# a line after the one that raised within one statement; code run in other threads counts
# (settrace sees only the tracing thread); lambdas evaluated at module level (or in a
# module-level class body, default or decorator) carry a marker in their body, as they run
# later, but a generator expression created at module level and consumed in a test is not
# counted. Anything that fails while instrumenting falls back to settrace.

_third = itemgetter(2)
_MARK_TOKEN = "\x00tracealign-marks\x00"


class Probe:
    """The markers compiled into one candidate program: `marks[k]` is set when site k runs;
    `sites[k]` are its lines."""

    def __init__(self, marks, sites):
        self.marks = marks
        self.sites = sites
        self.zeros = [0] * _len(marks)

    def reset(self):
        self.marks[:] = self.zeros

    def lines(self):
        found = _set()
        for lines in _compress(self.sites, self.marks):
            found.update(lines)
        return found


class MarkTracer:
    """Coverage from statement markers: no tracing at all while the test runs."""

    def __init__(self, recorder, probe):
        self.recorder = recorder
        self.probe = probe
        self.running = False

    def start(self):
        self.probe.reset()
        self.running = True

    def stop(self):
        if self.running:  # marks set after the test (by __repr__, say) are not the test's
            self.running = False
            self.recorder.lines.update(self.probe.lines())


def instrument(source, plain, tree=None):
    """The candidate compiled with statement markers, and its Probe; `plain`: the same source
    compiled as usual; `tree`: its syntax tree, if parsed already (it is changed). None
    when that cannot be done (then settrace records coverage)."""
    import ast
    if sys.version_info < (3, 11):
        return None  # line events differ before 3.11: settrace keeps coverage there
    try:
        if tree is None:
            tree = ast.parse(source, TRACE_CANDIDATE_FILE)
        code_lines = set()
        for code in _code_objects(plain):
            code_lines.update(map(_third, code.co_lines()))
        code_lines.discard(None)
        sites = []
        _Instrumenter(ast, sites, code_lines, plain, "lambda" in source).module(tree)
        code = compile(tree, TRACE_CANDIDATE_FILE, "exec", dont_inherit=True)
    except Exception:  # whatever it is, the program still runs: coverage by settrace
        return None
    marks = [0] * len(sites)
    return _with_marks(code, marks), Probe(marks, tuple(sites))


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if type(const) is type(code):
            yield from _code_objects(const)


def _with_marks(code, marks):
    """`code` with the token constant replaced by the marks list, in every nested code."""
    consts = tuple(marks if type(c) is str and c == _MARK_TOKEN
                   else _with_marks(c, marks) if type(c) is type(code) else c
                   for c in code.co_consts)
    return code.replace(co_consts=consts)


class _Instrumenter:
    """Inserts the markers and lists each site's lines."""

    def __init__(self, ast, sites, code_lines, plain, has_lambdas=True):
        self.ast = ast
        self.plain = plain
        self.codes = None  # (name, first line) -> code object of the plain compile
        self.has_lambdas = has_lambdas
        self.positions = {}  # id(code) -> its instructions' positions, in layout order
        self.owner = None  # the function or class whose code runs the statements in hand
        self.sites = sites
        self.code_lines = code_lines
        self.compound = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                         ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        self.trystar = getattr(ast, "TryStar", ())
        self.match = getattr(ast, "Match", ())
        self.functions = (ast.FunctionDef, ast.AsyncFunctionDef)
        self.marked = set()  # id() of the statements that are sites

    def module(self, tree):
        """Module-level code runs before tracing starts: only the functions and classes it
        defines are instrumented (and lambdas, which may run later)."""
        for stmt in tree.body:
            self.outer(stmt)

    def outer(self, node):
        """A statement (or part of one) that runs at load time."""
        ast = self.ast
        if isinstance(node, self.functions):
            for part in node.decorator_list + [node.args, node.returns]:
                if part is not None:
                    self.lambdas(part)
            self.owned(node, node.body, docstring=True)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.excepthandler)) or \
                    type(child).__name__ == "match_case":
                self.outer(child)
            else:
                self.lambdas(child)

    def lambdas(self, node):
        """Lambdas created at load time carry their own marker."""
        if not self.has_lambdas:
            return
        ast = self.ast
        for sub in ast.walk(node):
            if isinstance(sub, ast.Lambda):
                site = self.site(range(sub.lineno, sub.end_lineno + 1))
                sub.body = self.marked_expression(site, sub.body)

    def site(self, lines):
        self.sites.append(frozenset(self.code_lines.intersection(lines)))
        return len(self.sites) - 1

    def owned(self, owner, stmts, docstring):
        """Marks the body of a function or class."""
        outer, self.owner = self.owner, owner
        try:
            self.body(stmts, docstring)
        finally:
            self.owner = outer

    def first_line(self, node):
        """The line of the first instruction that runs `node` in the plain compile: a marker
        there adds no line event (the statement's own first line may come later: a
        decorator, `x = (<newline> ...)`, a default value on the next line)."""
        decorators = getattr(node, "decorator_list", None)
        if node.end_lineno == node.lineno and not decorators:
            return node.lineno, node.col_offset
        start = (node.lineno, node.col_offset)
        if decorators:
            start = min(start, min((d.lineno, d.col_offset) for d in decorators))
        end = (node.end_lineno, node.end_col_offset)
        owner = self.owner
        if owner is None:
            return start
        first = min([owner.lineno] + [d.lineno for d in owner.decorator_list])
        if self.codes is None:
            self.codes = {(c.co_name, c.co_firstlineno): c for c in _code_objects(self.plain)}
        code = self.codes.get((owner.name, first))
        if code is None:
            return start
        positions = self.positions.get(id(code))
        if positions is None:
            positions = self.positions[id(code)] = [p for p in code.co_positions()
                                                    if p[0] is not None]
        for line, end_line, col, end_col in positions:
            if col is None or end_col is None:
                if start[0] <= line and end_line <= end[0]:
                    return line, start[1]
            elif start <= (line, col) and (end_line, end_col) <= end:
                return line, col
        return start

    def marker(self, site, at):
        """`MARKS[site] = 1`, located at `at` (a line and a column)."""
        ast = self.ast
        where = dict(lineno=at[0], col_offset=at[1], end_lineno=at[0], end_col_offset=at[1])
        target = ast.Subscript(ast.Constant(_MARK_TOKEN, **where), ast.Constant(site, **where),
                               ast.Store(), **where)
        return ast.Assign([target], ast.Constant(1, **where), None, **where)

    def mark_call(self, site, at):
        """`MARKS.__setitem__(site, 1)` as an expression (None), located at `at` (a line
        and a column: a method call's instructions take its end line)."""
        ast = self.ast
        where = dict(lineno=at[0], col_offset=at[1], end_lineno=at[0], end_col_offset=at[1])
        method = ast.Attribute(ast.Constant(_MARK_TOKEN, **where), "__setitem__", ast.Load(),
                               **where)
        return ast.Call(method, [ast.Constant(site, **where), ast.Constant(1, **where)], [],
                        **where)

    def marked_expression(self, site, node):
        """`(MARKS.__setitem__(site, 1), node)[1]`: `node`'s value, once the site is marked.
        (Not `None or node`: in a condition the compiler would give that jump the line of
        the enclosing expression, an extra line event under settrace.)"""
        ast = self.ast
        call = self.mark_call(site, (node.lineno, node.col_offset))
        pair = ast.copy_location(ast.Tuple([call, node], ast.Load()), node)
        index = ast.copy_location(ast.Constant(1), node)
        return ast.copy_location(ast.Subscript(pair, index, ast.Load()), node)

    def body(self, stmts, docstring=False):
        """Marks a list of statements that run while a test may be traced."""
        ast = self.ast
        out = []
        for index, stmt in enumerate(stmts):
            if index == 0 and docstring and _is_docstring(ast, stmt):
                out.append(stmt)  # a marker before it would make it a plain expression
                continue
            if isinstance(stmt, (ast.Global, ast.Nonlocal)):
                out.append(stmt)  # no instructions
                continue
            self.marked.add(id(stmt))
            children = self.children(stmt)
            if stmt.end_lineno == stmt.lineno and not children:
                lines = (stmt.lineno,)
            else:
                start = min([stmt.lineno] + [d.lineno for d in
                                             getattr(stmt, "decorator_list", ())])
                lines = set(range(start, stmt.end_lineno + 1))
                for child in children:
                    lines.difference_update(range(child.lineno, child.end_lineno + 1))
                lines.add(stmt.lineno)
                lines = self.code_lines.intersection(lines)
                if len(lines) > 1:
                    lines = self.conditional(stmt, lines)
            if self.code_lines.isdisjoint(lines):
                out.append(stmt)  # no instructions of its own (`x: int`): nothing to mark
                continue
            out.append(self.marker(self.site(lines), self.first_line(stmt)))
            out.append(stmt)
        stmts[:] = out

    def conditional(self, stmt, lines):
        """The lines of `stmt` that run whenever it does. The others (of a multi-line
        statement: the right side of an `and`/`or`, a branch of a conditional expression, a
        comprehension's element or condition, a lambda's body, an assertion's message, that
        start a line of their own) become sites of their own, marked by a call in the
        expression (see `marked_expression`)."""
        ast = self.ast
        owners = {}  # line -> the parts whose code starts there (None: the statement's)
        parts = []  # (parent, field, index, part)
        firsts = set()  # id() of each comprehension's first generator (its iterable runs)

        def visit(node, owner):
            if isinstance(node, ast.expr):
                owners.setdefault(node.lineno, set()).add(owner)
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                firsts.add(id(node.generators[0]))
            elif isinstance(node, ast.comprehension) and id(node) not in firsts:
                # A later `for`: its target is assigned only once its iterable has run.
                child(node, "iter", None, node.iter, owner)
                visit(node.target, len(parts) - 1 if parts and parts[-1][3] is node.iter
                      else owner)
                for index, test in enumerate(node.ifs):
                    child(node, "ifs", index, test, owner)
                return
            for field, value in ast.iter_fields(node):
                if type(value) is list:
                    for index, item in enumerate(value):
                        if isinstance(item, ast.AST):
                            child(node, field, index, item, owner)
                elif isinstance(value, ast.AST):
                    child(node, field, None, value, owner)

        def child(parent, field, index, node, owner):
            if isinstance(node, (ast.stmt, ast.excepthandler)) or \
                    type(node).__name__ == "match_case":
                return  # a site of its own
            if isinstance(node, ast.expr) and _conditional(ast, parent, field, index, firsts):
                parts.append((parent, field, index, node))
                owner = len(parts) - 1
            visit(node, owner)

        visit(stmt, None)
        if not parts:
            return lines
        part_lines = [set() for _ in parts]
        for line in list(lines):
            found = owners.get(line)
            if found and None not in found:
                lines.discard(line)
                for key in found:
                    part_lines[key].add(line)
        for (parent, field, index, node), own in zip(parts, part_lines):
            if not own:
                continue
            wrapped = self.marked_expression(self.site(own), node)
            if index is None:
                setattr(parent, field, wrapped)
            else:
                getattr(parent, field)[index] = wrapped
        return lines

    def children(self, stmt):
        """Marks the statements nested in `stmt` (its handlers are sites too) and returns
        those that are sites of their own, whose lines are not `stmt`'s."""
        ast = self.ast
        if not isinstance(stmt, self.compound) and not isinstance(stmt, self.trystar) \
                and not isinstance(stmt, self.match):
            return ()
        nested = []
        is_function = isinstance(stmt, self.functions)
        is_class = isinstance(stmt, ast.ClassDef)
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(stmt, field, None)
            if stmts:
                if field == "body" and (is_function or is_class):
                    self.owned(stmt, stmts, docstring=True)
                else:
                    self.body(stmts)
                nested.extend(stmts)
        for handler in getattr(stmt, "handlers", ()):
            self.handler(handler)
            nested.append(handler)
        for case in getattr(stmt, "cases", ()):
            self.body(case.body)
            nested.extend(case.body)
        # Statements left unmarked (a docstring, `global`) keep their lines in `stmt`'s.
        return [s for s in nested if id(s) in self.marked]

    def handler(self, handler):
        """An `except` clause: a site marked when its type is tested (a bare `except:`,
        which always matches, when its body starts)."""
        ast = self.ast
        self.marked.add(id(handler))
        self.body(handler.body)
        lines = set(range(handler.lineno, handler.end_lineno + 1))
        for stmt in handler.body:
            if id(stmt) in self.marked:
                lines.difference_update(range(stmt.lineno, stmt.end_lineno + 1))
        lines.add(handler.lineno)
        site = self.site(lines)
        if handler.type is not None:
            kind = handler.type
            handler.type = self.marked_expression(site, kind)
        else:
            first = handler.body[0]  # the marker of its first statement
            handler.body.insert(0, self.marker(site, (first.lineno, first.col_offset)))


def _conditional(ast, parent, field, index, firsts):
    """Whether `parent.field[index]` may not run when `parent` does."""
    kind = type(parent)
    if kind is ast.BoolOp:
        return field == "values" and index > 0
    if kind is ast.IfExp:
        return field != "test"
    if kind is ast.Lambda:
        return field == "body"
    if kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp):
        return field == "elt"
    if kind is ast.DictComp:
        return field in ("key", "value")
    if kind is ast.comprehension:
        return field == "ifs" or field == "iter" and id(parent) not in firsts
    if kind is ast.Assert:
        return field == "msg"
    return False


def _is_docstring(ast, stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and type(stmt.value.value) is str)
