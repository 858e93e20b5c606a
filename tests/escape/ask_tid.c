/* ask_tid.c: an answer given for one call, applied to another (red team 8).
 *
 * An ask parks the asking task; the answer comes back keyed by its tid.  When a thread that is
 * not the leader execs, the kernel kills the other threads -- the leader too, parked or not --
 * and the exec'ing thread takes the leader's tid.  So while the leader waits for an answer
 * about a harmless file, a sibling thread execs this program again, whose first call asks
 * about the secret; the person answers the first question (permit: the harmless file) and then
 * the second (deny).  Natively both opens simply work (the control).
 *
 *   ask_tid first SECRET DECOY   the leader opens DECOY (asked); a thread execs "second"
 *   ask_tid second SECRET DECOY  (after the exec) opens SECRET: the secret or refused
 */
#include "attack.h"

static char *self_secret, *self_decoy;
static volatile int opened;  /* the leader's open returned: it was not asked, or answered */

/* The leader's state letter ('t': stopped by its tracer -- parked on its ask). */
static char leader_state(void) {
    char name[64], text[512];
    snprintf(name, sizeof name, "/proc/self/task/%d/stat", getpid());
    int fd = open(name, O_RDONLY);
    if (fd < 0) return '?';
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return '?';
    text[n] = 0;
    char *end = strrchr(text, ')');
    return end && end[1] == ' ' ? end[2] : '?';
}

static void *execer(void *unused) {
    (void)unused;
    /* under a tracer: until the leader waits for its answer (at most 10 s) -- or, its open
     * not asked about (a policy with no ask), sleeps in pause() after it, as it would once
     * the 10 s were over (trim78: a test of such a policy waited them whole) */
    if (tracer_pid() > 0) {
        double until = now_s() + 10;
        while (leader_state() != 't' && !(opened && leader_state() == 'S') && now_s() < until)
            usleep(2000);
    } else {
        usleep(20000);
    }
    char *argv[] = {"ask_tid", "second", self_secret, self_decoy, NULL};
    execv("/proc/self/exe", argv);
    blocked("exec: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 4) usage("ask_tid first|second SECRET DECOY");
    self_secret = argv[2];
    self_decoy = argv[3];
    if (strcmp(argv[1], "second") == 0) {
        int fd = open(self_secret, O_RDONLY);
        if (fd >= 0 && is_secret_fd(fd))
            escaped("the open of the secret ran on the answer given for %s", self_decoy);
        blocked("secret: %s", fd < 0 ? ename(errno) : "not the secret");
    }
    pthread_t t;
    if (pthread_create(&t, NULL, execer, NULL) != 0) blocked("pthread_create failed");
    int fd = open(self_decoy, O_RDONLY);  /* asked: the leader is parked here */
    note("decoy: %s", fd < 0 ? ename(errno) : "opened");
    opened = 1;
    for (;;) pause();  /* (the thread's exec ends this image) */
}
