/* ask_flow.c: the terminal's output stopped before an ask (red team 10).
 *
 * tcflow(TCOOFF) on the terminal (fd 0): the line discipline then holds every write to it --
 * the program's, and the prompt's on /dev/tty -- until output is started again (TCOON, or
 * ^Q with IXON, which the program clears first).  Then it opens ASKED (the policy asks: a
 * prompt).  The prompt's first write blocked, with the whole tree held for it: nothing
 * showed, no answer or --ask-timeout could come, the run hung for good.  Fixed: the prompt
 * starts output before it writes (TerminalLease).  After the answer the program starts output
 * itself and prints how its open ended.
 *
 *   ask_flow ASKED
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ask_flow ASKED\n");
        return 2;
    }
    struct termios t;
    if (tcgetattr(0, &t) == 0) {
        t.c_iflag &= ~(IXON | IXANY);  /* no ^Q restarts it */
        tcsetattr(0, TCSANOW, &t);
    }
    if (tcflow(0, TCOOFF) != 0) {
        printf("SKIPPED: tcflow: %s\n", strerror(errno));
        return 0;
    }
    int fd = open(argv[1], O_RDONLY);
    int err = errno;
    tcflow(0, TCOON);
    printf("open -> %s\n", fd >= 0 ? "ok" : strerror(err));
    return 0;
}
