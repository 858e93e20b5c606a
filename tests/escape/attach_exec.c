/* attach_exec.c: red team 12 -- a thread that execs while `systrace --attach` seizes its
 * process's threads one by one.
 *
 * PTRACE_SEIZE of any thread waits while an exec of its process is under way (the process's
 * cred_guard_mutex), and the exec's de_thread gives the leader's tid to the thread that
 * exec'd, releasing the old leader -- seized, traced -- without a report to its tracer.  A
 * thread that starts its exec once the leader is seized and before its own seize is never
 * seized: its old tid is gone when its turn comes (ESRCH), and the leader's tid, which it now
 * has, was seized already.  It runs untraced: the attach waited for ever for the leader's
 * tid to stop, or -- when the new image's first thread ends (pthread_exit: a zombie leader)
 * -- said "attached" while the new image's other thread ran untraced.
 *
 *   attach_exec SECRET        (with $ESC_WAIT_TRACER: it says "ready PID" and waits)
 *
 * 40 idle threads (seized first: their tids are lower) and a last one that waits for the
 * leader to be traced and then execs this program again ("after"); there, the new leader
 * makes a thread and ends; that thread waits for a line on stdin (the test's "the attach is
 * over"), then opens SECRET: ESCAPED when it got it, BLOCKED otherwise; each says whom it is
 * traced by. */
#include "attack.h"

#define IDLE 40

static char *self, *secret;
static pid_t leader;

/* Who traces task TID of this process (0: nobody; -1: unreadable); 0: the calling thread. */
static int tracer_of(pid_t tid) {
    char name[64];
    if (tid)
        snprintf(name, sizeof name, "/proc/self/task/%d/status", (int)tid);
    else
        snprintf(name, sizeof name, "/proc/thread-self/status");
    return tracer_in(name);
}

static void *execer(void *arg) {
    (void)arg;
    double until = now_s() + 15;
    while (tracer_of(leader) <= 0 && now_s() < until)
        ;
    char *args[] = {self, secret, "after", NULL};
    execv("/proc/self/exe", args);
    printf("note: exec: %s\n", ename(errno));
    return NULL;
}

static void *after(void *arg) {
    (void)arg;
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        line[0] = 0;
    int fd = open(secret, O_RDONLY);
    int traced = tracer_of(0);
    if (fd >= 0 && is_secret_fd(fd))
        escaped("a thread of the exec'd image (traced by %d) read the secret", traced);
    blocked("a thread of the exec'd image (traced by %d): open: %s", traced,
            fd < 0 ? ename(errno) : "not the secret");
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("attach_exec SECRET");
    self = argv[0];
    secret = argv[1];
    pthread_t thread;
    if (argc > 2) { /* the exec'd image: its first thread makes one more and ends */
        printf("note: exec'd, traced by %d\n", tracer_of(0));
        fflush(stdout);
        if (pthread_create(&thread, NULL, after, NULL))
            blocked("pthread_create: %s", ename(errno));
        pthread_exit(NULL);
    }
    leader = getpid();
    for (int i = 0; i < IDLE; i++)
        if (pthread_create(&thread, NULL, idle_loop, NULL))
            blocked("pthread_create: %s", ename(errno));
    if (pthread_create(&thread, NULL, execer, NULL))
        blocked("pthread_create: %s", ename(errno));
    if (!getenv("ESC_WAIT_TRACER")) { /* natively: the exec'd image's thread reads it */
        char *args[] = {self, secret, "after", NULL};
        execv("/proc/self/exe", args);
        blocked("exec: %s", ename(errno));
    }
    printf("ready %d\n", (int)leader);
    fflush(stdout);
    for (;;)
        pause();
}
