"""The interactive front end for ASK: a prompt-toolkit prompt on the controlling terminal.

How it fits (see docs/asking.md for what a person sees):

* The tracer's loop runs in the main thread and must never wait for a person.  The
  supervisor calls :meth:`TerminalAsker.ask`, which only queues the request and returns; the
  asking task is parked.  One thread of ours shows the queued requests one prompt at a time
  and hands each answer back through ``respond`` (which gives it to :meth:`Tracer.answer`,
  applied on the tracer's thread).
* The prompt owns the screen while it shows: the traced tree shares the terminal, and a task
  that runs meanwhile could draw another question over the one asked (docs/security.md, gap
  #26).  So the whole tree is stopped first (:meth:`Tracer.hold_tree`, the freeze of a call
  applied to every task) and goes on once the prompt is answered or gone; and the prompt
  starts from a terminal state the program cannot have left behind (:data:`KNOWN_STATE`).
* The prompt talks to ``/dev/tty``, never to the program's stdout or stderr, and leaves the
  terminal as the program had it: the terminal modes and the foreground process group are
  saved before and restored after each prompt (:class:`TerminalLease`); cursor-key and
  bracketed-paste modes are not touched; a program that drives the screen itself (it had
  the terminal in non-canonical mode: ``less``, an editor) gets a SIGWINCH afterwards, so it
  redraws what the prompt covered.
* What a typed answer means is :class:`~systrace_py.ui.answering.Interpreter`'s business,
  shared with the approvers (:mod:`systrace_py.approver`); remembered answers live in the
  supervisor's tables and are saved by the policy store at the end
  (:func:`~systrace_py.ui.answering.finish_asking`).  Nothing ever waits for a person who is
  not there: ``--ask-timeout`` refuses an ask nobody answered in time.
"""

from __future__ import annotations

import array
import contextlib
import contextvars
import fcntl
import os
import queue
import re
import select
import shlex
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from systrace_py import procfs
from systrace_py.policy.glob import Expansions
from systrace_py.policy.model import Reason
from systrace_py.report import say
from systrace_py.supervisor import Answer, AnswerKind, Asker, AskRequest
from systrace_py.terminal import printable
from systrace_py.ui.answering import (
    BURST,
    DEFAULT_REACH,
    Interpreter,
    call_text,
    describe_answer,
    linked_names,
    rule_text,
)
from systrace_py.ui.answers import ABBREVIATIONS, REACHES, VERBS, AnswerError, parse_answer
from systrace_py.ui.offers import OfferError

if TYPE_CHECKING:
    import asyncio

    from systrace_py.engine.tracer import Tracer

__all__ = [
    "TerminalAsker",
    "TerminalLease",
    "open_tty",
    "question",
]

Respond = Callable[[Answer], None]

#: How long a question shows before keys are taken as its answer (seconds; --ask-delay):
#: keys typed sooner were typed to what the screen showed before it.
READ_DELAY = 0.5

#: Written before each prompt, once the tree is stopped (what it wrote before is shown
#: first): what a program can have left the terminal in that would hide or disguise the
#: question -- text in the background colour or concealed, default colours or a palette
#: redefined so that the question's text is the background's, a line-drawing character set,
#: insert mode, a scroll region that keeps the prompt's lines in a corner, a hidden cursor,
#: an escape sequence or string (a title: OSC) left open that would swallow the question.
#: The screen's content and the cursor's place are left alone, and so are the cursor-key and
#: keypad modes (DECSTR would reset those: a program that set them reads its keys by them).
KNOWN_STATE = (
    "\x18"              # CAN: ends an escape sequence or string left open
    "\x1b7\x1b[r\x1b8"  # margins: the whole screen (DECSTBM moves the cursor home: DECSC/DECRC
                        # around it; origin mode, which DECRC restores, is then the same)
    "\x0f\x1b(B"        # SI, and G0 the ASCII set: no line-drawing or other character set
    "\x1b]104\x07"      # the palette the terminal's own: ansired drawn as a program made it
    "\x1b]110\x07"      # (OSC 4) could be the background, and text in the default colours
    "\x1b]111\x07"      # invisible (OSC 10/11 the same): red team 10; lost for the program
    "\x1b[0m"           # no colours, no conceal, no reverse
    "\x1b[4l"           # replace mode, not insert
    "\x1b[?25h"         # the cursor shown
)


# =============================================================================================
# The terminal


def open_tty() -> int | None:
    """The controlling terminal, opened for the prompt (None: there is none)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    if not os.isatty(fd):
        os.close(fd)
        return None
    return fd


class TerminalLease:
    """Borrow the terminal for one prompt and give it back as it was.

    Saves the terminal modes and the foreground process group; makes our process group the
    foreground one (a traced shell with job control has given the terminal to its job), with
    SIGTTOU and SIGTTIN blocked in this thread so that doing so from the background neither
    stops systrace nor fails; puts the line in a sane cooked state for prompt-toolkit to
    start from, with output started (a program may have stopped it: tcflow).  On exit
    restores the modes, then the foreground group, and pokes a program that drives the screen
    itself with SIGWINCH so it repaints.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved_attrs: list[Any] | None = None
        self.saved_pgrp: int | None = None
        self._mask: set[int | signal.Signals] | None = None

    def __enter__(self) -> TerminalLease:
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK,
                                            {signal.SIGTTOU, signal.SIGTTIN})
        try:
            self.saved_attrs = termios.tcgetattr(self.fd)
            self.saved_pgrp = os.tcgetpgrp(self.fd)
            if self.saved_pgrp != os.getpgrp():
                os.tcsetpgrp(self.fd, os.getpgrp())
            termios.tcsetattr(self.fd, termios.TCSANOW, sane_attrs(self.saved_attrs))
            # output the program stopped (tcflow TCOOFF; no ^Q with IXON off) would hold our
            # first write for good, with the tree held for it (red team 10): started again,
            # and left started -- the kernel does not say whether it was stopped
            termios.tcflow(self.fd, termios.TCOON)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def screen_program(self) -> bool:
        """Whether the program had the terminal in non-canonical mode (it draws the screen)."""
        return self.saved_attrs is not None and not self.saved_attrs[3] & termios.ICANON

    def __exit__(self, *exc: object) -> None:
        try:
            if self.saved_attrs is not None:
                with contextlib.suppress(termios.error, OSError):
                    termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved_attrs)
            if self.saved_pgrp is not None and self.saved_pgrp != os.getpgrp():
                with contextlib.suppress(OSError):
                    os.tcsetpgrp(self.fd, self.saved_pgrp)
            if self.screen_program and self.saved_pgrp is not None:
                with contextlib.suppress(OSError):
                    os.killpg(self.saved_pgrp, signal.SIGWINCH)
        finally:
            if self._mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
                self._mask = None


def sane_attrs(attrs: list[Any]) -> list[Any]:
    """A copy of terminal modes with a cooked line: output processing, CR to NL, echo,
    signals -- whatever the program had set for itself."""
    out: list[Any] = [list(a) if isinstance(a, list) else a for a in attrs]
    out[0] |= termios.ICRNL
    out[1] |= termios.OPOST | termios.ONLCR
    out[3] |= termios.ICANON | termios.ECHO | termios.ECHOE | termios.ECHOK | termios.ISIG \
        | termios.IEXTEN
    return out


def controlling_tty() -> int | None:
    """The device number of our controlling terminal (/dev/tty is a device of its own, so
    this is how to know whether stderr is that terminal)."""
    return procfs.controlling_terminal("self") or None


def _alive(tid: int) -> bool:
    """Whether a task still exists (and is not a zombie)."""
    return procfs.alive(tid)


class StderrRouter:
    """Stands in for sys.stderr while asking is possible: lines written while a prompt is
    on the terminal (the supervisor's ``-v`` child messages, refusals) are printed above
    the prompt instead of through it; otherwise they go straight through."""

    def __init__(self, real: IO[str], asker: TerminalAsker) -> None:
        self.real = real
        self.asker = asker

    def write(self, text: str) -> int:
        if not self.asker.print_above(text):
            self.real.write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


_TIMEOUT = "\x00timeout"
_GONE = "\x00gone"
_CLOSED = "\x00closed"


class TerminalAsker(Asker):
    """Asks a person on the controlling terminal, one request at a time, from its own
    thread."""

    def __init__(self, tty_fd: int, stderr: IO[str], *, timeout: float | None = None,
                 no_alias: bool = False, read_delay: float = READ_DELAY) -> None:
        self.fd = tty_fd
        self.stderr = stderr
        self.timeout = timeout if timeout is not None and timeout > 0 else None
        self.read_delay = read_delay
        self.no_alias = no_alias
        self.expansions = Expansions.from_env()
        self._queue: queue.Queue[tuple[AskRequest, Respond] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._active: tuple[Any, asyncio.AbstractEventLoop, contextvars.Context] | None = None
        self._showing: int | None = None   # the id of the request on the screen
        self._closing = False
        self._killed: set[int] = set()
        self._settled: set[int] = set()    # ids the supervisor settled without us
        self._session: Any = None
        self._out = open(tty_fd, "w", encoding="utf-8", errors="replace",  # noqa: SIM115
                         closefd=False)
        self._in = open(tty_fd, encoding="utf-8", errors="replace",  # noqa: SIM115
                        closefd=False)
        self._answers = 0
        self._router: StderrRouter | None = None
        self._pending: list[str] = []
        self._pending_lock = threading.Lock()
        #: What the supervisor should write its stderr lines to (see install_router).
        self.supervisor_stderr: IO[str] = stderr
        self._tracer: Tracer | None = None  # (hold_with: the supervisor's, at attach)

    #: The terminal shows no process events.
    wants_events = False

    # --- the Asker protocol (tracer's thread) ------------------------------------------------
    def ask(self, request: AskRequest, respond: Respond) -> None:
        """Queue the request and return at once; the answer comes from our thread."""
        with self._lock:
            if self._closing:
                respond(Answer(AnswerKind.DENY, errno=request.decision.errno))
                return
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name="systrace-ask", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # (can't start new thread: the tracer's pids limit is
                    #                    the tree's too; red team 43) nobody to ask: refused,
                    #                    the next ask tries again
                    say(f"refused {call_text(request)} for pid {request.pid}: no thread to "
                        "ask on (can't start new thread)", self.stderr)
                    respond(Answer(AnswerKind.DENY, errno=request.decision.errno))
                    return
                self._thread = thread
        self._queue.put((request, respond))
        active = self._active
        if active is not None:  # show the new count of waiting asks
            with contextlib.suppress(RuntimeError):
                active[1].call_soon_threadsafe(active[0].invalidate)

    def settled(self, request: AskRequest, why: str) -> None:
        """The supervisor settled a request (an earlier answer decides it, its process is
        gone): it is not shown, or, when on the screen, taken off it."""
        with self._lock:
            self._settled.add(request.id)
        if self._showing == request.id:
            self._exit_prompt(_GONE)

    def process_event(self, record: dict[str, Any]) -> None:
        return None

    def hold_with(self, tracer: Tracer) -> None:
        """The tracer whose tree is stopped while a prompt shows (supervisor.ScreenAsker)."""
        self._tracer = tracer

    def finish(self) -> None:
        """End of the run: stop asking, give the terminal back."""
        with self._lock:
            self._closing = True
            thread = self._thread
        self._exit_prompt(_CLOSED)
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout=5)
        self.uninstall_router()
        with contextlib.suppress(OSError):
            self._out.close()
            self._in.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)

    # --- stderr -------------------------------------------------------------------------------
    def install_router(self) -> None:
        """Route sys.stderr through us when it is this terminal (see StderrRouter)."""
        real = sys.stderr
        try:
            same = os.isatty(real.fileno()) and os.fstat(real.fileno()).st_rdev == \
                controlling_tty()
        except (OSError, ValueError, AttributeError):
            same = False
        if same:
            self._router = StderrRouter(real, self)
            sys.stderr = self._router  # type: ignore[assignment]
            self.stderr = real
            self.supervisor_stderr = self._router  # type: ignore[assignment]

    def uninstall_router(self) -> None:
        if self._router is not None and sys.stderr is self._router:
            sys.stderr = self._router.real  # type: ignore[assignment]
        self._router = None

    def print_above(self, text: str) -> bool:
        """Print text above the prompt on screen; False when no prompt is showing.

        The text is kept until printed: by the prompt's loop (which hides the prompt, prints,
        and draws it again), or, when the prompt ends first, right after it."""
        with self._pending_lock:
            active = self._active
            if active is None or threading.current_thread() is self._thread:
                return False
            self._pending.append(text)
        app, loop, ctx = active
        with contextlib.suppress(RuntimeError):  # the loop closed: printed after the prompt
            loop.call_soon_threadsafe(self._show_pending, app, context=ctx)
        return True

    def _show_pending(self, app: Any) -> None:
        from prompt_toolkit.application import run_in_terminal

        if app.is_running:
            run_in_terminal(self._write_pending)
        else:
            self._write_pending()

    def _write_pending(self) -> None:
        with self._pending_lock:
            text = "".join(self._pending)
            self._pending.clear()
        if text:
            self._write_tty(text)

    def _write_tty(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._out.write(text)
            self._out.flush()

    # --- our thread ---------------------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            request, respond = item
            with self._tree_stopped(request) as stopped:
                try:
                    answer = self._handle(request, stopped)
                except Exception as exc:  # never leave a task parked: refuse, say why
                    say(f"cannot ask about {request.syscall} for pid {request.pid}: "
                        f"{type(exc).__name__}: {exc}; refused", self.stderr)
                    answer = Answer(AnswerKind.DENY, errno=request.decision.errno)
                # (before the release: the answered task goes on with the others, not after)
                respond(answer)

    def _gone(self, request: AskRequest) -> bool:
        """Whether a request is not to be shown (any more): the run ends, the supervisor
        settled it, its process was killed by an answer, its task is gone.  (Under _lock.)"""
        return (self._closing or request.id in self._settled or request.pid in self._killed
                or not _alive(request.tid))

    @contextlib.contextmanager
    def _tree_stopped(self, request: AskRequest) -> Iterator[bool]:
        """Hold the traced tree stopped (Tracer.hold_tree) while asking about ``request``:
        True once every task is stopped; False when one would not stop (the tracer's freeze
        timed out: the ask is refused) or when there is no tracer.  Not for a request that
        is gone before the tree stopped (then it is not shown anyway).

        A lookup is asked on the resolver's thread, while the tracer's loop may sleep in the
        kernel: hold_tree wakes it.  A hold not taken within HOLD_WAIT seconds (it never
        should be: the freeze gives up after its own timeout) refuses the ask rather than
        show the question over a running tree (docs/security.md, gap #26)."""
        tracer = self._tracer
        if tracer is None:
            yield False
            return
        hold = tracer.hold_tree()
        until = time.monotonic() + HOLD_WAIT
        try:
            while not hold.done.wait(_WATCH_INTERVAL):
                with self._lock:
                    if self._gone(request):
                        break
                if time.monotonic() > until:
                    break
            yield hold.done.is_set() and hold.taken  # (taken is set before done)
        finally:
            tracer.release_tree(hold)

    def _handle(self, request: AskRequest, stopped: bool) -> Answer:
        refuse = Answer(AnswerKind.DENY, errno=request.decision.errno)
        with self._lock:
            if self._gone(request):
                return refuse
            if stopped:
                self._showing = request.id
        if not stopped:
            say(f"cannot stop the traced program to ask about {call_text(request)} for pid "
                f"{request.pid}: refused", self.stderr)
            return refuse
        rows, columns = self._size()
        if 0 < rows < MIN_ROWS or 0 < columns < MIN_COLUMNS:
            # the size is the program's to set (stty, TIOCSWINSZ): at 1 x 1 the question
            # showed as one character, and the places of its position queries were the
            # program's to guess (review 55): a question that cannot be shown is refused
            say(f"the terminal is {rows} x {columns}, too small to show the question about "
                f"{call_text(request)} for pid {request.pid} (at least {MIN_ROWS} x "
                f"{MIN_COLUMNS}): refused", self.stderr)
            return refuse
        try:
            return self._ask_person(request, refuse)
        finally:
            self._showing = None

    def _ask_person(self, request: AskRequest, refuse: Answer) -> Answer:
        self._answers += 1
        interp = Interpreter(request, no_alias=self.no_alias, expansions=self.expansions,
                             index=self._answers)
        while True:
            result = self._prompt(request, interp)
            if result in (_GONE, _CLOSED):
                return refuse
            if result == _TIMEOUT:
                say(f"no answer within {self.timeout:g}s: refused {call_text(request)} for pid "
                    f"{request.pid}", self._out)
                return refuse
            if result is None:
                say(f"denied {call_text(request)} for pid {request.pid}, this call only",
                    self._out)
                return refuse
            try:
                if parse_answer(result).verb == "help":
                    text = help_text(interp, self._columns() - 1)
                    self._write_tty("\n".join(printable(line) for line in text.split("\n")))
                    continue
                answer = interp.answer(result)
            except (AnswerError, OfferError) as exc:  # the validator let it through: rare
                say(str(exc), self._out)
                continue
            if answer.kind == AnswerKind.KILL:
                self._killed.add(request.pid)
            if answer.kind == AnswerKind.ABORT:
                self._closing = True  # the run ends: asks still queued are refused
            say(describe_answer(answer, request), self._out)
            return answer

    # --- prompt-toolkit -------------------------------------------------------------------------
    def _make_session(self) -> Any:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.history import InMemoryHistory
        from prompt_toolkit.input import create_input
        from prompt_toolkit.output.vt100 import Vt100_Output
        from prompt_toolkit.shortcuts import CompleteStyle

        class TtyOutput(Vt100_Output):
            """Leaves the program's cursor-key and bracketed-paste modes alone (the
            parser understands both forms of every key)."""

            def reset_cursor_key_mode(self) -> None:
                return None

            def enable_bracketed_paste(self) -> None:
                return None

            def disable_bracketed_paste(self) -> None:
                return None

        output = TtyOutput.from_pty(self._out, term=os.environ.get("TERM"))
        output.enable_cpr = False  # (a late reply to prompt-toolkit's own query would reach
        #                             the program: the only queries are the delay's, read here)
        return PromptSession(
            input=create_input(self._in), output=output, history=InMemoryHistory(),
            erase_when_done=True, complete_style=CompleteStyle.READLINE_LIKE,
            reserve_space_for_menu=0, complete_while_typing=False,
            validate_while_typing=False, auto_suggest=AutoSuggestFromHistory(),
            enable_suspend=False, mouse_support=False)

    def _prompt(self, request: AskRequest, interp: Interpreter) -> str | None:
        """Show one prompt; the typed line, a _TIMEOUT/_GONE/_CLOSED marker, or None for
        Ctrl-C / Ctrl-D (refuse this call)."""
        from prompt_toolkit.document import Document
        from prompt_toolkit.input.typeahead import clear_typeahead
        from prompt_toolkit.validation import ValidationError, Validator

        # while the question is being read (read_delay after it is drawn), a key is not an
        # answer to it: one typed to what the screen showed before -- a question the program
        # drew just before the tree stopped -- would land here (CI of 1a51a27: a person
        # answered the program's question, and the real one took the answer).  Whatever is
        # typed meanwhile is dropped; the "systrace> " line shows when keys are taken.
        # A key while it is read starts the half second again (review 51): keys typed on
        # across its end were the tail of a word meant for the old screen -- "deny /tm" then
        # "p", the short form of permit, or "hel" then "p" -- and the line took the tail.
        # Keys are an answer only once none came for read_delay, the question on the screen.
        # And the half second is counted from when the terminal shows the question, not from
        # when it was written (review 51): on a slow line (ssh over a slow link, a serial
        # console) what the program wrote before the stop, and the question after it, reach
        # the screen seconds later, and the delay was over before anyone could see it.  The
        # terminal answers a position query (DSR) after it has drawn all that came before --
        # and the program's own queries, written before the stop, are answered on the way:
        # ours are at places drawn at random (position_queries), whose answers it cannot
        # give in the order asked.
        reading = [self.read_delay > 0]
        last_key = [0.0]  # (time.monotonic() of the last key while reading)
        asked = [False]   # the position queries are written, their answers not all read yet
        expected: list[tuple[int, int]] = []  # (row, column) of each answer, in order
        matched = [0]     # how many of them came, in a row
        unseen = [False]  # no answer within SHOW_WAIT: the question says so

        def drop_early(buffer: Any) -> None:
            if reading[0] and buffer.text:
                buffer.document = Document()

        def note_key(_processor: Any) -> None:
            if reading[0]:
                last_key[0] = time.monotonic()

        class AnswerValidator(Validator):
            def validate(self, document: Any) -> None:
                if reading[0]:  # (Enter while the question is being read: not an answer)
                    raise ValidationError(message="a moment: the question is being read")
                try:
                    interp.parse(document.text)
                except (AnswerError, OfferError) as exc:
                    raise ValidationError(message=str(exc),
                                          cursor_position=len(document.text)) from None

        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.keys import Keys

        bindings = KeyBindings()

        @bindings.add(Keys.CPRResponse, save_before=lambda _event: False)
        def on_screen(event: Any) -> None:
            # an answer to a position query: when ours have all come, in order, the
            # terminal has drawn the question
            if not asked[0]:
                return
            place = _position(event.data)
            if place == expected[matched[0]]:
                matched[0] += 1
            else:
                matched[0] = 1 if place == expected[0] else 0
            if matched[0] == len(expected):
                asked[0] = unseen[0] = False
                last_key[0] = time.monotonic()
                asyncio.get_running_loop().call_later(self.read_delay, take_keys[0])

        take_keys: list[Callable[[], None]] = []

        import asyncio

        def pre_run() -> None:
            app = session.app
            loop = asyncio.get_running_loop()
            self._active = (app, loop, contextvars.copy_context())
            # an answer is to what the screen shows: keys typed before the question is drawn
            # (to what the program drew before the tree stopped, or after an earlier prompt)
            # are not one -- dropped as it is drawn (none is read before)
            clear_typeahead(app.input)

            def drop_typed(_app: Any) -> None:
                app.before_render -= drop_typed
                with contextlib.suppress(termios.error, OSError):
                    termios.tcflush(self.fd, termios.TCIFLUSH)
                if reading[0]:
                    app.after_render += ask_where

            def ask_where(_app: Any) -> None:
                # (after the question is drawn: the answer says it is on the screen)
                app.after_render -= ask_where
                query()

            def query() -> None:
                text, places = position_queries(*self._size())
                expected[:] = places
                matched[0] = 0
                asked[0] = True
                self._write_tty(text)
                loop.call_later(SHOW_WAIT, not_shown)

            def not_shown() -> None:
                # no answer in SHOW_WAIT: the question says so, and asks again from new
                # places -- a window made smaller while the queries were on their way moved
                # the cursor elsewhere (answers that never match); a slow line's answers to
                # the first ones come before these, and these after the question still
                if asked[0]:
                    unseen[0] = True
                    app.invalidate()
                    query()

            def take_keys_now() -> None:
                # the question has been on the screen for read_delay, and no key came for as
                # long: from now on keys are an answer to it.  Keys still in the terminal's
                # queue (not read yet) were typed meanwhile: dropped, and the wait begins
                # again, as for a key read.
                if _queued(self.fd):
                    last_key[0] = time.monotonic()
                quiet = time.monotonic() - last_key[0]
                with contextlib.suppress(termios.error, OSError):
                    termios.tcflush(self.fd, termios.TCIFLUSH)
                if quiet < self.read_delay:
                    loop.call_later(self.read_delay - quiet, take_keys_now)
                    return
                reading[0] = False
                app.current_buffer.validation_error = None  # ("a moment" is over)
                app.invalidate()  # (draws the "systrace> " line)

            take_keys[:] = [take_keys_now]
            app.before_render += drop_typed
            app.key_processor.before_key_press += note_key
            if self.timeout is not None:
                loop.call_later(self.timeout, _exit_app, app, _TIMEOUT)

            def watch() -> None:
                if self._closing:
                    _exit_app(app, _CLOSED)
                elif request.id in self._settled or not _alive(request.tid):
                    _exit_app(app, _GONE)
                else:
                    loop.call_later(_WATCH_INTERVAL, watch)

            loop.call_later(_WATCH_INTERVAL, watch)

        with TerminalLease(self.fd):
            # (made in the lease: prompt-toolkit writes to the terminal as it makes its
            # renderer, and needs the output the lease starts)
            if self._session is None:
                self._session = self._make_session()
            session = self._session
            session.default_buffer.on_text_changed += drop_early
            self._write_tty(KNOWN_STATE)
            self._fresh_line()
            try:
                return session.prompt(
                    lambda: question(request, interp, self._columns(), self._queue.qsize(),
                                     reading=reading[0], unseen=unseen[0]),
                    completer=answer_completer(interp), validator=AnswerValidator(),
                    key_bindings=bindings, pre_run=pre_run, handle_sigint=False,
                    set_exception_handler=False)
            except (KeyboardInterrupt, EOFError):
                return None
            finally:
                if asked[0]:  # (the prompt ended first: Ctrl-C, gone, timeout)
                    self._read_position_answer(expected[-1])
                session.default_buffer.on_text_changed -= drop_early
                session.app.key_processor.before_key_press -= note_key
                with self._pending_lock:
                    self._active = None
                self._write_pending()

    def _read_position_answer(self, last: tuple[int, int]) -> None:
        """Read the terminal's answers to the position queries when the prompt ended before
        they came (up to the ``last``): they would be the program's input.  Waits at most
        SHOW_WAIT seconds; keys typed meanwhile are dropped with them."""
        answer = re.compile(rb"\x1b\[%d;%dR" % last)
        try:
            attrs = termios.tcgetattr(self.fd)
        except termios.error:
            return
        raw: list[Any] = [list(a) if isinstance(a, list) else a for a in attrs]
        raw[3] &= ~(termios.ICANON | termios.ECHO)
        raw[6][termios.VMIN], raw[6][termios.VTIME] = 0, 0
        got = b""
        until = time.monotonic() + SHOW_WAIT
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, raw)
            while not answer.search(got) and time.monotonic() < until:
                ready, _, _ = select.select([self.fd], [], [], until - time.monotonic())
                if not ready:
                    break
                chunk = os.read(self.fd, 256)
                if not chunk:
                    break
                got = got[-64:] + chunk
        except (termios.error, OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def _exit_prompt(self, marker: str) -> None:
        active = self._active
        if active is not None:
            app, loop, _ = active
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_exit_app, app, marker)

    def _size(self) -> tuple[int, int]:
        """The terminal's rows and columns as its pty says (0 x 0 unset: a serial line's;
        24 x 80 when it cannot be read)."""
        try:
            size = os.get_terminal_size(self.fd)
        except OSError:
            return 24, 80
        return size.lines, size.columns

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self.fd).columns or 80
        except OSError:
            return 80

    def _fresh_line(self) -> None:
        """Start at column 0 of a line of our own without knowing where the cursor is: a
        full line of spaces wraps only when the cursor was not at column 0 (zsh's
        PROMPT_SP trick), then return and clear."""
        self._write_tty(" " * self._columns() + "\r\x1b[K")


#: How many position queries follow a question at the least (position_queries), and how
#: many bits of places drawn at random they take together at the least (query_count): the
#: program, which sets the terminal's size, must not be able to have asked from every
#: sequence of places before it was stopped (review 55: at 1 x 1 all were at 1;1).
POSITION_QUERIES = 3
QUERY_BITS = 48
#: The smallest terminal a question is shown on (rows, columns): the size is the program's
#: to set, and a question on 1 x 1 showed as one character (review 55); smaller: refused.
MIN_ROWS, MIN_COLUMNS = 8, 40
#: How long the question waits for that answer before it says so (seconds); it takes no keys
#: until the answer comes (a terminal that never answers: Ctrl-C refuses, --ask-delay 0).
SHOW_WAIT = 5.0

#: How often a showing prompt checks that its process is still there.
_WATCH_INTERVAL = 0.1
#: How long a prompt waits for the tree to stop before it refuses the ask (seconds): see
#: _tree_stopped.
HOLD_WAIT = 10.0


def query_count(rows: int, columns: int) -> int:
    """How many position queries a question on ``rows`` x ``columns`` takes: at least
    POSITION_QUERIES, and enough that their places, drawn at random, make QUERY_BITS."""
    import math

    cells = max(rows, 1) * max(columns, 1)
    return max(POSITION_QUERIES, math.ceil(QUERY_BITS / math.log2(cells)) if cells > 1
               else QUERY_BITS)


def position_queries(rows: int, columns: int, count: int | None = None
                     ) -> tuple[str, list[tuple[int, int]]]:
    """What to write after a question is drawn to learn that it is on the screen: the
    terminal answers a position query (DSR 6: ESC [ row ; col R) once it has drawn all that
    was written before it.  The program may have written queries of its own before it was
    stopped, answered on the way (on a slow line, seconds before ours): so the cursor is put
    at ``count`` places drawn at random first (saved and put back around them), and only
    their answers, in that order, say the question is shown -- the program would have to
    have asked from every sequence of places (rows x columns to the power ``count``).  The
    text, and the (row, column) of each answer.  A size of 0 (a serial line's, unset) is
    taken for 24 x 80: places all at 1;1 would be the program's to answer."""
    import secrets

    rows, columns = (rows if rows > 0 else 24), (columns if columns > 0 else 80)
    count = query_count(rows, columns) if count is None else count
    places = [(1 + secrets.randbelow(rows), 1 + secrets.randbelow(columns))
              for _ in range(count)]
    moves = "".join(f"\x1b[{row};{column}H\x1b[6n" for row, column in places)
    return f"\x1b7{moves}\x1b8", places


def _position(data: str) -> tuple[int, int] | None:
    """The (row, column) of a position answer (ESC [ row ; col R)."""
    found = re.fullmatch(r"\x1b\[(\d+);(\d+)R", data)
    return (int(found[1]), int(found[2])) if found else None


def _queued(fd: int) -> bool:
    """Whether keys wait in the terminal's input queue, not read yet (FIONREAD)."""
    count = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, count)
    except OSError:
        return False
    return count[0] > 0


def _exit_app(app: Any, marker: str) -> None:
    with contextlib.suppress(Exception):
        if app.is_running and not app.future.done():
            app.exit(result=marker)


# =============================================================================================
# What the prompt shows


def question(request: AskRequest, interp: Interpreter, columns: int = 80,
             waiting: int = 0, *, reading: bool = False, unseen: bool = False) -> Any:
    """The prompt's text: who asks, for what, which rule asked, the scopes on offer, how many
    more asks wait behind this one.  Lines are wrapped to the terminal's width here (the
    prompt would cut them); what the program chose is shown printable (``terminal``).
    While the question is being ``reading`` (READ_DELAY), no "systrace> " line: no key is
    taken yet; ``unseen``: the terminal has not said it shows the question (position_queries)."""
    from prompt_toolkit.formatted_text import FormattedText

    width = max(columns - 1, 20)
    parts: list[tuple[str, str]] = []

    def line(*items: tuple[str, str], indent: int = 9) -> None:
        # every text spelled printable: prompt-toolkit shows an escape as ^[ but draws a line
        # feed in a name as a line break -- a line of the question the program wrote (a
        # second "call" line about a decoy: red team 13b), and passes bidi overrides through
        parts.extend(wrap_segments([(style, printable(text)) for style, text in items],
                                   width, indent))
        parts.append(("", "\n"))

    who = f"pid {request.pid}" + (f" thread {request.tid}" if request.tid != request.pid else "")
    parent = f"parent {request.ppid}" + (f" {request.parent_program}"
                                         if request.parent_program else "")
    queued = f"   [{waiting} more waiting]" if waiting > 0 else ""
    line(("bold", "systrace: "), ("bold ansiyellow", f"{request.program}"),
         ("", f"  ({who}, {parent}) asks"), ("ansibrightblack", queued))
    if request.argv is not None:
        line(("", "  argv   "), ("", shlex.join(request.argv)))
    line(("", "  call   "), ("bold", request.syscall), ("", "  " + format_args(request.args)))
    line(("", "  asked  "), ("", asked_by(request)))
    # the scopes, wrapped between entries (an entry is cut only when it alone is too long)
    entries: list[list[tuple[str, str]]] = [[("", f"({', '.join(interp.calls)})")]]
    for n, offer in enumerate(interp.offers, 1):
        shown = offer.shown if offer.key != "any" else f"({offer.label})"
        entry = [("bold", f"{n} {offer.key}"), ("", f" {shown}")]
        if offer.sensitive:
            entry.append(("ansired", " (!)"))
        elif offer.runs_later:
            entry.append(("ansiyellow", " (runs later)"))
        entries.append(entry)
    if interp.burst:
        entries.append([("bold", BURST), ("", f" ({interp.burst_label()})")])
    row: list[tuple[str, str]] = [("", "  scope  ")]
    used = 9
    for entry in entries:
        size = sum(len(text) for _, text in entry)
        if used > 9 and used + 3 + size > width:
            line(*row)
            row, used = [("", " " * 9)], 9
        if used > 9:
            row.append(("", "   "))
            used += 3
        row.extend(entry)
        used += size
    line(*row)
    verbs = ("permit | deny[ERRNO]  [scope] [for process|program|all]   permit-now  deny-now  kill"
             "  abort")
    if interp.allow_detach:
        verbs += "  detach"
    line(("ansibrightblack", f"  answer {verbs}   ? help"))
    if unseen:
        line(("ansibrightblack", "  (the terminal has not said it shows this question: no key is "
                                 "taken until it does; Ctrl-C refuses the call, --ask-delay 0 "
                                 "takes keys at once)"))
    if not reading:
        parts.append(("bold", "systrace> "))
    return FormattedText(parts)


def wrap_segments(segments: list[tuple[str, str]], width: int, indent: int
                  ) -> list[tuple[str, str]]:
    """Styled text wrapped at spaces to ``width`` columns; continuation lines indented.  A
    word longer than a line is cut (a long path must not push the prompt off the screen)."""
    words: list[tuple[str, str]] = []
    for style, text in segments:
        for piece in re.split(r"( +)", text):
            if piece:
                words.append((style, piece))
    out: list[tuple[str, str]] = []
    column = 0
    wrapped = False
    for style, word in words:
        if word.isspace():
            if (column == 0 and not wrapped) or (column and column + len(word) < width):
                out.append((style, word))
                column += len(word)
            continue
        if column and column + len(word) > width:
            while out and out[-1][1].isspace():
                out.pop()
            out.append(("", "\n" + " " * indent))
            column = indent
            wrapped = True
        while column + len(word) > width:
            room = max(width - column, 1)
            out.append((style, word[:room]))
            out.append(("", "\n" + " " * indent))
            word = word[room:]
            column = indent
            wrapped = True
        out.append((style, word))
        column += len(word)
    return out


def format_args(args: Mapping[str, object]) -> str:
    """The decoded arguments, as words: ``path /x (given as x)  flags O_RDONLY``."""
    out = []
    for key, value in args.items():
        if key.endswith("_as_given"):
            continue
        if isinstance(value, list):
            text = shlex.join(str(v) for v in value) if key == "argv" else \
                ", ".join(map(str, value))
        else:
            text = str(value)
        given = args.get(f"{key}_as_given")
        if given is not None:
            text += f" (given as {given})"
        out.append(f"{key} {text}")
    return "  ".join(out)


def asked_by(request: AskRequest) -> str:
    """Which rule asked (or the table's default)."""
    decision = request.decision
    if decision.reason == Reason.LINKED:
        linked = linked_names(request)
        held = decision.arg.path if decision.arg is not None else "the file"
        named = f" {linked[1]}" if linked is not None else ""
        return (f"table {decision.table}: the new name{named} would hold the file of {held}"
                " and permit what its own name only asks about, or ask about it by the new"
                " name alone (a link or rename gives the file its new name's access)")
    if decision.rule is None:
        return f"the default of table {decision.table} (ask)"
    return f"{decision.rule.label()}: {rule_text(decision.rule)}  [table {decision.table}]"


def help_text(interp: Interpreter, width: int | None = None) -> str:
    """The vocabulary, and the scopes for this request in words; wrapped at spaces to
    ``width`` columns when given (as the question is: the terminal would cut words), a
    continuation indented under the line's description."""
    lines = [
        "answers (type one, then Enter; Tab completes, Up recalls):",
        "  permit [SCOPE] [for REACH]        permit, and add a rule (remembered)",
        "  deny[ERRNO] [SCOPE] [for REACH]   refuse (default errno: the asking rule's), "
        "add a rule",
        "  permit-now | once | pn            permit this call only",
        "  deny-now[ERRNO] | dn              refuse this call only",
        "  kill | k                          kill the asking process",
        "  abort                             end the run: kill every traced process",
    ]
    if interp.allow_detach:
        lines.append("  detach                            stop checking this process "
                     "(its calls all run, still traced)")
    lines += [
        "  Ctrl-C, Ctrl-D                    refuse this call only",
        f"  REACH: process, program or all (default {DEFAULT_REACH}); program and all "
        "answers are saved into the policy file at the end",
        "  SCOPE: a number or word from the list, or a glob of your own (/tmp/**, ~/src/*.c):",
    ]
    for n, offer in enumerate(interp.offers, 1):
        warn = "  (covers sensitive files)" if offer.sensitive else \
            "  (covers names run later: hooks, makefiles, package.json...)" \
            if offer.runs_later else ""
        shown = "" if offer.key == "any" else f"  {offer.shown}"
        lines.append(f"    {n} {offer.key:5} {offer.label}{shown}{warn}")
    if interp.burst:
        lines.append(f"    {BURST}   {interp.burst_label()}: the calls one action makes on a "
                     "file (stat, access, open...) ask once; not remembered")
    if width is not None:
        lines = [_wrap_help_line(line, max(width, 20)) for line in lines]
    return "\n".join(lines) + "\n"


def _wrap_help_line(line: str, width: int) -> str:
    """One help line wrapped to ``width``: continuations start under its description (the
    text after the first gap of two spaces), or two columns in when that is too far right."""
    if len(line) <= width:
        return line
    lead = len(line) - len(line.lstrip(" "))
    gap = re.match(r" *\S.*?  +", line)
    indent = gap.end() if gap is not None and gap.end() <= width // 2 else lead + 2
    return "".join(text for _, text in wrap_segments([("", line)], width, indent))


class AnswerCompleterBase:
    """Words that fit where the cursor is (built into a prompt-toolkit Completer)."""

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp

    def words(self, before: str) -> tuple[list[str], str]:
        """Candidates for the word being typed, and that word."""
        tokens = before.split()
        current = "" if not tokens or before.endswith((" ", "\t")) else tokens[-1]
        done = tokens if current == "" else tokens[:-1]
        if not done:
            verbs = [v for v in VERBS if v != "detach" or self.interp.allow_detach]
            return [*verbs, "deny[EACCES]", "deny-now[EACCES]"], current
        verb = ABBREVIATIONS.get(done[0].split("[")[0].lower(), done[0].split("[")[0].lower())
        if verb not in ("permit", "deny"):
            return [], current
        if done[-1].lower() == "for":
            return list(REACHES), current
        burst = [BURST] if self.interp.burst else []
        return [o.key for o in self.interp.offers] + burst + ["for"] + list(REACHES), current


def _completer_class() -> type:
    from prompt_toolkit.completion import Completer, Completion

    class _AnswerCompleter(AnswerCompleterBase, Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Iterator[Any]:
            candidates, current = self.words(document.text_before_cursor)
            for word in candidates:
                if word.lower().startswith(current.lower()):
                    yield Completion(word, start_position=-len(current))

    return _AnswerCompleter


def answer_completer(interp: Interpreter) -> Any:
    """A prompt-toolkit completer for one request's answers."""
    return _completer_class()(interp)
