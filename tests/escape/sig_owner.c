/* sig_owner.c MODE VICTIM: have the kernel signal a process outside the traced tree (VICTIM,
 * a sleeper the test started in a session of its own) on the program's behalf, under a policy
 * whose only permit of signal calls is tree-scoped (target = "tree":
 * tests/escape/test_escape_sig_owner.py).  No signal call is made: the victim is made a
 * descriptor's owner, F_SETSIG names SIGKILL, O_ASYNC is set, and a write makes I/O possible
 * -- the kernel sends the owner the signal (send_sigio; it checks only that the uid that set
 * the owner may signal it).  ESCAPED when the victim ended.
 *
 *   setown      fcntl(F_SETOWN, victim) on a pipe's read end
 *   setown_pgrp fcntl(F_SETOWN, -victim's pgid) on a pipe's read end
 *   setown_ex   fcntl(F_SETOWN_EX, {F_OWNER_PID, victim})
 *   setown_tid  fcntl(F_SETOWN_EX, {F_OWNER_TID, victim})
 *   setown_grp  fcntl(F_SETOWN_EX, {F_OWNER_PGRP, victim's pgid})
 *   fiosetown   ioctl(FIOSETOWN, &victim) on a socket of a socketpair
 *   siocspgrp   ioctl(SIOCSPGRP, &-victim's pgid) on a socket
 *
 *   tty TERMINAL, ttyioctl TERMINAL   no owner set at all: O_ASYNC turned on (F_SETFL;
 *               ioctl FIOASYNC) for a terminal the program opened, the controlling terminal of
 *               the victim's session -- the kernel makes its foreground group (the victim's)
 *               the owner of a file that has none (tty_fasync); a line typed there (the test
 *               types one every 50 ms) and the victim gets SIGKILL
 *   ttyowned TERMINAL   the same after F_SETOWN getpid(): the file has an owner, which
 *               O_ASYNC keeps (never escapes: the same traced as alone)
 *   ttyswap TERMINAL    O_ASYNC turned on for a descriptor number at which a second thread
 *               puts, by turns, a pipe's read end and the terminal (dup2): checked while it
 *               is the pipe (no owner to decide), made while it is the terminal -- tried
 *               until the terminal's file has an owner (or SWAP_TRIES times)
 *
 * "self" (VICTIM ignored): what programs do -- the owner set to the program itself
 * (F_SETOWN getpid(), F_SETOWN_EX of its own thread; O_ASYNC on a pty of its own, which no
 * session has), to a child of its own, and to its own process group (one it makes: the one it starts in holds systrace), each with F_SETSIG
 * SIGUSR1 and O_ASYNC; prints each result and whether the signal came.  The same traced as
 * alone: none of these reaches a process outside the tree.
 */
#include "attack.h"

#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static pid_t victim;
static volatile sig_atomic_t got;

static void own_terminal(int session);

static int victim_ended(void) { return process_ended(victim); }

static int victim_ends_soon(void) { return process_ends_soon(victim); }

/* the owner of fds[0] set to `who` by MODE; -1 and errno when refused */
static int set_owner(const char *mode, int fd, pid_t who, pid_t group) {
    if (!strcmp(mode, "setown"))
        return fcntl(fd, F_SETOWN, who);
    if (!strcmp(mode, "setown_pgrp"))
        return fcntl(fd, F_SETOWN, -group);
    if (!strcmp(mode, "setown_ex") || !strcmp(mode, "setown_tid") || !strcmp(mode, "setown_grp")) {
        struct f_owner_ex owner = {F_OWNER_PID, who};
        if (!strcmp(mode, "setown_tid"))
            owner.type = F_OWNER_TID;
        if (!strcmp(mode, "setown_grp"))
            owner = (struct f_owner_ex){F_OWNER_PGRP, group};
        return fcntl(fd, F_SETOWN_EX, &owner);
    }
    if (!strcmp(mode, "fiosetown"))
        return ioctl(fd, FIOSETOWN, &who);
    if (!strcmp(mode, "siocspgrp")) {
        pid_t negative = -group;
        return ioctl(fd, SIOCSPGRP, &negative);
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    exit(2);
}

static int is_socket_mode(const char *mode) {
    return !strcmp(mode, "fiosetown") || !strcmp(mode, "siocspgrp");
}

/* two connected descriptors: fds[0] gets the owner and O_ASYNC, a write to fds[1] makes it
 * readable */
static void channel(const char *mode, int fds[2]) {
    if (is_socket_mode(mode) ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
        skipped("pipe/socketpair: %s", ename(errno));
}

/* F_SETSIG sig, O_ASYNC on fds[0], then a byte written to fds[1] */
static int arm_and_fire(int fds[2], int sig) {
    if (fcntl(fds[0], F_SETSIG, sig) < 0)
        return -1;
    if (fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_ASYNC) < 0)
        return -1;
    return write(fds[1], "x", 1) == 1 ? 0 : -1;
}

static void on_usr1(int sig) {
    (void)sig;
    got = 1;
}

/* one owner of the program's own: its result and whether SIGUSR1 came to us (waited for up
 * to 5 s: traced at load 12-20, the tracer took over 100 ms to deliver it -- trim66's
 * "SIGUSR1 did not come"; a refused owner waits for nothing) */
static void own(const char *what, const char *mode, pid_t who, pid_t group) {
    int fds[2];
    channel(mode, fds);
    got = 0;
    int rc = set_owner(mode, fds[0], who, group);
    int err = errno;
    if (rc == 0)
        arm_and_fire(fds, SIGUSR1);
    for (int i = 0; i < 5000 && !got && rc == 0; i++)
        usleep(1000);
    printf("%s %s: %s, SIGUSR1 %s\n", what, mode, rc < 0 ? ename(err) : "ok",
           got ? "came" : "did not come");
    close(fds[0]);
    close(fds[1]);
}

static void self_owners(void) {
    signal(SIGUSR1, on_usr1);
    pid_t me = getpid();
    own("self", "setown", me, 0);
    own("self", "setown_ex", me, 0);
    own("self", "setown_tid", (pid_t)syscall(SYS_gettid), 0);
    own("self", "fiosetown", me, 0);
    own_terminal(0);
    own_terminal(1);
    if (getpgrp() != me && setpgid(0, 0) < 0) /* (a session leader leads its group) */
        skipped("setpgid: %s", ename(errno));
    own("group", "setown_pgrp", 0, me);
    own("group", "setown_grp", 0, me);
    own("group", "siocspgrp", 0, me);
    /* a child of ours (the owner is only set; the child ends when its pipe closes: the
     * table may refuse every signal call) */
    int hold[2];
    if (pipe(hold) < 0)
        skipped("pipe: %s", ename(errno));
    pid_t child = fork();
    if (child == 0) {
        char byte;
        close(hold[1]);
        _exit(read(hold[0], &byte, 1) < 0);
    }
    close(hold[0]);
    int fds[2];
    channel("setown", fds);
    int rc = fcntl(fds[0], F_SETOWN, child);
    printf("child setown: %s\n", rc < 0 ? ename(errno) : "ok");
    close(hold[1]);
    waitpid(child, NULL, 0);
    printf("DONE\n");
    exit(0);
}

#define SWAP_FD 100
#define SWAP_TRIES 3000
static int swap_pipe, swap_tty;
static volatile int swapping = 1, swaps;

static void *swapper(void *unused) {
    (void)unused;
    for (; swapping; swaps++) {  /* (each about as long at the number: a short spin after each) */
        dup2(swap_tty, SWAP_FD);
        for (volatile int i = 0; i < 20000; i++) {}
        dup2(swap_pipe, SWAP_FD);
        for (volatile int i = 0; i < 20000; i++) {}
    }
    return NULL;
}

/* ttyswap: the terminal's file (F_SETSIG SIGKILL) and a pipe's by turns at SWAP_FD */
static void terminal_swap(int tty) {
    int fds[2];
    pthread_t thread;
    if (pipe(fds) < 0 || dup2(fds[0], SWAP_FD) < 0)
        skipped("pipe: %s", ename(errno));
    swap_pipe = fds[0];
    swap_tty = tty;
    if (pthread_create(&thread, NULL, swapper, NULL))
        skipped("pthread_create");
    int tries = 0, refused = 0;
    struct f_owner_ex owner = {0, 0};
    while (!swaps) {}  /* (the swapper runs) */
    while (tries++ < SWAP_TRIES && !owner.pid) {
        if (fcntl(SWAP_FD, F_SETFL, O_ASYNC) < 0)
            refused++;
        fcntl(tty, F_GETOWN_EX, &owner);
        for (volatile int i = 0; i < 7000; i++) {}  /* (a try now and then, not all at once) */
    }
    swapping = 0;
    pthread_join(thread, NULL);
    for (int i = 0; i < 5 && !victim_ended(); i++)
        victim_ends_soon();
    if (victim_ended())
        escaped("ttyswap: the kernel sent SIGKILL to pid %d, owner %d (%d tries)", victim,
                owner.pid, tries);
    blocked("ttyswap: the victim lives (owner %d; %d tries, %d refused)", owner.pid, tries - 1,
            refused);
}

/* O_ASYNC on the terminal, with F_SETSIG SIGKILL first: no owner named */
static void terminal(const char *mode, const char *path) {
    int fd = open(path, O_RDWR | O_NOCTTY);
    if (fd < 0)
        skipped("open %s: %s", path, ename(errno));
    if (!strcmp(mode, "ttyswap")) {
        if (fcntl(fd, F_SETSIG, SIGKILL) < 0)
            skipped("F_SETSIG: %s", ename(errno));
        terminal_swap(fd);
    }
    int owned = !strcmp(mode, "ttyowned"); /* (then the signal is ours: SIGUSR1) */
    if (owned)
        signal(SIGUSR1, on_usr1);
    if (fcntl(fd, F_SETSIG, owned ? SIGUSR1 : SIGKILL) < 0)
        skipped("F_SETSIG: %s", ename(errno));
    if (owned && fcntl(fd, F_SETOWN, getpid()) < 0)
        skipped("F_SETOWN: %s", ename(errno));
    int on = 1;
    int rc = strcmp(mode, "ttyioctl") ? fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC)
                                      : ioctl(fd, FIOASYNC, &on);
    int err = errno;
    for (int i = 0; i < 5 && !victim_ended(); i++)
        victim_ends_soon();
    int owner = fcntl(fd, F_GETOWN);
    if (victim_ended())
        escaped("%s: the kernel sent SIGKILL to pid %d, owner %d", mode, victim, owner);
    blocked("%s: %s, the victim lives (owner %s%s)", mode, rc < 0 ? ename(err) : "O_ASYNC set",
            owner == getpid() ? "ourselves" : owner ? "another" : "none",
            got ? ", SIGUSR1 came" : "");
}

/* a terminal of our own: no session has it (O_ASYNC makes us its owner), or, with
 * `session`, a child's new session has it as its controlling terminal (O_ASYNC makes the
 * child's group, its foreground group, the owner: a group of the tree) */
static void own_terminal(int session) {
    if (session) {
        fflush(stdout);
        pid_t child = fork();
        if (child > 0) {
            waitpid(child, NULL, 0);
            return;
        }
        if (setsid() < 0)
            skipped("setsid: %s", ename(errno));
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        skipped("posix_openpt: %s", ename(errno));
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave < 0)
        skipped("open %s: %s", ptsname(master), ename(errno));
    if (session && ioctl(slave, TIOCSCTTY, 0) < 0)
        skipped("TIOCSCTTY: %s", ename(errno));
    got = 0;
    fcntl(slave, F_SETSIG, SIGUSR1);
    int rc = fcntl(slave, F_SETFL, fcntl(slave, F_GETFL) | O_ASYNC);
    int err = errno;
    if (write(master, "x\n", 2) != 2)
        skipped("write: %s", ename(errno));
    for (int i = 0; i < 5000 && !got && rc == 0; i++)
        usleep(1000);
    int owner = fcntl(slave, F_GETOWN);
    printf("terminal%s O_ASYNC: %s, owner %s, SIGUSR1 %s\n", session ? " of a session" : "",
           rc < 0 ? ename(err) : "ok",
           owner == getpid() ? "ourselves" : owner == -getpgrp() ? "our group" : "another",
           got ? "came" : "did not come");
    if (session) {
        fflush(stdout);
        _exit(0);
    }
    close(slave);
    close(master);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODE VICTIM [TERMINAL]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "self"))
        self_owners();
    victim = (pid_t)atoi(argv[2]);
    if (argc == 4)
        terminal(mode, argv[3]);
    pid_t group = getpgid(victim);
    int fds[2];
    channel(mode, fds);
    int rc = set_owner(mode, fds[0], victim, group);
    int err = errno;
    if (rc == 0 && arm_and_fire(fds, SIGKILL) < 0)
        skipped("F_SETSIG/O_ASYNC/write: %s", ename(errno));
    if (victim_ends_soon())
        escaped("%s: the kernel sent SIGKILL to pid %d", mode, victim);
    blocked("%s: %s, the victim lives", mode, rc < 0 ? ename(err) : "owner set");
}
