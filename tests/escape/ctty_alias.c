/* ctty_alias.c NAME: read what was typed on the controlling terminal through NAME, a device
 * file that stands for another terminal -- /dev/tty is the opener's controlling terminal,
 * whichever it is (the kernel's tty_open_current_tty).  The program holds no descriptor of
 * that terminal (its stdin is /dev/null, its stdout and stderr pipes): started by someone
 * whose terminal it is (`systrace -p policy prog </dev/null >log`), it is in that terminal's
 * session all the same.  A policy that refuses the terminal by its name (`never` on
 * /dev/pts/N) was decided on the name "/dev/tty", which no rule names (red team 63).
 *
 * ctty_alias.c NAME TERMINAL: the program has no controlling terminal and may only write
 * TERMINAL (`never` fsread of it): it opens TERMINAL write-only, and a child of its own
 * session makes it its controlling terminal (TIOCSCTTY works on a descriptor of any access
 * mode), then reads through NAME.
 *
 * The test types a line holding SECRET_MAGIC on the terminal before the run; the program
 * opens NAME with plain O_RDONLY (the flags the native loop decides itself), makes it
 * non-blocking (the line is there: nothing waits) and reads it. */
#include "attack.h"

#include <sys/ioctl.h>

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "/dev/tty";
    if (argc > 2) {
        int term = open(argv[2], O_WRONLY | O_NOCTTY);
        if (term < 0) blocked("open %s for writing: %s", argv[2], ename(errno));
        pid_t child = fork();
        if (child < 0) blocked("fork: %s", ename(errno));
        if (child > 0) {
            int status;
            waitpid(child, &status, 0);
            return 0;  /* (the child's verdict) */
        }
        if (setsid() < 0) blocked("setsid: %s", ename(errno));
        if (ioctl(term, TIOCSCTTY, 0) < 0) blocked("TIOCSCTTY: %s", ename(errno));
        close(term);
    }
    int fd = open(name, O_RDONLY);
    if (fd < 0) blocked("open %s: %s", name, ename(errno));
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) blocked("F_SETFL: %s", ename(errno));
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) blocked("read %s: %s", name, ename(errno));
    buf[n] = 0;
    if (strstr(buf, SECRET_MAGIC)) escaped("read the line typed on the terminal through %s", name);
    blocked("read %zd bytes through %s, not the line", n, name);
}
