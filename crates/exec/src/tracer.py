# tracealign's tracer: what a candidate program did during one test.
#
# Prepended to the harness (both are embedded in the binary). Records events of the
# candidate's own code only (frames whose code comes from "<candidate>"): `call` (with
# arguments), `line` (the line about to run, with the variables the previous line changed),
# `return` (value; `yield` for generators), `exception` (type, message, line). Values are
# bounded reprs. Hard caps on events and bytes per test end in an explicit `truncated`.
#
# Two front ends feed one recorder: sys.monitoring on Python 3.12+ (events are enabled only
# on the candidate's code objects, so the rest of the process runs at full speed) and
# sys.settrace before that. Coverage mode records only which lines ran, each line once.

import re
import reprlib
import sys

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

    def show(self, value):
        kind = type(value)
        # Most values in a trace are small ints, floats, bools and None: their repr is
        # short and exact, and reprlib's dispatch by type name would cost more than it.
        if kind is int and -10**15 < value < 10**15 or kind in _PLAIN:
            return repr(value)
        try:
            return self.repr(value)
        except BaseException as exc:
            return "<unrepresentable %s>" % type(exc).__name__


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


_PLAIN = (bool, float, type(None))


class _Frame:
    """What the recorder remembers of one live candidate frame."""
    __slots__ = ("func", "depth", "seen", "index", "raising")

    def __init__(self, func, depth, index):
        self.func = func
        self.depth = depth
        self.seen = {}  # name -> (id, fingerprint, repr) at the last event
        self.index = index
        self.raising = False  # an exception is passing through, not yet handled


class Recorder:
    """Turns frame callbacks into bounded events."""

    def __init__(self, mode, max_events, max_bytes, max_value_chars):
        self.mode = mode
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.shower = BoundedRepr(max_value_chars)
        self.events = []
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
        return {"lines": sorted(self.lines), "events": self.events,
                "truncated": self.truncated, "events_total": self.total}

    # -- callbacks ------------------------------------------------------------------
    def on_call(self, frame):
        key = id(frame)
        state = self.frames.get(key)
        resumed = state is not None
        if not resumed:
            self.calls += 1
            state = self.frames[key] = _Frame(frame.f_code.co_name, self.depth, self.calls)
        self.depth = state.depth + 1
        if self.mode == "coverage":
            return
        event = {"kind": "call", "func": state.func, "line": frame.f_lineno, "depth": state.depth}
        if resumed:
            event["resumed"] = True
        else:
            event["args"] = self._arguments(frame, state)
        self._add(event)

    def on_line(self, frame, line):
        if self.mode == "coverage":
            self.lines.add(line)
            return
        self.lines.add(line)
        state = self._state(frame)
        state.raising = False  # a line ran: the exception was handled
        event = {"kind": "line", "func": state.func, "line": line, "depth": state.depth}
        changed = self._changes(frame, state)
        if changed:
            event["changed"] = changed
        self._add(event)

    def on_return(self, frame, value, yielded):
        state = self._state(frame)
        self.depth = state.depth
        if not yielded:
            self.frames.pop(id(frame), None)
        # sys.settrace reports a frame left by an exception as a return of None; the
        # exception event already said what happened (and sys.monitoring says no more).
        if self.mode == "coverage" or state.raising:
            return
        event = {"kind": "yield" if yielded else "return", "func": state.func,
                 "line": frame.f_lineno, "depth": state.depth, "value": self.shower.show(value)}
        changed = self._changes(frame, state)
        if changed:
            event["changed"] = changed
        self._add(event)

    def on_exception(self, frame, exc):
        if self.mode == "coverage":
            return
        state = self._state(frame)
        state.raising = True
        try:
            message = str(exc)[:200]
        except BaseException:
            message = "<str() raised>"
        self._add({"kind": "exception", "func": state.func, "line": frame.f_lineno,
                   "depth": state.depth, "exc_type": type(exc).__name__, "message": message})

    # -- helpers ------------------------------------------------------------------------
    def _state(self, frame):
        state = self.frames.get(id(frame))
        if state is None:  # a frame already running when tracing began
            self.calls += 1
            state = self.frames[id(frame)] = _Frame(frame.f_code.co_name, self.depth, self.calls)
        return state

    def _arguments(self, frame, state):
        code = frame.f_code
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
        names = code.co_varnames[:count]
        local = frame.f_locals
        shown = {}
        for name in names:
            if name in local:
                value = local[name]
                text = self.shower.show(value)
                state.seen[name] = (id(value), _fingerprint(value), text)
                shown[name] = text
        return shown

    def _changes(self, frame, state):
        """Variables whose value differs from the last event in this frame. Cheap first:
        identity and a size fingerprint decide for large containers; a repr is computed
        only for small values or when the cheap test says "changed"."""
        changed = None
        seen = state.seen
        for name, value in frame.f_locals.items():
            previous = seen.get(name)
            if previous is not None and previous[0] == id(value) and type(value) in _IMMUTABLE:
                continue  # the same immutable object: unchanged, nothing to compute
            fingerprint = _fingerprint(value)
            if previous is not None and previous[0] == id(value) and previous[1] == fingerprint:
                if fingerprint is not None or not _is_mutable(value):
                    continue
                text = self.shower.show(value)  # small mutable container: look inside
                if text == previous[2]:
                    continue
            else:
                text = self.shower.show(value)
                if previous is not None and previous[2] == text:
                    seen[name] = (id(value), fingerprint, text)
                    continue
            seen[name] = (id(value), fingerprint, text)
            if changed is None:
                changed = {}
            changed[name] = text
        return changed

    def _add(self, event):
        self.total += 1
        if self.truncated:
            return
        event["step"] = self.total - 1
        size = 64 + len(event.get("value") or "")  # about the JSON of the fixed fields
        for key in ("args", "changed"):
            if key in event:
                size += sum(len(k) + len(v) + 6 for k, v in event[key].items())
        if len(self.events) >= self.max_events or self.bytes + size > self.max_bytes:
            self.truncated = True
            if self.on_truncate is not None:
                self.on_truncate()  # recording is over: stop paying for tracing
            return
        self.bytes += size
        self.events.append(event)


_MUTABLE = (list, dict, set, bytearray)
_IMMUTABLE = {int, float, bool, str, bytes, tuple, frozenset, type(None), complex}


def _is_mutable(value):
    return isinstance(value, _MUTABLE)


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


class SettraceTracer:
    """The sys.settrace front end (every Python)."""

    def __init__(self, recorder):
        self.recorder = recorder
        # Past the cap, events are no longer recorded but coverage must stay complete
        # (localization counts on it): switch to the cheap coverage tracer.
        self._coverage_global, self._coverage_local = _coverage_tracer(recorder.lines.add)
        recorder.on_truncate = lambda: sys.settrace(self._coverage_global)

    def start(self):
        if self.recorder.mode == "coverage":
            sys.settrace(self._coverage_global)
        else:
            sys.settrace(self._global)

    def stop(self):
        sys.settrace(None)
        frame = sys._getframe(1)
        while frame is not None:  # frames keep their local tracer after settrace(None)
            frame.f_trace = None
            frame = frame.f_back

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename != TRACE_CANDIDATE_FILE:
            return None
        self.recorder.on_call(frame)
        return self._local

    def _local(self, frame, event, arg):
        recorder = self.recorder
        if recorder.truncated:
            return self._coverage_local(frame, event, arg)
        if event == "line":
            recorder.on_line(frame, frame.f_lineno)
        elif event == "return":
            recorder.on_return(frame, arg, _is_yield(frame))
        elif event == "exception":
            recorder.on_exception(frame, arg[1])
        return self._local


def _coverage_tracer(add_line):
    """The cheapest settrace tracer that sees every line of the candidate's code: loops run
    millions of line events, so each costs one call and one set insertion, no more."""
    def local(frame, event, arg):
        if event == "line":
            add_line(frame.f_lineno)
        return local

    def global_(frame, event, arg):
        return local if frame.f_code.co_filename == TRACE_CANDIDATE_FILE else None

    return global_, local


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


class MonitoringTracer:
    """The sys.monitoring front end (Python 3.12+): events are switched on per code object,
    only for the candidate's code, so other code pays nothing."""

    TOOL = 4  # one of the ids free for tools (0-5), not the debugger's or profiler's

    def __init__(self, recorder):
        self.recorder = recorder
        self.mon = sys.monitoring
        self.codes = set()
        recorder.on_truncate = self._silence

    def start(self):
        mon, events = self.mon, self.mon.events
        mon.use_tool_id(self.TOOL, "tracealign")
        mon.restart_events()  # lines disabled after their first hit in an earlier test
        callbacks = {
            events.PY_START: self._start, events.PY_RESUME: self._start,
            events.LINE: self._line, events.PY_RETURN: self._return,
            events.PY_YIELD: self._yield, events.RAISE: self._raise,
        }
        for event, callback in callbacks.items():
            mon.register_callback(self.TOOL, event, callback)
        # RAISE cannot be enabled per code object: it is global and filtered in _raise.
        wanted = events.PY_START
        if self.recorder.mode != "coverage":
            wanted |= events.RAISE
        mon.set_events(self.TOOL, wanted)

    def stop(self):
        mon = self.mon
        if mon.get_tool(self.TOOL) is None:
            return
        mon.set_events(self.TOOL, 0)
        for code in self.codes:
            mon.set_local_events(self.TOOL, code, 0)
        mon.free_tool_id(self.TOOL)

    def _silence(self):
        """Past the cap: lines only (each once), for complete coverage at coverage's cost."""
        events = self.mon.events
        self.mon.set_events(self.TOOL, events.PY_START)
        for code in self.codes:
            self.mon.set_local_events(self.TOOL, code, events.LINE)

    def _start(self, code, offset):
        if code.co_filename != TRACE_CANDIDATE_FILE:
            return self.mon.DISABLE
        events = self.mon.events
        coverage = self.recorder.mode == "coverage" or self.recorder.truncated
        if code not in self.codes:
            self.codes.add(code)
            wanted = events.LINE
            if not coverage:
                wanted |= events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
            self.mon.set_local_events(self.TOOL, code, wanted)
        if coverage:
            return self.mon.DISABLE  # its lines are watched now; calls do not matter
        self.recorder.on_call(sys._getframe(1))

    def _line(self, code, line):
        recorder = self.recorder
        if recorder.mode == "coverage" or recorder.truncated:
            recorder.lines.add(line)
            return self.mon.DISABLE  # each line once: coverage needs no more
        recorder.on_line(sys._getframe(1), line)

    def _return(self, code, offset, value):
        self.recorder.on_return(sys._getframe(1), value, False)

    def _yield(self, code, offset, value):
        self.recorder.on_return(sys._getframe(1), value, True)

    def _raise(self, code, offset, exc):
        if code in self.codes:
            self.recorder.on_exception(sys._getframe(1), exc)


def make_tracer(mode, max_events=10000, max_bytes=1 << 18, max_value_chars=60):
    recorder = Recorder(mode, max_events, max_bytes, max_value_chars)
    front = MonitoringTracer if hasattr(sys, "monitoring") else SettraceTracer
    return front(recorder)
