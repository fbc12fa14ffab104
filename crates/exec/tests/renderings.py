"""Checks that tracer.py renders values as before and runs none of the program's code.

Run by renderings.rs as `python renderings.py TRACER_PY` with each Python it finds (3.11:
sys.settrace; 3.12+: sys.monitoring). Two parts:
- RENDERINGS: the text of builtin values (reprlib's format, as traces always showed them),
  of subclasses of builtins, exceptions and other objects;
- PROGRAMS: programs whose own methods (`__repr__`, `__len__`, `__iter__`, `__str__`,
  `__eq__`, `__hash__`, a metaclass's, a `__class__` property, replaced builtins) record
  that they ran, or print, loop, raise, or change what the test returns: each runs
  untraced and traced (full and coverage) and must return the same, print the same, and
  have run none of those methods; its full trace must show the variables named.
Prints each difference; exit status 1 if any.
"""
import array
import io
import json
import math
import os
import re
import signal
import sys
import time
from collections import Counter, OrderedDict, defaultdict, deque, namedtuple
from contextlib import redirect_stdout

signal.alarm(120)  # a tracer that runs a looping __repr__ must not hang the test suite
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)  # as the harness does: str() of any int works, slowly
T = {"__name__": "tracer"}
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), T)
FILE = T["TRACE_CANDIDATE_FILE"]


def function():
    pass


Point = namedtuple("Point", "x y")


class Text(str):
    def __repr__(self):
        raise AssertionError("ran")


class Items(list):
    def __len__(self):
        raise AssertionError("ran")

    def __iter__(self):
        raise AssertionError("ran")


class Table(dict):
    def items(self):
        raise AssertionError("ran")

    def __iter__(self):
        raise AssertionError("ran")


RENDERINGS = [
    (0, "0"), (-5, "-5"), (10**16, "10000000000000000"),
    (2**200, "1606938044258990275541962092...62602522202993782792835301376"),
    (1.5, "1.5"), (float("nan"), "nan"), (True, "True"), (None, "None"),
    ("abc", "'abc'"), ("x" * 100, "'" + "x" * 28 + "…" + "x" * 28 + "'"),
    ("a'b", '"a\'b"'), ("\ud800", "'\\ud800'"),
    ([], "[]"), ([1, 2, 3], "[1, 2, 3]"), (list(range(20)), "[0, 1, 2, 3, 4, 5, 6, 7, ...]"),
    ([[1, [2, [3, [4]]]]], "[[1, [2, [...]]]]"), ((1,), "(1,)"), ((), "()"),
    ([1.5, None, "x" * 100], "[1.5, None, '" + "x" * 28 + "…" + "x" * 28 + "']"),
    ([10**70], "[1000000000000000000000000000...00000000000000000000000000000]"),
    (-10**5000, "<negative int of about 5001 digits>"),
    ([1, 18 * 10**999998], "[1, <int of about 1000000 digits>]"),
    ({}, "{}"), ({"b": 1, "a": 2}, "{'a': 2, 'b': 1}"),
    ({i: i for i in range(10)}, "{0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, ...}"),
    ({1: "a", "b": 2}, "{1: 'a', 'b': 2}"),
    ({(1, 2): [3], (0, 5): {4}}, "{(0, 5): {4}, (1, 2): [3]}"),
    ({"k": [1, {"z": (1, 2)}]}, "{'k': [1, {'z': (...)}]}"),
    (set(), "set()"), ({3, 1, 2}, "{1, 2, 3}"), (frozenset({"b", "a"}), "frozenset({'a', 'b'})"),
    ({(2, "b"), (1, "a")}, "{(1, 'a'), (2, 'b')}"), (b"abc", "b'abc'"),
    (bytearray(b"ab"), "bytearray(b'ab')"), (3 + 4j, "(3+4j)"), (range(5), "range(0, 5)"),
    (deque([1, 2]), "deque([1, 2])"), (array.array("i", [1, 2]), "array('i', [1, 2])"),
    (function, "<function function>"), (len, "<built-in function len>"), (int, "<class 'int'>"),
    ([].append, "<built-in method append of list object>"), (re.compile("a+"), "re.compile('a+')"),
    (re.match("a", "abc"), "<re.Match object; span=(0, 1), match='a'>"),
    ({"a": 1}.items(), "dict_items([('a', 1)])"), (slice(1, 2), "slice(1, 2, None)"),
    (iter([1]), "<list_iterator object>"), (math, "<module 'math'>"),
    (ValueError("x"), "ValueError('x')"), (KeyError("k", 2), "KeyError('k', 2)"),
    (Counter("abracadabra"), "Counter({'a': 5, 'b': 2, 'r': 2, 'c': 1, 'd': 1})"),
    (defaultdict(int, {"a": 1}), "defaultdict(<class 'int'>, {'a': 1})"),
    (OrderedDict(b=1, a=2), "OrderedDict({'b': 1, 'a': 2})"), (Point(1, [2]), "Point(x=1, y=[2])"),
    (Text("abc"), "Text('abc')"), (Items([1, 2]), "Items([1, 2])"),
    (Table(a=1), "Table({'a': 1})"),
]

PROGRAMS = [
    ("repr_raises", '''
class Bad:
    def __repr__(self):
        raise RuntimeError("no repr")

def f(x):
    bad = Bad()
    y = x + 1
    return y
''', {"bad": "<__candidate__.Bad object>"}),
    ("repr_prints", '''
class Loud:
    def __repr__(self):
        print("repr ran")
        return "Loud"

def f(x):
    loud = Loud()
    y = x + 1
    return y
''', {"loud": "<__candidate__.Loud object>"}),
    ("repr_loops", '''
class Forever:
    def __repr__(self):
        while True:
            pass

def f(x):
    forever = Forever()
    return x + 1
''', {"forever": "<__candidate__.Forever object>"}),
    ("repr_changes_a_global", '''
SEEN = []

class Sneaky:
    def __repr__(self):
        SEEN.append(1)
        return "Sneaky"

def f(x):
    sneaky = [Sneaky()]
    y = x + 1
    return y + len(SEEN)
''', {"sneaky": "[<__candidate__.Sneaky object>]"}),
    ("class_named_list", '''
class list:
    def __len__(self):
        CALLS.append("len")
        return 3
    def __iter__(self):
        CALLS.append("iter")
        return iter([1, 2, 3])
    def __repr__(self):
        CALLS.append("repr")
        return "L"

def f(x):
    named = list()
    y = x + 1
    return y
''', {"named": "<__candidate__.list object>"}),
    ("subclasses", '''
class Sized(dict):
    def __len__(self):
        CALLS.append("len")
        return 100
    def items(self):
        CALLS.append("items")
        return []
    def keys(self):
        CALLS.append("keys")
        return []
    def __iter__(self):
        CALLS.append("iter")
        return iter([])

class Row(list):
    def __len__(self):
        CALLS.append("Row.len")
        return 0
    def __getitem__(self, i):
        CALLS.append("Row.getitem")
        return 0

def f(x):
    table = Sized(a=1)
    row = Row([1, 2])
    table["b"] = 2
    row.append(3)
    return x + 1
''', {"table": "Sized({'a': 1, 'b': 2})", "row": "Row([1, 2, 3])"}),
    ("metaclass", '''
class Meta(type):
    def __eq__(cls, other):
        CALLS.append("eq")
        return False
    def __hash__(cls):
        CALLS.append("hash")
        return 1
    @property
    def __name__(cls):
        CALLS.append("name")
        return "X"

class W(metaclass=Meta):
    pass

def f(x):
    many = [W(), W()]
    keyed = {1: W()}
    kind = W
    return x + 1
''', {"many": "[<__candidate__.W object>, <__candidate__.W object>]",
      "kind": "<class '__candidate__.W'>"}),
    ("class_property", '''
class Liar:
    @property
    def __class__(self):
        CALLS.append("class")
        return list
    @property
    def __dict__(self):
        CALLS.append("dict")
        return {}
    def __getattribute__(self, name):
        CALLS.append("getattr " + name)
        return object.__getattribute__(self, name)

def f(x):
    liar = Liar()
    y = x
    return x + 1
''', {"liar": "<__candidate__.Liar object>"}),
    ("exceptions", '''
class Oops(Exception):
    def __str__(self):
        CALLS.append("str")
        raise RuntimeError("no str")
    def __repr__(self):
        CALLS.append("repr")
        return "E"

class Key:
    def __repr__(self):
        CALLS.append("Key.repr")
        return "k"
    def __hash__(self):
        return 0

def f(x):
    try:
        raise Oops("bad", x)
    except Oops as e:
        error = e
    try:
        {}[Key()]
    except KeyError:
        pass
    return x + 1
''', {"error": "Oops('bad', 1)"}),
    ("sorting", '''
class C:
    def __lt__(self, other):
        CALLS.append("lt")
        return True
    def __eq__(self, other):
        CALLS.append("eq")
        return False
    def __hash__(self):
        return 0

def f(x):
    group = {C(), C()}
    pairs = {(C(),): 1, (C(),): 2}
    return x + 1
''', {"group": "{<__candidate__.C object>, <__candidate__.C object>}"}),
    ("replaced_builtins", '''
import builtins
import sys

def f(x):
    saved = builtins.len, builtins.repr, builtins.id, sys._getframe
    builtins.len = lambda v: (CALLS.append("len"), saved[0](v))[1]
    builtins.repr = lambda v: (CALLS.append("repr"), saved[1](v))[1]
    builtins.id = lambda v: (CALLS.append("id"), saved[2](v))[1]
    sys._getframe = lambda *a: (CALLS.append("_getframe"), saved[3](*a))[1]
    try:
        items = [x, 2]
        table = {"a": items}
    finally:
        builtins.len, builtins.repr, builtins.id, sys._getframe = saved
    return x + 1
''', {"table": "{'a': [1, 2]}"}),
]


def run(source, mode):
    """(what f(1) returned or raised, what it printed, the program's CALLS, its trace)."""
    namespace = {"__name__": "__candidate__", "CALLS": []}
    exec(compile(source, FILE, "exec"), namespace)
    tracer = T["make_tracer"](mode) if mode else None
    out = io.StringIO()
    with redirect_stdout(out):
        if tracer:
            tracer.start()
        try:
            result = ("value", namespace["f"](1))
        except Exception as exc:
            result = ("raised", type(exc).__name__)
        finally:
            if tracer:
                tracer.stop()
    trace = tracer.recorder.result() if tracer else None
    return result, out.getvalue(), namespace["CALLS"], trace


def shown(trace):
    """variable -> the last text a full trace showed for it."""
    last = {}
    for event in json.loads(trace["json"])["events"]:
        last.update(event.get("args", {}))
        last.update(event.get("changed", {}))
    return last


def module_names(path):
    """The names a module's top-level statements bind."""
    import ast
    names = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.col_offset == 0:
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset == 0:
            names.extend((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign) and node.col_offset == 0:
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


differences = 0
shower = T["BoundedRepr"](60)
for value, expected in RENDERINGS:
    started = time.perf_counter()
    text = shower.show(value)
    if text != expected:
        differences += 1
        print("rendering of %s: %r, expected %r" % (type(value).__name__, text, expected))
    if time.perf_counter() - started > 0.1:  # str() of a million-digit int takes ~15 s
        differences += 1
        print("rendering %s took %.2f s" % (expected, time.perf_counter() - started))
for name, source, expected in PROGRAMS:
    untraced = run(source, None)
    for mode in ("coverage", "full"):
        traced = run(source, mode)
        if traced[:3] != untraced[:3]:
            differences += 1
            print("%s, %s: %r untraced, %r traced" % (name, mode, untraced[:3], traced[:3]))
        if mode == "full":
            last = shown(traced[3])
            for variable, text in expected.items():
                if last.get(variable) != text:
                    differences += 1
                    print("%s: %s shown as %r, expected %r" % (name, variable,
                                                              last.get(variable), text))
# The tracer runs in the harness's module (harness.py follows it in one script): a name
# both define at module level is one variable, and the harness's definition wins.
harness = os.path.join(os.path.dirname(sys.argv[1]), "harness.py")
SHARED = {"sys", "_type", "_len"}  # the same module, or the same builtin, in both
for name in sorted(set(module_names(sys.argv[1])) & set(module_names(harness)) - SHARED):
    differences += 1
    print("tracer.py and harness.py both define %s" % name)
print("%s: %d differences" % (sys.version.split()[0], differences))
sys.exit(1 if differences else 0)
