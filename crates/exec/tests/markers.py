"""Checks the statement markers of tracer.py (Python 3.11) against sys.settrace itself.

Run by markers.rs as `python3.11 markers.py TRACER_PY`. For each program and call, on the
plain compile and on the instrumented one:
- coverage from the markers equals the lines of sys.settrace's line events (except the
  documented over-reports, listed per case);
- the outcome is the same: value, or exception type, message and the candidate's traceback
  entries (lines, columns, functions);
- `--trace full` records the same events with and without markers, under a cap and past it,
  and its lines are the markers' lines (with the settrace ones).
Prints each difference; exit status 1 if any.
"""
import sys
import traceback

T = {"__name__": "tracer"}
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), T)
FILE = T["TRACE_CANDIDATE_FILE"]

CASES = [
    ('loops', '''
def f(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i
        elif i % 3 == 1:
            total -= 1
        else:
            continue
    else:
        total *= 2
    while total > 10:
        total //= 2
        if total == 7:
            break
    return total
''', [
        ('f(0)', []),
        ('f(5)', []),
        ('f(30)', []),
    ]),
    ('try', '''
def f(x):
    try:
        y = 10 // x
    except ZeroDivisionError:
        y = -1
    except (TypeError,
            ValueError) as e:
        y = -2
    except:
        y = -3
    else:
        y += 1
    finally:
        z = 0
    return y
''', [
        ('f(2)', []),
        ('f(0)', []),
        ("f('a')", []),
        ('f(None)', []),
    ]),
    ('nomatch', '''
class E(Exception): pass
def g(x):
    try:
        try:
            raise KeyError(x)
        except ValueError:
            return 1
        finally:
            x += 1
    except KeyError:
        return x
''', [
        ('g(1)', []),
    ]),
    ('with', '''
import contextlib
@contextlib.contextmanager
def cm(v):
    yield v
def f(a):
    with cm(a) as x, \\
         cm(a + 1) as y:
        s = x + y
    return s
''', [
        ('f(1)', []),
    ]),
    ('nested', '''
def f(n):
    def helper(k,
               m=2):
        """doc"""
        return k * m
    class C:
        """class doc"""
        z = 3
        def m(self):
            return self.z
    g = lambda t: (t +
                   1)
    return helper(n) + C().m() + g(1)
''', [
        ('f(2)', []),
    ]),
    ('compr', '''
def f(xs):
    a = [x * 2 for x in xs if x]
    b = {x: [y for y in range(x)]
         for x in xs}
    c = sum(x
            for x in xs)
    return a, b, c
''', [
        ('f([1, 2, 0])', []),
        ('f([])', []),
    ]),
    ('gen', '''
def evens(n):
    for i in range(n):
        if i % 2 == 0:
            yield i
    return "done"
def f(n):
    out = []
    it = evens(n)
    out.append(next(it))
    out.extend(it)
    return out
''', [
        ('f(5)', []),
    ]),
    ('early', '''
def f(x):
    if x < 0:
        return "neg"
    if x == 0: return "zero"
    y = x * 2
    return y
''', [
        ('f(-1)', []),
        ('f(0)', []),
        ('f(3)', []),
    ]),
    ('multiline', '''
def f(xs,
      k=1):
    total = sum(
        x * k
        for x in xs
    )
    message = ("total: " +
               str(total))
    result = {
        "total": total,
        "message": message,
    }
    values = [1, 2,
              3, 4]
    return (result,
            values)
''', [
        ('f([1, 2])', []),
    ]),
    ('midexc', '''
def f(xs):
    a = 1
    b = xs[a]
    c = b + 1
    return c
def g(d):
    total = 0
    for k in d:
        total += d[k]
        total += d[k + 1]
    return total
''', [
        ('f([1])', []),
        ('f([1, 2])', []),
        ('g({1: 2})', []),
    ]),
    ('module_lambda', '''
square = lambda x: x * x
key = lambda p: (p[1],
                 p[0])
def f(xs, g=lambda v: v + 1):
    return sorted(xs, key=key), g(1)
class K:
    h = lambda self: 5
''', [
        ('square(3)', []),
        ('f([(1, 2), (0, 1)])', []),
        ('K().h()', []),
    ]),
    ('passes', '''
def f(x):
    """doc"""
    global G
    y: int
    pass
    "not a docstring"
    ...
    if x:
        pass
    else:
        pass
    G = x
    return G
''', [
        ('f(0)', []),
        ('f(1)', []),
    ]),
    ('match', '''
def f(x):
    match x:
        case 1:
            return "one"
        case [a, b]:
            return a + b
        case _:
            return None
''', [
        ('f(1)', [6, 8]),
    ]),
    ('recursion', '''
def f(n):
    if n <= 1:
        return 1
    return n * f(n - 1)
''', [
        ('f(5)', []),
    ]),
    ('raise_caught', '''
def f(x):
    try:
        if x:
            raise ValueError("boom")
        return 0
    except ValueError as e:
        return str(e)
    finally:
        cleaned = True
''', [
        ('f(0)', []),
        ('f(1)', []),
    ]),
    ('decorated', '''
import functools
def f(n):
    @functools.lru_cache(maxsize=None)
    def fib(k):
        return k if k < 2 else fib(k - 1) + fib(k - 2)
    return fib(n)
''', [
        ('f(10)', []),
    ]),
    ('boolops', '''
def f(a, b):
    if (a and
            b):
        return 1
    r = (a
         or b)
    return r
''', [
        ('f(0, 1)', []),
        ('f(1, 0)', []),
        ('f(1, 1)', []),
    ]),
    ('asserts', '''
def f(x):
    assert x > 0, "must be positive"
    return x
''', [
        ('f(1)', []),
        ('f(-1)', []),
    ]),
    ('classes', '''
class Counter:
    def __init__(self):
        self.count = 0
    def add(self, k):
        self.count += k
        return self
    @property
    def double(self):
        return self.count * 2
def f(k):
    c = Counter()
    c.add(k).add(1)
    return c.double
''', [
        ('f(2)', []),
    ]),
    ('semicolons', '''
def f(x):
    a = 1; b = 2
    if x: a = 3
    else: b = 4
    while x > 0: x -= 1
    for i in range(2): b += i
    return a, b
''', [
        ('f(0)', []),
        ('f(2)', []),
    ]),
    ('with_raise', '''
class Guard:
    def __enter__(self):
        return self
    def __exit__(self, kind, value, tb):
        return kind is KeyError
def f(d, k):
    with Guard() as g:
        v = d[k]
        v += 1
    return d.get(k,
                 -1)
''', [
        ('f({1: 2}, 1)', []),
        ('f({}, 1)', []),
        ('f([], "a")', []),
    ]),
    ('yield_from', '''
def inner(n):
    yield from range(n)
    return n
def outer(n):
    total = yield from inner(n)
    yield total
def f(n):
    return list(outer(n))
''', [
        ('f(3)', []),
    ]),
    ('sort_key', '''
def f(xs):
    return sorted(xs, key=lambda x: (-x[1],
                                     x[0]))
''', [
        ('f([(1, 2), (3, 4)])', []),
    ]),
    ('loop_control', '''
def f(xs):
    out = []
    i = 0
    while True:
        try:
            if i >= len(xs):
                break
            if xs[i] < 0:
                continue
            out.append(1 / xs[i])
        except ZeroDivisionError:
            out.append(None)
        finally:
            i += 1
    else:
        out.append("never")
    return out
''', [
        ('f([1, -1, 0, 2])', []),
    ]),
    ('conditional_parts', '''
def f(xs, flag):
    doubled = [
        x * 2
        for x in xs
        if x
    ]
    pairs = {k:
             v for k, v in enumerate(xs)}
    lazy = (y
            for y in xs)
    pick = (xs[0]
            if flag else
            None)
    key = lambda t: (t,
                     -t)
    assert flag or not xs, (
        "message")
    nested = [(a, b) for a in xs
              for b in range(a)]
    return doubled, pairs, pick, sorted(xs, key=key) if flag else None, nested
''', [
        ('f([], False)', []),
        ('f([1, 0], True)', []),
        ('f([2], False)', []),
    ]),
]


def settrace_lines(code, call):
    """The lines of sys.settrace's line events in the candidate's frames."""
    namespace = {"__name__": "__candidate__"}
    exec(code, namespace)
    lines = set()

    def local(frame, event, arg):
        if event == "line":
            lines.add(frame.f_lineno)
        return local

    def global_(frame, event, arg):
        return local if frame.f_code.co_filename == FILE else None

    sys.settrace(global_)
    try:
        out = outcome(call, namespace)
    finally:
        sys.settrace(None)
    return lines, out


def marker_lines(source, plain, call):
    code, probe = T["instrument"](source, plain)
    namespace = {"__name__": "__candidate__"}
    exec(code, namespace)
    tracer = T["make_tracer"]("coverage", probe=probe)
    assert type(tracer).__name__ == "MarkTracer", tracer
    tracer.start()
    try:
        out = outcome(call, namespace)
    finally:
        tracer.stop()
    lines = set(tracer.recorder.result()["lines"])
    outcome(call, namespace)  # after stop: not counted
    tracer.stop()
    assert set(tracer.recorder.result()["lines"]) == lines
    return lines, out


def outcome(call, namespace):
    try:
        return ("value", repr(eval(call, namespace)))
    except BaseException as exc:
        frames = [(f.lineno, f.end_lineno, f.colno, f.end_colno, f.name)
                  for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILE]
        return ("exception", type(exc).__name__, str(exc), frames)


def full(source, call, markers, max_events):
    plain = compile(source, FILE, "exec", dont_inherit=True)
    code, probe = T["instrument"](source, plain) if markers else (plain, None)
    namespace = {"__name__": "__candidate__"}
    exec(code, namespace)
    tracer = T["make_tracer"]("full", max_events, 1 << 18, 60, probe)
    tracer.start()
    try:
        out = outcome(call, namespace)
    finally:
        tracer.stop()
    return tracer.recorder.result(), out


def main():
    failures = 0
    checked = 0
    for name, source, calls in CASES:
        plain = compile(source, FILE, "exec", dont_inherit=True)
        for call, extra in calls:
            checked += 1
            where = "%s: %s" % (name, call)
            want, out_plain = settrace_lines(plain, call)
            got, out_marked = marker_lines(source, plain, call)
            if out_plain != out_marked:
                failures += 1
                print("%s: outcome %r with markers, %r without" % (where, out_marked, out_plain))
            if got != want | set(extra) or want - got:
                failures += 1
                print("%s: marker lines %s, settrace lines %s (documented extra: %s)"
                      % (where, sorted(got), sorted(want), extra))
            for cap in (100000, 5):
                (plain_trace, plain_out) = full(source, call, False, cap)
                (marked_trace, marked_out) = full(source, call, True, cap)
                if plain_trace["json"] != marked_trace["json"] or plain_out != marked_out:
                    failures += 1
                    print("%s: full trace (cap %d) differs with markers:\n  %s\n  %s"
                          % (where, cap, plain_trace["json"], marked_trace["json"]))
                if set(marked_trace["lines"]) != got | set(plain_trace["lines"]):
                    failures += 1
                    print("%s: full trace (cap %d) lines %s, markers %s"
                          % (where, cap, marked_trace["lines"], sorted(got)))
    # Load-time failures keep their traceback too.
    source = "def f():\n    return 1\n\nx = [f(),\n     1 // 0]\n"
    plain = compile(source, FILE, "exec", dont_inherit=True)
    code, _ = T["instrument"](source, plain)
    results = []
    for program in (plain, code):
        try:
            exec(program, {"__name__": "__candidate__"})
        except ZeroDivisionError as exc:
            results.append([(f.lineno, f.colno, f.name) for f in traceback.extract_tb(exc.__traceback__)
                            if f.filename == FILE])
    if results[0] != results[1] or results[0][-1][0] != 5:
        failures += 1
        print("load-time traceback differs: %s" % results)
    print("%d calls checked, %d differences" % (checked, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
