"""A terminal at the end of a slow line (ssh over a slow link, a serial console): runs a
command on a pty of its own; keys go to it at once, what it writes is read at once (as sshd
reads it) and passed on at RATE bytes a second.  ``slow_line.py RATE COMMAND...``; exits with
the command's status.  ``slow_line.py RATE --mute COMMAND...``: a terminal that does not answer
a position query (its query is not passed on)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import sys
import termios
import time
import tty


def main() -> int:
    rate, command = float(sys.argv[1]), sys.argv[2:]
    mute = command[:1] == ["--mute"]
    if mute:
        command = command[1:]
    size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
    pid, master = pty.fork()
    if pid == 0:  # (the pty is the command's controlling terminal, as wide as ours)
        fcntl.ioctl(0, termios.TIOCSWINSZ, size)
        os.execvp(command[0], command)
    def resized(_signum: int, _frame: object) -> None:  # (the command's terminal too)
        fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))

    signal.signal(signal.SIGWINCH, resized)
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    backlog = bytearray()
    tick = 0.02
    open_ = True
    try:
        while open_ or backlog:
            ready, _, _ = select.select([0, master] if open_ else [0], [], [],
                                        0 if backlog else tick)
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # (EIO: the command and its children closed the pty)
                    data = b""
                if data:
                    backlog += data
                    if mute:
                        backlog[:] = backlog.replace(b"\x1b[6n", b"")
                else:
                    open_ = False
            if 0 in ready:
                keys = os.read(0, 1024)
                if keys and open_:
                    os.write(master, keys)
            step = max(1, int(rate * tick))
            if backlog:
                os.write(1, bytes(backlog[:step]))
                del backlog[:step]
                time.sleep(tick)
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
