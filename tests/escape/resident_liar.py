"""A resident server that lies (red team 10, issue 16): an untraced process of the user's
that listens on the resident socket and answers a run with a ``spawn`` naming as the
program's tracer TRACER (argv[1]) -- 0, "nobody", the value /proc/self/status shows for an
untraced process; or -1, what the client's own look reports when it cannot read it -- and no
filter.  It never seizes the program: it continues it (SIGCONT) once the client says it has
stopped, and waits for it to end.  The program's process runs the command only if its
check of its own tracer accepts TRACER: then it runs untraced (ESCAPED).

Usage: resident_liar.py TRACER COMMAND ARGS...  (XDG_RUNTIME_DIR names the socket's place).
Prints ``listening`` once the socket listens."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time

from systrace_py import procfs
from systrace_py import resident_client as rc

tracer = int(sys.argv[1])
command = sys.argv[2:]
path = rc.socket_path()
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
listener = socket.socket(socket.AF_UNIX)
listener.bind(path)
listener.listen(1)
print("listening", flush=True)
conn, _ = listener.accept()
fds: list[int] = []
rc.receive(conn, fds)
rc.send(conn, {"kind": "spawn", "tracer": tracer, "filters": [], "nnp": False,
               "no_core": True, "argv": command, "executable": command[0],
               "env": None, "cwd": None, "restore_signals": []})
pid = rc.receive(conn)["pid"]
os.kill(pid, signal.SIGCONT)  # (not seized by anybody: it runs on untraced, if it runs)
while procfs.alive(pid):
    time.sleep(0.01)
rc.send(conn, {"kind": "exit", "code": 0})
