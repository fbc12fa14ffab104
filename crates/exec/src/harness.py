# tracealign's Python harness: a warm worker that runs candidate programs against tests.
#
# Embedded in the `tracealign-exec` crate with include_str! and started as
# `python -s -c <this file> <config json>`. It talks to Rust over its own stdin/stdout
# (JSON lines); a candidate never sees those pipes: each job runs in a forked child whose
# fds 0/1/2 are /dev/null and capture files, and whose results travel on a per-job pipe.
# A reply may be followed by `attachments` lines: the traces' events, as the tracer wrote
# them, which this process never decodes.
#
# Invariants:
# - No code of the candidate runs in this process: it compiles the program (compiling runs
#   nothing of it) and forks; everything else happens in the child.
# - Expected values never enter this process during a run (Rust keeps them and compares),
#   so a candidate that takes over its own process still cannot learn what to forge.
# - Every test of a job gets exactly one raw result, whatever the child does
#   (exit early, crash, hang, close or flood its result pipe).
# - After each job no process started by the job survives (pid namespace: the worker is its
#   init and kills everything else; fallback: the job's process group).

import ast
import builtins
import ctypes
import errno
import fcntl
import gc
import json
import math
import os
import select
import shutil
import signal
import stat
import sys
import time

CANDIDATE_FILE = "<candidate>"
TEST_FILE = "<test>"
MAX_DEPTH = 100
MAX_REPR = 300
MAX_MESSAGE = 1000
# The longest result line the worker holds: a child writing on and on without a newline
# (flooding its result pipe) would otherwise grow the worker, not itself, without bound.
MAX_RESULT_LINE = 128 << 20

# Bound now, before any candidate code can patch builtins or modules in a child.
_type = type
_len = len
_isinstance = isinstance
_os_write = os.write
_perf_counter = time.perf_counter
_json_dumps = json.dumps
_math_isfinite = math.isfinite
_bool = bool
_complex = complex
_LIBC = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------- value encoding
# The wire form of a Python value. Plain JSON stands for None, bool, int, float, str and
# list; anything else is a one-key object tagged with its exact type, so a subclass or an
# object with a lying __eq__ can never pass for a builtin value. A subclass of a builtin
# type whose `==` is the base's (a defaultdict, a namedtuple, an IntEnum member), or
# Counter's or OrderedDict's as they are now, before any candidate code runs, travels as
# {"sub": name, "of": contents[, "eq": "counter"|"ordered"]}: its contents read with the
# base type's own C methods (dict.items, tuple.__iter__, int.__int__), never its own, so
# that no code of the subclass runs or decides a verdict.

_MRO = type.__dict__["__mro__"].__get__
_CLASS_DICT = type.__dict__["__dict__"].__get__
_QUALNAME = type.__dict__["__qualname__"].__get__
_COMPLEX_REAL = complex.__dict__["real"].__get__
_COMPLEX_IMAG = complex.__dict__["imag"].__get__
_BYTES_HEX = bytes.hex
_BYTES_FROMHEX = bytes.fromhex
# How each container type's items are read: the type's own C methods.
_ITEMS = {list: list.__iter__, tuple: tuple.__iter__, dict: dict.items, set: set.__iter__,
          frozenset: frozenset.__iter__}
# (the `__eq__` found on a subclass, its builtin base, the equality's wire name, how its
# contents are read: an exact builtin value for scalars, items for containers)
_KNOWN_EQ = [(_CLASS_DICT(base)["__eq__"], base, None, read) for base, read in (
    (int, int.__int__), (float, float.__float__), (str, str.__str__),
    (bytes, lambda v: _BYTES_FROMHEX(_BYTES_HEX(v))),
    (complex, lambda v: _complex(_COMPLEX_REAL(v), _COMPLEX_IMAG(v))),
    *_ITEMS.items())]


def _known_stdlib_equalities():
    import collections
    known = []
    counter_eq = _CLASS_DICT(collections.Counter).get("__eq__")
    if counter_eq is not None:  # Python 3.10+; before, a Counter compares as a dict
        known.append((counter_eq, dict, "counter", dict.items))
    ordered = collections.OrderedDict
    known.append((_CLASS_DICT(ordered)["__eq__"], dict, "ordered", ordered.items))
    return known


_KNOWN_EQ += _known_stdlib_equalities()


def _known_equality(t):
    """(base type, equality, reader) when `t`'s `==` is one of _KNOWN_EQ, else None: the
    first `__eq__` along its MRO, found without attribute lookups its metaclass could hook."""
    mro = _MRO(t)
    for klass in mro:
        eq = _CLASS_DICT(klass).get("__eq__")
        if eq is None:
            continue
        for known, base, equality, read in _KNOWN_EQ:
            if eq is known:
                for k in mro:
                    if k is base:
                        return base, equality, read
        return None
    return None


def encode(value, depth=0, path=None):
    t = _type(value)
    if t is not int and t is not str and t is not list and t is not tuple and value is not None:
        _UNDIGESTIBLE[0] += 1
    if value is None or t is bool or t is str:
        if t is str:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return {"other": "str", "repr": ascii(value)[:MAX_REPR]}
        return value
    if t is int:
        if -(2**53) < value < 2**53:
            return value
        return {"int": hex(value)}  # hex: linear time, where str() of a huge int is not
    if t is float:
        if _math_isfinite(value):
            return value
        return {"float": repr(value)}
    if t is complex:
        return {"complex": [encode(value.real), encode(value.imag)]}
    if t is bytes:
        return {"bytes": value.hex()}
    # By identity: `t in _ITEMS` would hash `t`, and its metaclass may define __hash__.
    if t is list or t is tuple or t is dict or t is set or t is frozenset:
        return _encode_items(value, t, _ITEMS[t], depth, path)
    known = _known_equality(t)
    if known is not None:
        base, equality, read = known
        if base in _ITEMS:
            contents = _encode_items(value, base, read, depth, path)
        else:
            contents = encode(read(value), depth + 1, path)
        wire = {"sub": _QUALNAME(t), "of": contents}
        if equality is not None:
            wire["eq"] = equality
        return wire
    return {"other": _type_name(value), "repr": _safe_repr(value)}


def _encode_items(value, t, items, depth, path):
    """A list, tuple, dict, set or frozenset (`t`), or a subclass instance's contents as
    one, its items read by `items`."""
    if depth >= MAX_DEPTH:
        return {"other": t.__name__, "repr": "<nested too deeply>"}
    path = path or set()
    if id(value) in path:
        return {"other": t.__name__, "repr": "<recursive>"}
    path.add(id(value))
    try:
        if t is dict:
            return {"dict": [[encode(k, depth + 1, path), encode(v, depth + 1, path)]
                             for k, v in items(value)]}
        encoded = [encode(v, depth + 1, path) for v in items(value)]
        if t is list:
            return encoded
        if t is tuple:
            return {"tuple": encoded}
        return {"set": encoded}
    finally:
        path.discard(id(value))


_UNDIGESTIBLE = [0]
DIGEST_OVER = 1 << 16


def encode_result(value):
    """The wire form of a test's result. A large value made only of None, int, str, list
    and tuple (for which equal values have equal wire text) travels as a SHA-256 digest of
    its wire text: comparing digests is exact, and much cheaper than shipping megabytes."""
    _UNDIGESTIBLE[0] = 0
    wire = encode(value)
    if _UNDIGESTIBLE[0] or not _isinstance(wire, (list, str, dict)):
        return wire
    text = _json_dumps(wire, allow_nan=False)
    if _len(text) <= DIGEST_OVER:
        return wire
    import hashlib
    return {"digest": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "size": _len(text), "preview": text[:MAX_REPR]}


def _type_name(value):
    try:
        name = _type(value).__qualname__
        return name if _type(name) is str else "?"
    except BaseException:
        return "?"


def _safe_repr(value):
    try:
        text = repr(value)
        return text[:MAX_REPR] if _type(text) is str else "<repr returned a non-str>"
    except BaseException as exc:  # the candidate's __repr__ may raise anything
        return "<repr raised %s>" % _type(exc).__name__


# ---------------------------------------------------------------- test analysis
# Turns a test written as code into a plan whose verdict is computed outside the candidate's
# process: `assert candidate(args) == expected` becomes "evaluate candidate(args) in the
# child, send its value, compare in Rust". Anything else stays code run in the child.

SAFE_NAMES = {"True", "False", "None", "float", "int", "str", "list", "tuple", "set",
              "frozenset", "dict", "abs", "round", "sorted", "range", "len", "sum", "min",
              "max", "bool", "pow", "reversed", "enumerate", "zip", "map", "chr", "ord",
              "bytes"}


def analyze_test(code, entry_point):
    try:
        module = ast.parse(code)
    except SyntaxError:
        return {"kind": "code", "code": code}
    if not module.body or not _isinstance(module.body[-1], ast.Assert):
        return {"kind": "code", "code": code}
    stmt = module.body[-1]
    lines = code.splitlines(True)
    prefix = "".join(lines[:stmt.lineno - 1])
    if stmt.col_offset != 0 or prefix.count("\n") != stmt.lineno - 1:
        return {"kind": "code", "code": code}
    if any(_line_has_code(line) for line in lines[stmt.end_lineno:]):
        return {"kind": "code", "code": code}
    plan = _plan_for_assert(stmt.test, code, entry_point)
    if plan is None:
        return {"kind": "code", "code": code}
    plan["setup"] = prefix
    plan["source"] = ast.get_source_segment(code, stmt) or ""
    return plan


def _line_has_code(line):
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _is_candidate_call(node, entry_point):
    return (_isinstance(node, ast.Call) and _isinstance(node.func, ast.Name)
            and node.func.id in ("candidate", entry_point))


def _plan_for_assert(test, code, entry_point):
    is_call = lambda n: _is_candidate_call(n, entry_point)  # noqa: E731
    source = lambda n: ast.get_source_segment(code, n)  # noqa: E731
    if is_call(test):
        return {"kind": "call", "call": source(test), "check": "truthy"}
    if _isinstance(test, ast.UnaryOp) and _isinstance(test.op, ast.Not) and is_call(test.operand):
        return {"kind": "call", "call": source(test.operand), "check": "falsy"}
    if _isinstance(test, ast.Compare) and _len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if is_call(right) and not is_call(left) and _isinstance(op, (ast.Eq, ast.NotEq)):
            left, right = right, left
        if is_call(left) and _isinstance(op, (ast.Eq, ast.NotEq, ast.Is)):
            ok, expected = _constant_value(right)
            if not ok:
                return None
            check = {ast.Eq: "eq", ast.NotEq: "ne", ast.Is: "is"}[_type(op)]
            if check == "is" and expected not in (True, False, None):
                return None
            return {"kind": "call", "call": source(left), "check": check,
                    "expected": encode(expected)}
        return _plan_for_tolerance(left, op, right, is_call, source)
    return None


def _plan_for_tolerance(left, op, right, is_call, source):
    """`abs(candidate(x) - e) < tol` (or `abs(e - candidate(x)) <= tol`)."""
    if not (_isinstance(op, (ast.Lt, ast.LtE)) and _isinstance(left, ast.Call)
            and _isinstance(left.func, ast.Name) and left.func.id == "abs"
            and _len(left.args) == 1 and _isinstance(left.args[0], ast.BinOp)
            and _isinstance(left.args[0].op, ast.Sub)):
        return None
    diff = left.args[0]
    call, other = (diff.left, diff.right) if is_call(diff.left) else (diff.right, diff.left)
    if not is_call(call):
        return None
    ok_e, expected = _constant_value(other)
    ok_t, tol = _constant_value(right)
    if not (ok_e and ok_t) or _type(tol) not in (int, float):
        return None
    return {"kind": "call", "call": source(call), "check": "lt" if _isinstance(op, ast.Lt) else "le",
            "expected": encode(expected), "tolerance": float(tol)}


def _constant_value(node):
    """Evaluates an expression built from literals and a few pure builtins, or gives up."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    for sub in ast.walk(node):
        if _isinstance(sub, ast.Name) and sub.id not in SAFE_NAMES:
            return False, None
        if _isinstance(sub, (ast.Attribute, ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield,
                             ast.YieldFrom, ast.Starred, ast.Subscript, ast.ListComp,
                             ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return False, None
    try:
        expr = ast.Expression(node)
        ast.fix_missing_locations(expr)
        return True, eval(compile(expr, TEST_FILE, "eval"), {"__builtins__": builtins})
    except Exception:
        return False, None


# ---------------------------------------------------------------- the job's child
# Runs in the forked child: the program, then each test from `start` on, one result line
# per test on `result_fd`.

def compile_job(job):
    """The job's program compiled, and what gives its coverage when it is traced (see
    compile_traced; None untraced): done once per job, in the worker, where it costs a third of what it costs in a freshly
    forked child (whose every new page is a copy-on-write fault). Compiling runs none of
    the program's code. Raises SyntaxError or ValueError for a program that does not
    compile."""
    if job.get("trace"):
        return compile_traced(job["program"], job["trace"]["mode"])
    if job.get("script") is not None:
        _load_script_modules()
    return compile(job["program"], CANDIDATE_FILE, "exec", dont_inherit=True), None


def child_main(job, compiled, start, result_fd, sandbox, token):
    if job.get("script") is not None:
        script_main(job, compiled, result_fd, sandbox, token)
    _enter_job_sandbox(job, result_fd, sandbox)
    send = lambda msg: _send(result_fd, token, msg)  # noqa: E731
    if compiled is None:  # the worker could not compile it (a RecursionError, say)
        try:
            compiled = compile_job(job)
        except (SyntaxError, ValueError) as exc:
            send({"syntax_error": {"line": getattr(exc, "lineno", None),
                                   "message": _message(exc)}})
            os._exit(0)
    program, probe = compiled
    namespace = {"__name__": "__candidate__", "__builtins__": builtins}
    try:
        exec(program, namespace)
    except BaseException as exc:
        _flush_stdio()
        failure = _describe_exception(exc)
        failure["phase"] = "load"
        for index in range(start, _len(job["tests"])):
            failure["i"] = index
            send(failure)
        os._exit(0)
    send({"loaded": True})  # test clocks start now: loading has its own
    entry = job["entry_point"]
    for index in range(start, _len(job["tests"])):
        result = _run_one_test(job["tests"][index], index, namespace, entry, job.get("trace"),
                               probe)
        _flush_stdio()  # before the result, so the worker sees the output's full size
        send(result)
    send({"done": True})
    os._exit(0)


def script_main(job, compiled, result_fd, sandbox, token):
    """Runs the program as a script (`__name__ == "__main__"`), SandboxFusion's way: its
    files written into the work directory first, `stdin` as its standard input; one
    result (`r: "exit"`, the exit code, the fetched files as hex) for the job's one test,
    whose clock starts before the program loads."""
    _enter_job_sandbox(job, result_fd, sandbox)
    send = lambda msg: _send(result_fd, token, msg)  # noqa: E731
    script = job["script"]
    for path, data in script["files"].items():
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "wb") as file:
            file.write(_BYTES_FROMHEX(data))
    stdin = os.memfd_create("stdin", 0)
    _os_write(stdin, script["stdin"].encode("utf-8"))
    os.lseek(stdin, 0, os.SEEK_SET)
    os.dup2(stdin, 0)
    os.close(stdin)
    send({"loaded": True})
    started = _perf_counter()
    code, out_of_memory = _run_script(job, compiled)
    _flush_stdio()
    elapsed = _perf_counter() - started
    send({"i": 0, "r": "exit", "code": code, "t": elapsed, "memory": out_of_memory,
          "files": _fetch_files(script["fetch_files"])})
    os._exit(0)


_traceback = None  # the traceback module, once a script job has loaded it


def _load_script_modules():
    """What scripts need and tests do not: `traceback` (with linecache, tokenize and
    textwrap), to print what a script raises as `python3 program.py` does. Imported once, in
    the worker, before the first script's fork, and frozen with the worker's other objects:
    importing it in every script's child cost it ~8 ms of CPU (server CPU per /run_code
    request, 2-core VM: 14.1 ms before, 5.9 ms after). Workers that never run a script never
    import it."""
    global _traceback
    if _traceback is None:
        import traceback
        _traceback = traceback
        gc.freeze()


def _run_script(job, compiled):
    """The program's exit code, as `python3 program.py` would end: 0, SystemExit's code,
    or 1 after printing the traceback of what it raised (or of its syntax error); and
    whether what ended it was a MemoryError (its memory limit), which callers report as a
    status of its own."""
    _load_script_modules()  # already loaded, unless the child had to compile the program
    traceback = _traceback
    try:
        program = compiled[0] if compiled is not None else compile_job(job)[0]
        exec(program, {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as exc:
        if exc.code is None:
            return 0, False
        if _type(exc.code) is int:
            return exc.code & 0xFF, False
        _flush_stdio()
        sys.stderr.write("%s\n" % (exc.code,))
        return 1, False
    except BaseException as exc:
        _flush_stdio()
        traceback.print_exception(_type(exc), exc, exc.__traceback__)
        return 1, _type(exc) is MemoryError
    return 0, False


def _fetch_files(paths):
    """The named files of the work directory as hex; None for one that cannot be read."""
    fetched = {}
    for path in paths:
        try:
            with open(path, "rb") as file:
                fetched[path] = _BYTES_HEX(file.read())
        except OSError:
            fetched[path] = None
    return fetched


def _enter_job_sandbox(job, result_fd, sandbox):
    os.setsid()
    out_fds = sandbox.out_fds
    # The worker's sys.stdin/stdout/stderr wrap fds 0/1/2 (it speaks to Rust on duplicates),
    # so pointing those fds at /dev/null and the capture files redirects them: no new file
    # objects to build in every child.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fds[0], 1)
    os.dup2(out_fds[1], 2)
    keep = sorted({0, 1, 2, result_fd})
    for low, high in zip(keep, keep[1:] + [65536]):
        os.closerange(low + 1, high)
    os.chdir(sandbox.work_dir)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the worker ignores it
    sandbox.drop_privileges()
    limits = job["limits"]
    # The thread pools' address space (a stack and, for OpenBLAS, a ~32 MiB buffer per
    # thread, mostly never touched) is granted on top of the memory limit, so a numpy
    # program with threads runs under any limit that fits its data (SandboxFusion #70).
    _set_limit("RLIMIT_AS", limits["memory_bytes"] + limits["threads"] * _THREAD_RESERVE_BYTES)
    _set_limit("RLIMIT_CPU", int(limits["cpu_seconds"]))
    _set_limit("RLIMIT_FSIZE", limits["output_bytes"])
    _set_limit("RLIMIT_NOFILE", 256)
    _set_limit("RLIMIT_CORE", 0)
    _set_limit("RLIMIT_NPROC", limits["processes"])


_THREAD_POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                          "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS")
_THREAD_RESERVE_BYTES = 64 << 20  # measured: OpenBLAS adds ~42 MiB of address space a thread


_pool_threads = None  # what the worker's environment says now


def _size_thread_pools(threads):
    """Numeric libraries size their thread pools from these variables, read when they load
    (in the job): a job gets its share of the machine, not one thread per host core. Set
    in the worker, which every job inherits, and only when the size changes."""
    global _pool_threads
    if threads == _pool_threads:
        return
    for name in _THREAD_POOL_VARIABLES:
        os.environ[name] = str(threads)
    os.environ["MALLOC_ARENA_MAX"] = "2"  # glibc reserves 64 MiB of address space per arena
    _pool_threads = threads


def _set_limit(name, value):
    import resource
    which = getattr(resource, name)
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)  # clamp: a container may already cap us lower
    try:
        resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


def _run_one_test(test, index, namespace, entry, trace=None, probe=None):
    tracer = make_tracer(trace["mode"], trace["max_events"], trace["max_bytes"],
                         trace["max_value_chars"], probe) if trace else None
    try:
        result = _run_traced(test, index, namespace, entry, tracer)
    finally:
        if tracer is not None:
            tracer.stop()
    if tracer is not None:
        result["trace"] = tracer.recorder.result()
    return result


def _run_traced(test, index, namespace, entry, tracer):
    started = _perf_counter()
    if tracer is not None:
        tracer.start()
    try:
        function = namespace.get(entry)
        if function is None:
            raise NameError("the program does not define the entry point %r" % entry)
        kind = test["kind"]
        if kind == "args":
            value = function(*json.loads(test["args"]))
        else:
            # Test code runs in the program's own module namespace, as when a HumanEval
            # check or MBPP's test_setup_code is appended to the program.
            namespace["candidate"] = function
            if kind == "code":
                exec(compile(test["code"], TEST_FILE, "exec", dont_inherit=True), namespace)
                if tracer is not None:
                    tracer.stop()
                return {"i": index, "r": "ok", "t": _perf_counter() - started}
            if test["setup"]:
                exec(compile(test["setup"], TEST_FILE, "exec", dont_inherit=True), namespace)
            value = eval(compile(test["call"], TEST_FILE, "eval", dont_inherit=True), namespace)
        # `assert f(x)` asks the object itself, as Python would: its __bool__ (or __len__)
        # runs here, as part of the test, and may raise. Only the boolean travels.
        truth = _bool(value) if test.get("check") in ("truthy", "falsy") else None
        if tracer is not None:
            tracer.stop()  # before serializing: the value's own code is not the program's
        elapsed = _perf_counter() - started
        wire = encode_result(value)
        result = {"i": index, "r": "value", "v": wire, "t": elapsed,
                  "te": _perf_counter() - started - elapsed}
        if truth is not None:
            result["truth"] = truth
        return result
    except BaseException as exc:
        if tracer is not None:
            tracer.stop()
        result = _describe_exception(exc, test)
        result["i"] = index
        result["t"] = _perf_counter() - started
        return result


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the program may have closed or replaced them
            pass


def _describe_exception(exc, test=None):
    result = {"r": "exc", "type": _type_name(exc), "msg": _message(exc)}
    candidate_line = None
    test_line = None
    frame_file = None
    tb = exc.__traceback__
    while tb is not None:
        frame_file = tb.tb_frame.f_code.co_filename
        if frame_file == CANDIDATE_FILE:
            candidate_line = tb.tb_lineno
        elif frame_file == TEST_FILE:
            test_line = tb.tb_lineno
        tb = tb.tb_next
    if _type(exc) is SyntaxError and getattr(exc, "filename", None) == CANDIDATE_FILE:
        candidate_line = exc.lineno
    result["line"] = candidate_line
    # A bare assertion in the test's own code is a wrong answer, not a crash.
    if _type(exc) is AssertionError and frame_file == TEST_FILE and test is not None:
        result["assert"] = _source_line(test.get("code") or test.get("setup") or "", test_line)
    if _type(exc) is OSError and exc.errno == errno.EFBIG:
        result["output_limit"] = True
    return result


def _source_line(code, line):
    lines = code.splitlines()
    if line is None or not 1 <= line <= _len(lines):
        return None
    return lines[line - 1].strip()


def _message(exc):
    try:
        text = str(exc)
        return text[:MAX_MESSAGE] if _type(text) is str else ""
    except BaseException:
        return "<str() raised>"


def _send(fd, token, msg):
    """Writes one message line, prefixed with the attempt's token: a program writing blindly
    to every file descriptor cannot produce a line the worker accepts. A trace's events
    (JSON text already) follow as a line of their own, the attachment, which the worker
    passes on to tracealign without decoding: inside the message they would be escaped
    as a string here, unescaped and escaped again by the worker, and unescaped by
    tracealign (~0.2 s of CPU for HumanEval's 12 MB of traces)."""
    trace = msg.get("trace")
    attachment = trace.pop("json", None) if _type(trace) is dict else None
    if attachment is not None:
        trace["attached"] = True
    try:
        data = token + _json_dumps(msg, allow_nan=False) + "\n"
        if attachment is not None:
            data += token + attachment + "\n"
        data = data.encode("utf-8")
    except BaseException as exc:
        data = (token + _json_dumps({"i": msg.get("i"), "r": "exc", "type": "EncodingError",
                                     "msg": "result could not be serialized: %s"
                                     % _type_name(exc), "line": None}) + "\n").encode()
    view = memoryview(data)
    while view:
        try:
            written = _os_write(fd, view)
        except OSError:
            os._exit(3)  # the candidate closed our pipe; the worker reports the rest
        view = view[written:]


# ---------------------------------------------------------------- the worker side
# Supervises a job: forks a child per attempt, enforces per-test wall clocks, restarts
# after a test that hangs or kills its process, and cleans up everything the job left.

class Job:
    def __init__(self, request, config, sandbox):
        self.request = request
        self.config = config
        self.sandbox = sandbox
        self.tests = request["tests"]
        self.timeouts = request["timeouts"]
        self.results = [None] * _len(self.tests)
        self.syntax_error = None
        self.restarts = 0
        self.loaded = False
        self.pids = []  # the processes forked for this job's attempts
        self.attachments = {}  # test index -> its trace's events, JSON text as received
        self.awaiting_attachment = None  # a result whose attachment is the next line

    def run(self):
        started = _perf_counter()
        sandbox = self.sandbox
        budget_end = started + self.request["limits"]["sample_seconds"]
        _size_thread_pools(self.request["limits"]["threads"])
        self.compiled = self._compile()
        index = 0
        while self.syntax_error is None and (
                index < _len(self.tests) or (index == 0 and not self.tests)):
            if _perf_counter() > budget_end:
                for rest in range(index, _len(self.tests)):
                    self.results[rest] = {"r": "timeout", "budget": True}
                break
            index = self._attempt(index, budget_end)
            if self.syntax_error is not None or not self.tests:
                break
        response = {"id": self.request["id"], "results": self.results,
                    "restarts": self.restarts, "wall": _perf_counter() - started}
        attachments = self._number_attachments()
        if self.syntax_error is not None:
            response["syntax_error"] = self.syntax_error
        cap = self.request["limits"]["capture_bytes"]
        response["stdout"], response["stdout_truncated"] = _read_capped(sandbox.out_fds[0], cap)
        response["stderr"], response["stderr_truncated"] = _read_capped(sandbox.out_fds[1], cap)
        # The caller replies, then calls sandbox.after_job(): cleaning up overlaps with
        # tracealign recording this result and sending the next job.
        return response, attachments

    def _compile(self):
        """The program compiled (see compile_job); None leaves it to the child. What the
        compiler writes (a SyntaxWarning) goes to the job's captured stderr, as it would
        in the child, not to tracealign's."""
        saved = os.dup(2)
        os.dup2(self.sandbox.out_fds[1], 2)
        try:
            return compile_job(self.request)
        except (SyntaxError, ValueError) as exc:
            self.syntax_error = {"line": getattr(exc, "lineno", None), "message": _message(exc)}
        except Exception:
            pass  # too deep to compile here, say: the child tries, under its limits
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        return None

    def _number_attachments(self):
        """The attachments of the results kept, in the order they follow the reply; each
        result's trace says which one is its (`attachment`)."""
        attached = []
        for index, result in enumerate(self.results):
            trace = result.get("trace") if _type(result) is dict else None
            if _type(trace) is dict and trace.pop("attached", False):
                if index in self.attachments:
                    trace["attachment"] = _len(attached)
                    attached.append(self.attachments[index])
        return attached

    def _attempt(self, start, budget_end):
        """Runs tests from `start` in a fresh child; returns where the next child starts."""
        _reap_finished()  # earlier attempts' zombies would count against the process limit
        read_fd, write_fd = os.pipe()
        self.token = os.urandom(8).hex()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                child_main(self.request, self.compiled, start, write_fd, self.sandbox,
                           self.token)
            finally:
                os._exit(70)
        os.close(write_fd)
        self.pids.append(pid)
        self.restarts += start > 0
        try:
            return self._supervise(pid, read_fd, start, self.sandbox.out_fds, budget_end)
        finally:
            os.close(read_fd)
            self.sandbox.kill_job(pid)

    def _supervise(self, pid, read_fd, start, out_fds, budget_end):
        self.loaded = False
        self.awaiting_attachment = None
        current = start
        pending = []  # chunks of an unfinished line: joined once, as big results are MBs
        pending_bytes = 0
        # Loading the program (its module-level code) gets the first test's limit too.
        deadline = _perf_counter() + self._timeout(current)
        while True:
            remaining = min(deadline, budget_end) - _perf_counter()
            watched = [read_fd, self.sandbox.requests_fd or read_fd]
            ready = select.select(watched, [], [], max(remaining, 0))[0] if remaining > 0 else []
            if self.sandbox.requests_fd is not None and self.sandbox.requests_fd in ready:
                self.sandbox.kill_job(pid)  # and, as init, our exit ends the namespace
                os._exit(0)
            if not ready:
                if current < _len(self.tests):
                    self.results[current] = {"r": "timeout"}
                return current + 1
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                return self._child_ended(pid, current, out_fds)
            if b"\n" not in chunk:
                pending.append(chunk)
                pending_bytes += _len(chunk)
                if pending_bytes > MAX_RESULT_LINE:
                    if current < _len(self.tests):
                        self.results[current] = {"r": "oversized", "output_limit": True}
                    return current + 1
                continue
            pending.append(chunk)
            *lines, rest = b"".join(pending).split(b"\n")
            pending = [rest] if rest else []
            pending_bytes = _len(rest)
            for line in lines:
                verdict = self._accept(line, current, out_fds)
                if verdict == "attachment":
                    continue  # the result is taken with it, from the next line
                if verdict == "loaded":
                    deadline = _perf_counter() + self._timeout(current)
                    continue
                if verdict == "finished":
                    return _len(self.tests)
                if verdict == "tampered":
                    return current + 1
                current += 1
                if current >= _len(self.tests):
                    return current
                deadline = _perf_counter() + self._timeout(current)

    def _timeout(self, index):
        return self.timeouts[index] if index < _len(self.timeouts) else 1.0

    def _accept(self, line, current, out_fds):
        """Takes one message from the child: 'loaded', 'attachment' (a result whose trace's
        events follow), 'next', 'finished' or 'tampered'."""
        token = self.token.encode()
        if self.awaiting_attachment is not None:  # this line is that result's attachment
            msg, self.awaiting_attachment = self.awaiting_attachment, None
            if not line.startswith(token):
                self.results[current] = {"r": "tampered"}
                return "tampered"
            self.attachments[current] = line[_len(token):]
            self.results[current] = msg
            return "next"
        try:
            if not line.startswith(token):
                raise ValueError
            msg = json.loads(line[_len(token):])
            if _type(msg) is not dict:
                raise ValueError
        except ValueError:
            msg = None
        if msg is not None and "syntax_error" in msg and current == 0:
            self.syntax_error = msg["syntax_error"]
            return "finished"
        if msg is not None and msg.get("done") and current >= _len(self.tests):
            return "finished"
        if msg is not None and msg.get("loaded") and not self.loaded:
            self.loaded = True
            return "loaded"
        if msg is None or msg.get("i") != current or current >= _len(self.tests):
            # Out of sequence: something other than the harness wrote to the result pipe.
            if current < _len(self.tests):
                self.results[current] = {"r": "tampered"}
            return "tampered"
        if _output_full(out_fds, self.request["limits"]["output_bytes"]):
            msg["output_limit"] = True
        trace = msg.get("trace")
        if _type(trace) is dict and trace.get("attached"):
            self.awaiting_attachment = msg
            return "attachment"
        self.results[current] = msg
        return "next"

    def _child_ended(self, pid, current, out_fds):
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
        if current < _len(self.tests):
            if os.WIFSIGNALED(status):
                result = {"r": "killed", "signal": os.WTERMSIG(status)}
            else:
                result = {"r": "exited", "code": os.WEXITSTATUS(status)}
            if _output_full(out_fds, self.request["limits"]["output_bytes"]):
                result["output_limit"] = True
            self.results[current] = result
        return current + 1


def _reap_finished():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _output_full(out_fds, limit):
    return any(os.fstat(fd).st_size >= limit for fd in out_fds)


def _read_capped(fd, cap):
    data = os.pread(fd, cap + 1, 0)
    return data[:cap].decode("utf-8", "replace"), _len(data) > cap


# ---------------------------------------------------------------- isolation
# A job sees a minimal root: the interpreter's trees and the system libraries, read-only; a
# private /tmp (its work directory inside, recreated for every job); a few device nodes; its
# own /proc. Nothing else of the host: no home, no working directory, no problem files, no
# cache, no host sockets. The worker (pid 1 of its namespaces) is out of the job's reach: it
# is not dumpable (no ptrace, no /proc/1/mem or /proc/1/fd), ignores every signal a job
# could send it, and a seccomp filter it installs for itself and every job refuses what a
# test program never needs. Jobs run without capabilities, as their own uid where the
# worker can map one (tracealign running as root), under no_new_privs.
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
# statvfs flags that a read-only bind remount must keep (the kernel refuses to clear them).
STATVFS_FLAGS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: 1024, 2048: 2048,
                 4096: 1 << 21}
# The uid and gid of jobs where the worker can map a second id (see _enter_namespaces).
JOB_ID = 65534
DEVICES = ("null", "zero", "full", "random", "urandom")


class Sandbox:
    """What isolates this worker's jobs, decided once at start-up."""

    def __init__(self, config):
        self.config = config
        self.in_namespace = False
        # pivot_root'ed into the minimal root, whose /tmp is the job's own: only then is
        # /tmp scratch space to wipe after each job.
        self.private_root = False
        self.mount_point = None  # the host directory the root was mounted over
        self.notes = []
        self.job_id = None  # the uid/gid jobs switch to, when there is one
        # tracealign's requests: it sends none while a job runs, so this becoming readable
        # then means it closed the pipe (it exited or was killed).
        self.requests_fd = None

    def enter(self):
        if self.config.get("isolate", True):
            try:
                self._enter_namespaces()
            except OSError as exc:
                self.notes.append("namespaces unavailable (%s): running with rlimits only, "
                                  "without network or filesystem isolation; the process limit "
                                  "counts every process of this user" % exc)
        self._protect_worker()
        self.prepare_files()

    def _enter_namespaces(self):
        # A user namespace even for root: capabilities then count only inside it, so the
        # job's process limit holds (the kernel exempts privileged users from RLIMIT_NPROC)
        # and counts only this worker's processes.
        flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
        # The new root is a tmpfs mounted (in our namespace only) over an empty directory of
        # the host's, removed by the first process once the worker is gone.
        import tempfile
        mount_point = tempfile.mkdtemp(prefix="tracealign-root-")
        parent = os.open(os.path.dirname(mount_point), os.O_RDONLY | os.O_DIRECTORY)
        try:
            if os.geteuid() == 0:
                _unshare_mapped_by_parent(flags, mount_point)
                self.job_id = JOB_ID
            else:
                _unshare_self_mapped(flags)
                self.notes.append("jobs share the worker's uid (tracealign does not run as "
                                  "root): they are kept from the worker by its being "
                                  "undumpable and by seccomp")
        except OSError:
            os.rmdir(mount_point)
            raise
        # The first child is pid 1 of the new pid namespace: it becomes the worker; this
        # process only waits for it, so that Rust's handle on the worker stays valid.
        pid = os.fork()
        if pid != 0:
            os.close(0)
            _, status = os.waitpid(pid, 0)
            try:
                os.rmdir(os.path.basename(mount_point), dir_fd=parent)
            except OSError:
                pass  # root: the first process removes it
            os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
        os.close(parent)
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 0 and os.getpid() != 1:
            os._exit(1)
        self.in_namespace = True
        self.mount_point = mount_point
        try:
            self._build_root(mount_point)
            self.private_root = True
        except OSError as exc:
            # Jobs would see the host's filesystem: said at start-up, never silently.
            self.notes.append("no private root filesystem (%s): programs see the host's "
                              "files as the job's uid may" % exc)

    def _build_root(self, new):
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
        for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = "/" + name
            if os.path.islink(host):
                os.symlink(os.readlink(host), new + host)
            elif os.path.isdir(host):
                self._bind(host, new)
        trees, hidden = _python_trees()
        for tree in trees:
            self._bind(tree, new)
        if hidden:
            self.notes.append("not visible to programs (outside the interpreter's trees): "
                              + ", ".join(hidden))
        os.mkdir(new + "/etc", 0o755)
        for path in ("/etc/ld.so.cache", "/etc/localtime"):
            if os.path.islink(path):
                os.symlink(os.readlink(path), new + path)  # into /usr/share/zoneinfo, say
            elif os.path.isfile(path):
                self._bind(path, new)
        _write(new + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\n"
               "nobody:x:%d:%d:nobody:/tmp:/usr/sbin/nologin\n" % (JOB_ID, JOB_ID))
        _write(new + "/etc/group", "root:x:0:\nnogroup:x:%d:\n" % JOB_ID)
        _write(new + "/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n")
        self._make_dev(new)
        os.mkdir(new + "/tmp")
        size = self.config.get("tmp_mb", 512)
        _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
               "size=%dm,mode=1777" % size)
        os.mkdir(new + "/proc", 0o555)
        proc_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        try:
            _mount("proc", new + "/proc", "proc", proc_flags, "hidepid=2")
        except OSError:
            try:
                _mount("proc", new + "/proc", "proc", proc_flags)
            except OSError as exc:
                self.notes.append("no /proc for programs (%s)" % exc)
        # pivot_root(".", "."): the old root ends up stacked on the new one, and detaching
        # it leaves only the new root, with no directory of the host left to reach.
        os.chdir(new)
        if _LIBC.syscall(_syscall_number("pivot_root"), b".", b".") != 0:
            raise OSError(ctypes.get_errno(), "pivot_root: "
                          + os.strerror(ctypes.get_errno()))
        if _LIBC.umount2(b".", MNT_DETACH) != 0:
            raise OSError(ctypes.get_errno(), "umount old root: "
                          + os.strerror(ctypes.get_errno()))
        os.chdir("/")
        _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)

    def _bind(self, source, new):
        target = new + source
        if os.path.isdir(source):
            os.makedirs(target, 0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
        _mount(source, target, None, MS_BIND | MS_REC)
        kept = os.statvfs(source).f_flag
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
        for bit, flag in STATVFS_FLAGS.items():
            if kept & bit:
                flags |= flag
        try:
            _mount(None, target, None, flags)
        except OSError:
            self.notes.append("%s could not be made read-only" % source)

    def _make_dev(self, new):
        os.mkdir(new + "/dev", 0o755)
        for name in DEVICES:
            if os.path.exists("/dev/" + name):
                os.close(os.open(new + "/dev/" + name, os.O_WRONLY | os.O_CREAT, 0o666))
                _mount("/dev/" + name, new + "/dev/" + name, None, MS_BIND)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                             ("shm", "/tmp")):
            os.symlink(target, new + "/dev/" + name)

    def _protect_worker(self):
        """Keeps jobs away from this process: not dumpable (ptrace and /proc/1/mem, fd,
        environ need CAP_SYS_PTRACE, which no job has), deaf to SIGINT (the one signal it
        handles; as init of its pid namespace it gets no others from inside it), and the
        seccomp filter, inherited by every job."""
        libc = _LIBC
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        try:
            _install_seccomp()
        except OSError as exc:
            self.notes.append("no seccomp filter (%s)" % exc)

    def drop_privileges(self):
        """In the job's child: its own uid where there is one, no capabilities either way
        (no_new_privs, inherited from the worker, keeps it from regaining any)."""
        if self.job_id is not None:
            os.setgroups([])
            os.setresgid(self.job_id, self.job_id, self.job_id)
            os.setresuid(self.job_id, self.job_id, self.job_id)
        else:
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
            data = (ctypes.c_uint32 * 6)()
            _LIBC.capset(header, data)
        # Undumpable (the worker's state, inherited, and what a uid change sets), a job
        # could not even see its own children in /proc; ptrace stays refused by seccomp.
        _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)

    def describe(self):
        return {"namespaces": self.in_namespace, "notes": self.notes,
                "private_root": self.private_root, "mount_point": self.mount_point,
                "job_uid": self.job_id}

    def prepare_files(self):
        """Capture files without a name (memfd: nothing in any directory a job could
        rename or replace), and the job's scratch space."""
        if self.private_root:
            self.scratch = "/tmp"
        else:
            import tempfile
            self.scratch = tempfile.mkdtemp(prefix="tracealign-")
        self.work_dir = os.path.join(self.scratch, "work")
        self.out_fds = [_anonymous_file(name, self.scratch) for name in ("stdout", "stderr")]
        self.clean_files()

    def reset_outputs(self):
        for fd in self.out_fds:
            os.ftruncate(fd, 0)

    def clean_files(self):
        """Removes whatever the last job left in its scratch space, whatever it did to it
        (renamed, chmod 000, symlinked, filled), and makes a fresh work directory; most
        jobs leave it as they found it, which a few stats tell."""
        scratch_mode = 0o1777 if self.private_root else 0o700
        if self._untouched(scratch_mode):
            return
        os.chmod(self.scratch, scratch_mode)
        for name in os.listdir(self.scratch):
            _remove_tree(os.path.join(self.scratch, name))
        os.mkdir(self.work_dir, 0o700)
        if self.job_id is not None:
            os.chown(self.work_dir, self.job_id, self.job_id)

    def _untouched(self, scratch_mode):
        try:
            scratch = os.stat(self.scratch)
            work = os.lstat(self.work_dir)
            owner = self.job_id if self.job_id is not None else os.getuid()
            return (scratch.st_mode & 0o7777 == scratch_mode
                    and stat.S_ISDIR(work.st_mode) and work.st_mode & 0o7777 == 0o700
                    and work.st_uid == owner and work.st_nlink == 2
                    and os.listdir(self.scratch) == ["work"] and not os.listdir(self.work_dir))
        except OSError:
            return False

    def kill_job(self, pid):
        """Stops an attempt's process group; it is reaped in after_job (a SIGKILLed process
        runs no more code, so nothing needs to wait for its teardown now)."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass

    def after_job(self, job_pids):
        """Between jobs: no process of the last job survives, its files are gone, the
        capture files are empty."""
        self.kill_leftovers(job_pids)
        self.clean_files()
        self.reset_outputs()

    def kill_leftovers(self, job_pids):
        """Kills every process the job started, including daemons that left its group, and
        waits until those others are gone. The job's own children (already SIGKILLed by
        kill_job) are torn down by the kernel while we answer and are reaped later:
        waiting for that teardown here cost about 1 ms a job."""
        if self.in_namespace:
            # As pid 1 of the namespace, kill(-1) reaches every other process in it, and
            # our own /proc lists exactly those.
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            for name in os.listdir("/proc"):
                if name.isdigit() and int(name) != 1 and int(name) not in job_pids:
                    try:
                        os.waitpid(int(name), 0)
                    except ChildProcessError:
                        pass
        _reap_finished()


def _unshare_self_mapped(flags):
    """Unprivileged: the new user namespace maps only our own uid and gid (as 0)."""
    uid, gid = os.geteuid(), os.getegid()
    if _LIBC.unshare(flags) != 0:
        error = ctypes.get_errno()
        raise OSError(error, "unshare: " + os.strerror(error))
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", "0 %d 1" % uid)
    _write("/proc/self/gid_map", "0 %d 1" % gid)


def _unshare_mapped_by_parent(flags, mount_point):
    """Root: a child unshares and this process, still in the host's user namespace (only
    there may two ids be mapped), maps root and JOB_ID for it, then waits for it and leaves
    with its status. Returns in the child; raises here if the child could not unshare."""
    status_r, status_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        os.close(go_w)
        if _LIBC.unshare(flags) != 0:
            os.write(status_w, b"%d" % ctypes.get_errno())
            os._exit(1)
        os.write(status_w, b"ok")
        if os.read(go_r, 2) != b"go":
            os._exit(1)
        os.close(status_w)
        os.close(go_r)
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    os.close(status_w)
    os.close(go_r)
    answer = os.read(status_r, 16)
    if answer != b"ok":
        os.waitpid(pid, 0)
        error = int(answer) if answer.isdigit() else errno.EPERM
        raise OSError(error, "unshare: " + os.strerror(error))
    try:
        for name in ("uid_map", "gid_map"):
            _write("/proc/%d/%s" % (pid, name), "0 0 1\n%d %d 1" % (JOB_ID, JOB_ID))
    except OSError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    os.write(go_w, b"go")
    os.close(0)
    os.close(1)
    _, status = os.waitpid(pid, 0)
    try:
        os.rmdir(mount_point)
    except OSError:
        pass
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if _LIBC.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, "mount %s: %s" % (target, os.strerror(error)))


def _python_trees():
    """The directories the interpreter needs (its prefixes, the real one behind the
    executable), none inside another or /usr; and the sys.path entries outside them, which
    programs will not see (an editable install's project, say)."""
    exe_root = os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, exe_root}
    roots |= {os.path.realpath(r) for r in list(roots)}
    chosen = ["/usr"]
    for root in sorted(r for r in roots if os.path.isdir(r) and r != "/"):
        if not any(_inside(root, c) for c in chosen):
            chosen.append(root)
    hidden = [p for p in sys.path if p and os.path.isdir(p)
              and not any(_inside(os.path.realpath(p), c) or _inside(p, c) for c in chosen)]
    return chosen[1:], hidden


def _inside(path, tree):
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def _anonymous_file(name, fallback_dir):
    """A capture file: appended to (so that emptying it between jobs also rewinds every
    writer), with no name anywhere."""
    try:
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        return fd
    except (AttributeError, OSError):
        pass
    path = os.path.join(fallback_dir, "." + name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
    os.unlink(path)
    return fd


# ---------------------------------------------------------------- seccomp
# Refused with EPERM for every job (and the worker, once it is set up): what a test program
# never needs and an attacker would. clone3 answers ENOSYS (its flags sit in memory a
# filter cannot read), so the C library falls back to clone, whose namespace flags are
# checked here.
SECCOMP_DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
                  "pivot_root", "chroot", "swapon", "swapoff", "reboot", "sethostname",
                  "setdomainname", "acct", "init_module", "finit_module", "delete_module",
                  "kexec_load", "kexec_file_load", "keyctl", "add_key", "request_key", "bpf",
                  "unshare", "setns", "perf_event_open", "userfaultfd", "open_by_handle_at",
                  "name_to_handle_at", "fanotify_init", "quotactl", "open_tree", "move_mount",
                  "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "pidfd_getfd",
                  "kcmp", "io_uring_setup", "io_uring_enter", "io_uring_register")
SYSCALLS = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165,
        "umount2": 166, "pivot_root": 155, "chroot": 161, "swapon": 167, "swapoff": 168,
        "reboot": 169, "sethostname": 170, "setdomainname": 171, "acct": 163,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
        "kexec_file_load": 320, "keyctl": 250, "add_key": 248, "request_key": 249,
        "bpf": 321, "unshare": 272, "setns": 308, "perf_event_open": 298,
        "userfaultfd": 323, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "fanotify_init": 300, "quotactl": 179, "kcmp": 312, "clone": 56}),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40,
        "umount2": 39, "pivot_root": 41, "chroot": 51, "swapon": 224, "swapoff": 225,
        "reboot": 142, "sethostname": 161, "setdomainname": 162, "acct": 89,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "keyctl": 219, "add_key": 217, "request_key": 218,
        "bpf": 280, "unshare": 97, "setns": 268, "perf_event_open": 241,
        "userfaultfd": 282, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "fanotify_init": 262, "quotactl": 60, "kcmp": 272, "clone": 220}),
}
# Numbered alike on every architecture (the unified table since Linux 5.1).
COMMON_SYSCALLS = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
                   "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
                   "fsmount": 432, "fspick": 433, "clone3": 435, "pidfd_getfd": 438,
                   "mount_setattr": 442}
CLONE_NAMESPACES = 0x7E020080  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME


def _syscall_number(name):
    import platform
    arch = SYSCALLS.get(platform.machine())
    if arch is None:
        raise OSError(errno.ENOSYS, "unknown architecture %s" % platform.machine())
    return arch[1].get(name) or COMMON_SYSCALLS[name]


def _seccomp_program():
    """The filter as (code, jt, jf, k) instructions; jumps to the labels 'deny', 'nosys'
    and 'clone' are resolved at the end."""
    import platform
    machine = platform.machine()
    if machine not in SYSCALLS:
        raise OSError(errno.ENOSYS, "no seccomp table for %s" % machine)
    audit_arch = SYSCALLS[machine][0]
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    errno_ret = 0x00050000
    program = [(ld, 0, 0, 4), (jeq, 1, 0, audit_arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if machine == "x86_64":
        program.append((jge, "deny", 0, 0x40000000))  # the x32 ABI's numbers
    for name in SECCOMP_DENIED:
        program.append((jeq, "deny", 0, _syscall_number(name)))
    program.append((jeq, "nosys", 0, _syscall_number("clone3")))
    program.append((jeq, "clone", 0, _syscall_number("clone")))
    program.append((ret, 0, 0, allow))
    labels = {"clone": _len(program)}
    program += [(ld, 0, 0, 16), (jset, "deny", 0, CLONE_NAMESPACES), (ret, 0, 0, allow)]
    labels["deny"] = _len(program)
    program.append((ret, 0, 0, errno_ret | errno.EPERM))
    labels["nosys"] = _len(program)
    program.append((ret, 0, 0, errno_ret | errno.ENOSYS))
    resolved = []
    for at, (code, jt, jf, k) in enumerate(program):
        jt = labels[jt] - at - 1 if _isinstance(jt, str) else jt
        jf = labels[jf] - at - 1 if _isinstance(jf, str) else jf
        resolved.append((code, jt, jf, k))
    return resolved


def _install_seccomp():
    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                    ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    program = _seccomp_program()
    filters = (SockFilter * _len(program))(*[SockFilter(*ins) for ins in program])
    fprog = SockFprog(_len(program), filters)
    if _LIBC.prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, "seccomp: " + os.strerror(error))


def _remove_tree(path):
    """Removes a file, link or directory tree a job left, never following its links. A job
    may leave directories without permissions: we own them (or hold CAP_DAC_OVERRIDE in
    our namespace), so a chmod makes them removable."""
    def make_writable_and_retry(function, target, _exc):
        try:
            os.chmod(os.path.dirname(target) or target, 0o700)
            os.chmod(target, 0o700)
            function(target)
        except OSError:
            pass

    if os.path.isdir(path) and not os.path.islink(path):
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
        shutil.rmtree(path, onerror=make_writable_and_retry)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


# ---------------------------------------------------------------- main loop
PRELOAD = ("collections", "itertools", "functools", "heapq", "bisect", "string", "re",
           "typing", "random", "statistics", "fractions", "decimal", "copy", "operator",
           "hashlib", "datetime", "resource", "tempfile", "string", "array", "numbers")


def main():
    # Nothing inherited beyond our pipes: a descriptor tracealign's own parent leaked to it
    # would otherwise live on in every worker and job.
    os.closerange(3, 65536)
    config = json.loads(sys.argv[1])
    sandbox = Sandbox(config)
    sandbox.enter()
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # programs may print huge ints, as before 3.11
    gc.freeze()  # keep the collector from touching (and copying) the worker's pages in jobs
    # Our own duplicates of the pipes to Rust; fds 0/1/2 are left for the programs' stdio.
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    for fd in (requests.fileno(), replies.fileno()):
        os.set_inheritable(fd, False)
    sandbox.requests_fd = requests.fileno()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stdin = open(0, "r", closefd=False)
    sys.argv = ["candidate.py"]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the file-size limit, writes fail
    reply(replies, {"ready": True, "pid": os.getpid(), "python": sys.version.split()[0],
                    "isolation": sandbox.describe()})
    for line in requests:
        request = json.loads(line)
        op = request.get("op")
        # Every reply carries its request's nonce: a reply that is not the answer to the
        # request in flight can never be taken for it.
        nonce = request.pop("nonce", None)
        if op == "run":
            job = Job(request, config, sandbox)
            message, attachments = job.run()
            message["nonce"] = nonce
            reply(replies, message, attachments)
            sandbox.after_job(job.pids)
        elif op == "analyze":
            plans = [analyze_test(code, request["entry_point"]) for code in request["tests"]]
            reply(replies, {"nonce": nonce, "plans": plans})
        elif op == "ping":
            reply(replies, {"nonce": nonce, "pong": True})
        else:
            reply(replies, {"nonce": nonce, "error": "unknown op %r" % op})


def reply(stream, message, attachments=()):
    """One JSON line; with attachments, it says how many lines follow it, as received."""
    if attachments:
        message["attachments"] = _len(attachments)
    stream.write((json.dumps(message, allow_nan=False) + "\n").encode("utf-8"))
    for attachment in attachments:
        stream.write(attachment)
        stream.write(b"\n")
    stream.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        os._exit(0)  # tracealign went away mid-reply (interrupted): nothing left to do
