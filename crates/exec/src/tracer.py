# tracealign's tracer: what a candidate program did during one test.
#
# Prepended to the harness (both are embedded in the binary). Records events of the
# candidate's own code only (frames whose code comes from "<candidate>"): `call` (with
# arguments), `line` (the line about to run, with the variables the previous line changed),
# `return` (value; `yield` for generators), `exception` (type, message, line). Values are
# bounded reprs. Hard caps on events and bytes per test end in an explicit `truncated`.
#
# Front ends feed one recorder: sys.monitoring on Python 3.12+ (events are enabled only on
# the candidate's code objects, so the rest of the process runs at full speed); before that,
# sys.settrace for full traces and, for coverage, markers compiled into the candidate's
# statements (see `instrument`; on 3.10 and older, or if instrumenting fails, settrace).
# Coverage mode records only which lines ran, each line once.
#
# Cost (see bench/README.md): a recorded event costs a few microseconds of Python, so the
# common cases take fast paths (the same immutable object is unchanged; small containers of
# plain values are compared element by element by identity; their reprs are the builtin's
# when that equals reprlib's). Events are written as JSON text when recorded and leave the
# child as a line of their own that the worker passes on undecoded: only tracealign parses
# them. Past a cap only coverage goes on, at coverage's cost (on 3.11 tracing stops
# altogether and the markers give the coverage). On 3.11 a marker costs a few instructions
# per statement run (HumanEval/75: ~15-30%), where sys.settrace made CPython run every
# instruction of every frame on its slow tracing path and call the trace function on every
# call (~4x there). On 3.12+ coverage touches only the program's own code objects (see
# LineWatch). The worker compiles (and instruments) each program once per job, before it
# forks the job's child (see `compile_job` in the harness).

import re
import reprlib
import sys
from itertools import compress as _compress
from operator import itemgetter
from json.encoder import encode_basestring_ascii as _json_str
from operator import is_ as _is

TRACE_CANDIDATE_FILE = "<candidate>"


class BoundedRepr(reprlib.Repr):
    """reprlib, plus long strings cut as head…tail, and no exception ever escaping."""

    def __init__(self, max_chars):
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 8
        self.maxdict = 6
        self.maxstring = max_chars
        self.maxother = max_chars
        self.maxlong = max_chars
        self.max_chars = max_chars

    def repr_str(self, value, level):
        text = repr(value)
        if len(text) <= self.max_chars:
            return text
        half = max((self.max_chars - 1) // 2, 1)
        return text[:half] + "…" + text[-half:]

    def repr_instance(self, value, level):
        try:
            text = repr(value)
        except BaseException as exc:  # the candidate's __repr__ may raise anything
            return "<%s; repr raised %s>" % (type(value).__name__, type(exc).__name__)
        if type(text) is not str:
            return "<%s>" % type(value).__name__
        # Addresses change from run to run and mean nothing to a reader (or a model).
        text = _ADDRESS.sub("", text)
        if len(text) > self.max_chars:
            half = max((self.max_chars - 1) // 2, 1)
            text = text[:half] + "…" + text[-half:]
        return text

    def _plain(self, value, level):
        """reprlib's rendering of a list or tuple of plain values (and of lists and tuples
        of them), without reprlib's dispatch by type name; None for anything else, or for
        an element that reprlib would cut."""
        n = len(value)
        kind = type(value)
        if level <= 0 and n:
            return "[...]" if kind is list else "(...)"
        items = value if n <= 8 else value[:8]
        types = set(map(type, items))
        if types <= _ATOMS:  # the builtin repr is reprlib's
            if items and max(map(len, map(repr, items))) > self.max_chars:
                return None
            text = repr(items)
            if n > 8:
                text = text[:-1] + (", ...]" if kind is list else ", ...)")
            return text
        if not types <= _NESTABLE:
            return None
        pieces = []
        for item in items:
            if type(item) in _ATOMS:
                piece = repr(item)
                if len(piece) > self.max_chars:
                    return None
            else:
                piece = self._plain(item, level - 1)
                if piece is None:
                    return None
            pieces.append(piece)
        if n > 8:
            pieces.append("...")
        if kind is list:
            return "[" + ", ".join(pieces) + "]"
        return "(" + ", ".join(pieces) + (",)" if n == 1 else ")")

    def show(self, value):
        kind = type(value)
        # Most values in a trace are small ints, floats, bools, None and short strings, or
        # short lists and tuples of them: their builtin repr is exactly what reprlib would
        # produce, and reprlib's dispatch by type name costs many times more.
        if kind is int and -10**15 < value < 10**15 or kind in _PLAIN:
            return repr(value)
        if kind is str:
            return self.repr_str(value, 0)
        if kind is list or kind is tuple:
            try:
                text = self._plain(value, self.maxlevel)
            except BaseException:
                text = None  # an int too long for str(), say: reprlib decides below
            if text is not None:
                return text
        try:
            return self.repr(value)
        except BaseException as exc:
            return "<unrepresentable %s>" % type(exc).__name__


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


_PLAIN = (bool, float, type(None))
# Element types whose builtin repr equals reprlib's (when at most max_chars long).
_ATOMS = frozenset((int, float, bool, str, type(None)))
_NESTABLE = _ATOMS | {list, tuple}


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
        # name -> (value, fingerprint, repr, snapshot) at the last event. The value itself,
        # not its id: an id can be reused once the object is freed.
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
        self.lines = set()
        self.bytes = 0
        self.total = 0
        self.truncated = False
        self.frames = {}  # id(frame) -> _Frame
        self.depth = 0
        self.calls = 0
        self.on_truncate = None  # set by the front end

    def result(self):
        if self.mode == "coverage":
            return {"lines": sorted(self.lines)}
        return {"lines": sorted(self.lines),
                "json": '{"events":[%s],"truncated":%s,"events_total":%d}'
                        % (",".join(self.events), "true" if self.truncated else "false",
                           self.total)}

    # -- callbacks ------------------------------------------------------------------
    def on_call(self, frame):
        key = id(frame)
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
        args, size = self._arguments(frame, state)
        self.total += 1
        if not self.truncated:
            self._add('{"step":%d,"kind":"call","line":%d%s,"args":{%s}}'
                      % (self.total - 1, frame.f_lineno, state.head, args), 64 + size)

    def on_line(self, frame, line):
        self.lines.add(line)
        if self.mode == "coverage":
            return
        state = self.frames.get(id(frame)) or self._state(frame)
        state.raising = False  # a line ran: the exception was handled
        self.total += 1
        if self.truncated:
            return
        changed = self._changes(frame, state)
        if changed is None:
            event = '{"step":%d,"kind":"line","line":%d%s}' % (self.total - 1, line, state.head)
            size = 64
        else:
            event = ('{"step":%d,"kind":"line","line":%d%s,"changed":{%s}}'
                     % (self.total - 1, line, state.head, changed[0]))
            size = 64 + changed[1]
        # _add, inline: this is the most frequent event
        if len(self.events) >= self.max_events or self.bytes + size > self.max_bytes:
            self._add(event, size)  # records that the cap is reached
            return
        self.bytes += size
        self.events.append(event)

    def on_return(self, frame, value, yielded):
        state = self.frames.get(id(frame)) or self._state(frame)
        self.depth = state.depth
        if not yielded:
            self.frames.pop(id(frame), None)
        # sys.settrace reports a frame left by an exception as a return of None; the
        # exception event already said what happened (and sys.monitoring says no more).
        if self.mode == "coverage" or state.raising:
            return
        self.total += 1
        if self.truncated:
            return
        text = self.shower.show(value)
        size = 64 + len(text)
        event = ('{"step":%d,"kind":"%s","line":%d%s,"value":%s'
                 % (self.total - 1, "yield" if yielded else "return", frame.f_lineno,
                    state.head, _json_str(text)))
        changed = self._changes(frame, state)
        if changed is not None:
            event += ',"changed":{%s}' % changed[0]
            size += changed[1]
        self._add(event + "}", size)

    def on_unwind(self, frame):
        """A frame left by an exception (sys.monitoring reports no return for it): forget
        it, or a later frame at the same address would pass for it resuming."""
        state = self.frames.pop(id(frame), None)
        if state is not None:
            self.depth = state.depth

    def on_exception(self, frame, exc):
        if self.mode == "coverage":
            return
        state = self.frames.get(id(frame)) or self._state(frame)
        state.raising = True
        try:
            message = str(exc)[:200]
            message.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not valid in JSON text
            message = message.encode("utf-8", "backslashreplace").decode("utf-8")
        except BaseException:
            message = "<str() raised>"
        self.total += 1
        if not self.truncated:
            self._add('{"step":%d,"kind":"exception","line":%d%s,"exc_type":%s,"message":%s}'
                      % (self.total - 1, frame.f_lineno, state.head,
                         _json_str(type(exc).__name__), _json_str(message)), 64)

    # -- helpers ------------------------------------------------------------------------
    def _state(self, frame):
        state = self.frames.get(id(frame))
        if state is None:  # a frame already running when tracing began
            self.calls += 1
            state = self.frames[id(frame)] = _Frame(frame, self.depth, self.calls)
        return state

    def _arguments(self, frame, state):
        """The JSON of the call's arguments (inside braces) and their size estimate."""
        code = frame.f_code
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
        names = code.co_varnames[:count]
        local = frame.f_locals
        show = self.shower.show
        parts = []
        size = 0
        for name in names:
            if name in local:
                value = local[name]
                text = show(value)
                state.seen[name] = (value, _fingerprint(value), text, _snapshot(value))
                parts.append(_json_str(name) + ":" + _json_str(text))
                size += len(name) + len(text) + 6
        return ",".join(parts), size

    def _changes(self, frame, state):
        parts = None
        size = 0
        seen = state.seen
        show = self.shower.show
        for name, value in frame.f_locals.items():
            previous = seen.get(name)
            if previous is not None and previous[0] is value:
                if type(value) in _IMMUTABLE:
                    continue
                fingerprint = _fingerprint(value)
                if previous[1] == fingerprint:
                    if fingerprint is not None or not isinstance(value, _MUTABLE):
                        continue
                    snapshot = previous[3]
                    if snapshot is not None and _unchanged(value, snapshot):
                        continue
                    text = show(value)
                    if text == previous[2]:
                        seen[name] = (value, fingerprint, text, _snapshot(value))
                        continue
                else:
                    text = show(value)
                    if previous[2] == text:
                        seen[name] = (value, fingerprint, text, _snapshot(value))
                        continue
            else:
                fingerprint = _fingerprint(value)
                text = show(value)
                if previous is not None and previous[2] == text:
                    seen[name] = (value, fingerprint, text, _snapshot(value))
                    continue
            seen[name] = (value, fingerprint, text, _snapshot(value))
            if parts is None:
                parts = []
            parts.append(_json_str(name) + ":" + _json_str(text))
            size += len(name) + len(text) + 6
        return None if parts is None else (",".join(parts), size)

    def _add(self, event, size):
        """Keeps an event (its JSON; `size` estimates it), unless a cap is reached."""
        if len(self.events) >= self.max_events or self.bytes + size > self.max_bytes:
            self.truncated = True
            if self.on_truncate is not None:
                self.on_truncate()  # recording is over: stop paying for tracing
            return
        self.bytes += size
        self.events.append(event)


_MUTABLE = (list, dict, set, bytearray)
_IMMUTABLE = {int, float, bool, str, bytes, tuple, frozenset, type(None), complex}


def _fingerprint(value):
    """For large mutable containers, (length,) stands in for the contents: re-rendering them
    at every line would cost more than the program. None: compare reprs instead."""
    if isinstance(value, _MUTABLE):
        try:
            size = len(value)
        except BaseException:
            return None
        return (size,) if size > 16 else None
    return None


def _snapshot(value):
    """The elements of a small list, set or dict of plain values (ints, strings, ...), to
    tell later, by identity alone, that it still holds the very same objects: then its
    repr cannot have changed. None for anything else."""
    kind = type(value)
    if kind is list or kind is set:
        if len(value) <= 16 and _ATOMS.issuperset(map(type, value)):
            return tuple(value)
    elif kind is dict:
        if (len(value) <= 16 and _ATOMS.issuperset(map(type, value))
                and _ATOMS.issuperset(map(type, value.values()))):
            return (tuple(value), tuple(value.values()))
    return None


def _unchanged(value, snapshot):
    if type(value) is dict:
        keys, values = snapshot
        return (len(value) == len(keys) and all(map(_is, value, keys))
                and all(map(_is, value.values(), values)))
    return len(value) == len(snapshot) and all(map(_is, value, snapshot))


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
            recorder.on_truncate = lambda: sys.settrace(self._coverage_global)

    def start(self):
        if self.probe is not None:
            self.probe.reset()
        self.running = True
        if self.recorder.mode == "coverage":
            sys.settrace(self._coverage_global)
        else:
            sys.settrace(self._global)

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
    sys.settrace(None)
    frame = sys._getframe(1)
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
    done = set()  # id(code) of the candidate's code objects all of whose lines ran
    waiting = {}  # line -> the sets of lines not run yet that hold it

    def left(code):
        entry = codes.get(id(code))
        if entry is None:
            wanted = _event_lines(code)
            remaining = None if wanted is None else set(wanted - lines)
            for line in remaining or ():
                waiting.setdefault(line, []).append((remaining, id(code)))
            entry = codes[id(code)] = (code, remaining)
            if remaining is not None and not remaining:
                done.add(id(code))
        return entry[1]

    def new_line(frame, line):
        lines.add(line)
        for remaining, key in waiting.pop(line, ()):
            remaining.discard(line)
            if not remaining:
                done.add(key)
        left(frame.f_code)  # registers a code first seen here (traced before a cap)
        if id(frame.f_code) in done:
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
        if id(code) in done or code.co_filename != candidate:
            return None
        left(code)
        return None if id(code) in done else local

    return global_, local


_EVENT_LINES = {}  # id(code) -> (code, its lines that can get a line event, or None)
_PROLOGUE = frozenset(("RESUME", "RETURN_GENERATOR", "POP_TOP", "MAKE_CELL", "COPY_FREE_VARS"))


def _event_lines(code):
    """The lines of `code` that sys.settrace can report a line event for: those of its
    instructions, less the `def` line when it holds only the prologue (entering a frame is
    a call event, not a line event). None when this Python cannot tell (before 3.11)."""
    entry = _EVENT_LINES.get(id(code))
    if entry is None:
        try:
            import dis
            found = {line for _, _, line in code.co_lines() if line is not None}
            first = code.co_firstlineno
            if all(op.opname in _PROLOGUE for op in dis.get_instructions(code)
                   if op.positions.lineno == first):
                found.discard(first)
            found = frozenset(found)
        except Exception:
            found = None
        entry = _EVENT_LINES[id(code)] = (code, found)
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
    import dis
    return {dis.opmap[name] for name in ("YIELD_VALUE",) if name in dis.opmap}


_YIELD_OPS = _yield_ops()


class LineWatch:
    """The candidate's code objects, but for the module's own (it has run by the time tests
    start). Knowing them, coverage on 3.12+ switches LINE events on for exactly these at
    each test, and changes nothing global: after a global change (set_events,
    restart_events) every code object in the process, the harness's and the standard
    library's too, re-instruments itself when it next runs (~40 µs a test here)."""

    def __init__(self, module_code):
        self.codes = tuple(_code_objects(module_code))[1:]
        # id(code) -> its first line, for the code objects whose first line gets no LINE
        # event when events are enabled before the call (3.13: the body starts on the line
        # of RESUME, as in `lambda x: x * x`): a PY_START event counts that line instead.
        self.first_lines = {}
        for code in self.codes:
            line = _line_after_resume(code)
            if line is not None:
                self.first_lines[id(code)] = line


def _line_after_resume(code):
    """The line of the instruction after RESUME when it is RESUME's own line, else None."""
    import dis
    raw = code.co_code
    positions = list(code.co_positions())
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
    if hasattr(sys, "monitoring"):
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
        self.mon = sys.monitoring
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
                self.codes[id(code)] = code
                wanted = events.LINE | (events.PY_START if id(code) in first_lines else 0)
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
        getframe = sys._getframe

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
            add_line(first_lines[id(code)])
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
        if id(code) not in self.codes:
            self.codes[id(code)] = code
            wanted = events.LINE
            if not coverage:
                wanted |= events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
            self.mon.set_local_events(self.TOOL, code, wanted)
        if coverage:
            return self.mon.DISABLE  # its lines are watched now; calls do not matter
        self.recorder.on_call(sys._getframe(1))

    def _return(self, code, offset, value):
        self.recorder.on_return(sys._getframe(1), value, False)

    def _yield(self, code, offset, value):
        self.recorder.on_return(sys._getframe(1), value, True)

    def _raise(self, code, offset, exc):
        if id(code) in self.codes:
            self.recorder.on_exception(sys._getframe(1), exc)

    def _unwind(self, code, offset, exc):
        if id(code) in self.codes:
            self.recorder.on_unwind(sys._getframe(1))


def make_tracer(mode, max_events=10000, max_bytes=1 << 18, max_value_chars=60, probe=None):
    """A tracer for one test. `probe`: what `compile_traced` gave for the candidate (statement
    markers, or the code objects to watch), or None."""
    recorder = Recorder(mode, max_events, max_bytes, max_value_chars)
    if hasattr(sys, "monitoring"):
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
        self.zeros = [0] * len(marks)

    def reset(self):
        self.marks[:] = self.zeros

    def lines(self):
        found = set()
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
