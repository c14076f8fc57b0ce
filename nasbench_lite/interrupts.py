"""Ctrl-C in long commands: held back over the moments that must not be cut (a file being
replaced), or only noted where an exception would land in native code or in a process pool.

Python turns SIGINT into a KeyboardInterrupt raised in the main thread at the next bytecode,
wherever that is: between a temporary file and its rename, inside a pool's bookkeeping, or
on return from a native call whose threads are still running. The two helpers here let the
caller choose the moment instead.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


RETRY_SECONDS = 0.05


def _in_gc_callback(frame: Any) -> bool:
    """Whether `frame` runs inside a garbage-collector callback (or something it called)."""
    codes = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    codes.discard(None)
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def raise_interrupt(signum: int, frame: Any) -> None:
    """SIGINT handler: KeyboardInterrupt, as Python's own handler. A Ctrl-C that lands inside
    a garbage-collector callback (JAX registers one, and runs it often while it is imported)
    would be discarded there, so the run would go on: it is sent again RETRY_SECONDS later."""
    if frame is not None and _in_gc_callback(frame):
        retry = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signum))
        retry.daemon = True
        retry.start()
        return
    raise KeyboardInterrupt


def install_interrupt_handler() -> None:
    """Use `raise_interrupt` for Ctrl-C where Python's own handler is in place (in the main
    thread; an ignored or custom SIGINT is left as it is)."""
    if _in_main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, raise_interrupt)


class InterruptFlag:
    """While active (``with InterruptFlag() as flag``), Ctrl-C sets `flag.is_set` instead of
    raising; the caller checks it when it can stop cleanly. Off the main thread, or where
    SIGINT is ignored (a worker process), it never sets."""

    def __init__(self) -> None:
        self.is_set = False
        self._previous: Any = None
        self._active = False

    def _note(self, signum: int, frame: Any) -> None:
        self.is_set = True

    def __enter__(self) -> InterruptFlag:
        if _in_main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._note)
            self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active:
            # None: a handler installed outside Python; Python's own is the sensible default.
            # SIG_DFL (falsy: it is 0) is restored as it was: Ctrl-C ends the process.
            previous = self._previous
            if previous is None:
                previous = signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
            self._active = False

    @property
    def previous(self) -> Callable | Any:
        """The SIGINT handler that was in place before the flag (restored on exit)."""
        return self._previous


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block and act on it when the block ends (raise
    KeyboardInterrupt, or call the handler that was in place). Off the main thread the block
    runs unchanged: only the main thread receives signals."""
    with InterruptFlag() as flag:
        yield
    if flag.is_set:
        previous = flag.previous
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signal.SIGINT, None)
        elif previous == signal.SIG_DFL:  # restored by the flag: the signal's own action
            os.kill(os.getpid(), signal.SIGINT)
        else:
            raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread for the block (POSIX): a signal that arrives is delivered
    when the block ends, and the processes started inside the block begin with it blocked
    too (the mask survives fork and exec), so they can choose to ignore it before any
    Ctrl-C reaches them. Elsewhere the block runs unchanged."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
