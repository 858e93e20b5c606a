/* attach_vintr: make the terminal `systrace --attach` runs on send it SIGINT -- which detaches
 * the attached tree -- with no signal call of the tree's (red team 59).  The terminal's line
 * settings are anybody's who may open it: the interrupt character is set to 'R', the last byte
 * of the cursor position report (ESC [ row ; col R) that a terminal emulator types into the
 * line when a program writes ESC [ 6 n to it.  The line then takes the reply for ^C and
 * sends SIGINT to its foreground job: systrace.  Once its tracer has let it go, the program
 * reads the secret.
 *
 *   attach_vintr SECRET TTY after    (TTY: the terminal whose foreground job is systrace)
 *   attach_vintr SECRET TTY before   (the line set before the attach, while untraced: once
 *                                     attached it only writes ESC [ 6 n)
 *
 * With $ESC_THREAD a second thread is alive (the call then runs frozen when permitted).
 *
 * Natively (no tracer) it makes the terminal's foreground job get SIGINT all the same (the
 * test's control looks at that job) and reads the secret.  The line's settings are put back
 * at the end.
 */
#include "attack.h"
#include <termios.h>

int main(int argc, char **argv) {
    if (argc < 4)
        usage("attach_vintr SECRET TTY after|before");
    int before = strcmp(argv[3], "before") == 0;
    idle_thread_if_asked();
    int fd = open(argv[2], O_RDWR | O_NOCTTY);
    if (fd < 0)
        blocked("open %s: %s", argv[2], ename(errno));
    struct termios was, t;
    if (tcgetattr(fd, &was) < 0)
        blocked("tcgetattr: %s", ename(errno));
    t = was;
    t.c_lflag |= ISIG;
    t.c_cc[VINTR] = 'R';
    if (before && tcsetattr(fd, TCSANOW, &t) < 0)
        blocked("tcsetattr: %s", ename(errno));
    wait_for_tracer();
    int traced = tracer_pid() > 0;
    if (!before && tcsetattr(fd, TCSANOW, &t) < 0) {
        int e = errno;
        int s = open(argv[1], O_RDONLY);
        blocked("tcsetattr: %s (the secret: %s)", ename(e),
                s >= 0 && is_secret_fd(s) ? "read!" : ename(errno));
    }
    note("the line's interrupt character is 'R'");
    for (int i = 0; i < 30; i++) {
        if (write(fd, "\033[6n", 4) < 0)
            note("write: %s", ename(errno));
        usleep(100000);
        if (traced ? tracer_pid() == 0 : i >= 4)
            break;
    }
    tcsetattr(fd, TCSANOW, &was);
    note("traced by %d", tracer_pid());
    int s = open(argv[1], O_RDONLY);
    if (s >= 0 && is_secret_fd(s))
        escaped("read the secret%s", traced ? " after its tracer detached" : "");
    blocked("open the secret: %s", s < 0 ? ename(errno) : "not the secret");
}
