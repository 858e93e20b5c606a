/* early_flood: children whose first stop comes before their parent's fork event (the native
 * loop's early-stop table, _cloop.c early_stop, 16 slots; Python's Tracer._early).
 *
 *   early_flood MODE SECRET DECOY [ROUNDS]
 *
 * The program's root process forks a middle process per round, so the forks below are made by
 * a task that is not the tracer's own child: waitpid(-1) then often reports the new child's
 * first stop before its parent's event, and the child is kept stopped until that event.
 *
 * MODE: flood    the middle process makes 40 children at once, by fork, vfork-like clone
 *                (CLONE_VM|CLONE_VFORK), clone3 and threads (CLONE_THREAD), each trying the
 *                secret, then the decoy: more early stops than the table holds
 *       orphan   the middle process has two threads: one forks four times, the other ends the
 *                whole process (exit_group) at once -- the parent may die at its fork event, before
 *                the tracer has seen the event; the child is then kept with no event to come:
 *                it must neither run unchecked nor hold up the run for ever
 *       waited   as orphan, and every child writes a byte to a pipe the root reads to EOF:
 *                the root waits for the orphans themselves (a child kept for an event that
 *                never comes would keep it waiting, and the run, for ever)
 *       execd    as orphan, but the other thread execs /bin/true: de_thread kills the forking
 *                thread (at its event stop, maybe), and the process lives on
 *       reuse    as orphan (but the end comes only once the first fork has returned: an
 *                orphan every round), and the root (a child subreaper) kills each orphan it
 *                finds stopped or ended, reaps it, and makes a child on its pid (clone3 set_tid, root): a
 *                tid whose end came before any birth named it, given again to a new child
 *       stopped  flood, in a process group of its own that another process stops and
 *                continues every 300 us: first stops made during a group stop
 *       killed   the middle process forks 20 children that each SIGKILL themselves at once
 *                and one that tries the secret: ends of tasks whose birth was not told yet
 * ESCAPED when any task read the secret; BLOCKED when none did and every decoy open worked
 * (a decoy refused is a tracer gone wrong: reported, not escaped).
 * Class 4 (children that slip away).
 */
#include "attack.h"

#include <linux/sched.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>

struct counts {
    struct shared_tally t;
    volatile long children;
};

static struct counts *c;
static const char *secret, *decoy;
static int waited_fd = -1; /* waited: the pipe's write end, one byte from each child */

static void try_both(void) {
    tally_secret_then_decoy(&c->t, open(secret, O_RDONLY), decoy);
}

/* a child's body: raw syscalls only (a vfork-like child shares the parent's memory and stack) */
static int child_body(void *arg) {
    (void)arg;
    __atomic_add_fetch(&c->children, 1, __ATOMIC_SEQ_CST);
    try_both();
    syscall(SYS_exit, 0);
    return 0;
}

static void *thread_body(void *arg) {
    (void)arg;
    __atomic_add_fetch(&c->children, 1, __ATOMIC_SEQ_CST);
    try_both();
    return NULL;
}

static void flood(void) {
    pthread_t threads[8];
    int nthreads = 0;
    pid_t kids[40];
    int nkids = 0;
    static char stacks[8][65536];
    for (int i = 0; i < 40; i++) {
        pid_t pid = -1;
        switch (i % 5) {
        case 0:
        case 1:
            pid = fork();
            if (pid == 0) {
                child_body(NULL);
                _exit(0);
            }
            break;
        case 2: {  /* posix_spawn's vfork by another name */
            pid = clone(child_body, stacks[i / 5] + sizeof stacks[0], CLONE_VM | CLONE_VFORK | SIGCHLD,
                        NULL);
            break;
        }
        case 3: {
            struct clone_args args = {.exit_signal = SIGCHLD};
            pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
            if (pid == 0) {
                child_body(NULL);
                _exit(0);
            }
            break;
        }
        default:
            if (nthreads < 8 && pthread_create(&threads[nthreads], NULL, thread_body, NULL) == 0)
                nthreads++;
            continue;
        }
        if (pid > 0)
            kids[nkids++] = pid;
    }
    for (int i = 0; i < nkids; i++)
        waitpid(kids[i], NULL, __WALL);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
}

/* reuse: the ender waits until the first fork has returned, so that each round leaves at
 * least one orphan whose pid can be given again (when the end came before any fork, a whole
 * run could make none: "nothing tested"), and the end lands while the later forks are under
 * way, at their event stops as often as not */
static volatile int wait_first_fork, first_fork_done;

static void *ender(void *arg) {
    (void)arg;
    while (wait_first_fork && !__atomic_load_n(&first_fork_done, __ATOMIC_SEQ_CST))
        ;
    syscall(SYS_exit_group, 0);
    return NULL;
}

static void *execer(void *arg) {
    (void)arg;
    char *argv[] = {"true", NULL};
    execv("/bin/true", argv);
    return NULL;
}

static void orphan(int by_exec) {
    pthread_t t;
    pthread_create(&t, NULL, by_exec ? execer : ender, NULL);
    for (int i = 0; i < 4; i++) {  /* (one of them is likely at its event when the end comes) */
        if (fork() == 0) {
            __atomic_add_fetch(&c->children, 1, __ATOMIC_SEQ_CST);
            try_both();
            if (waited_fd >= 0)
                (void)!write(waited_fd, "x", 1);
            _exit(0);
        }
        __atomic_store_n(&first_fork_done, 1, __ATOMIC_SEQ_CST);
    }
    syscall(SYS_exit_group, 0);
}

/* reuse: an orphan as in orphan(), found (the root is a child subreaper: orphans become its
 * children; one kept stopped shows state 't', one that ran natively is a zombie), killed and
 * reaped; then a child made with clone3's set_tid on that very pid, which tries the secret and
 * the decoy.  The root's own
 * process must be the one that waits: returns the number of children made on a reused pid. */
static int reuse(void) {
    char path[64], line[256];
    int made = 0;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    pid_t pids[64];
    int n = 0;
    while (n < 64 && fscanf(f, "%d", &pids[n]) == 1)
        n++;
    fclose(f);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
        FILE *s = fopen(path, "r");
        if (!s)
            continue;
        char *got = fgets(line, sizeof line, s);
        fclose(s);
        char *close_paren = got ? strrchr(line, ')') : NULL;
        if (!close_paren || !strchr("tTZ", close_paren[2]))
            continue;
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, __WALL);
        pid_t want = pids[i];
        struct clone_args args = {.exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want,
                                  .set_tid_size = 1};
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) {
            __atomic_add_fetch(&c->children, 1, __ATOMIC_SEQ_CST);
            try_both();
            _exit(0);
        }
        if (pid > 0) {
            made++;
            waitpid(pid, NULL, 0);
        }
    }
    return made;
}

static void killed(void) {
    pid_t kids[21];
    for (int i = 0; i < 21; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            if (i == 20) {
                __atomic_add_fetch(&c->children, 1, __ATOMIC_SEQ_CST);
                try_both();
                _exit(0);
            }
            raise(SIGKILL);
            _exit(0);
        }
    }
    for (int i = 0; i < 21; i++)
        waitpid(kids[i], NULL, 0);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("early_flood flood|stopped|orphan|waited|execd|killed|reuse SECRET DECOY [ROUNDS]");
    const char *mode = argv[1];
    secret = argv[2];
    decoy = argv[3];
    int rounds = argc > 4 ? atoi(argv[4]) : 20;
    c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        skipped("mmap: %s", ename(errno));
    int reused = 0;
    long bytes = 0;
    int waited = !strcmp(mode, "waited");
    if (!strcmp(mode, "reuse") && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        skipped("PR_SET_CHILD_SUBREAPER: %s", ename(errno));
    wait_first_fork = !strcmp(mode, "reuse");
    /* (reuse: rounds go on, up to five times as many, until a pid was reused at all -- a round
     * makes an orphan only when the parent dies at its very event stop) */
    for (int r = 0; r < rounds || (!strcmp(mode, "reuse") && !reused && r < 5 * rounds); r++) {
        int p[2] = {-1, -1};
        if (waited && pipe(p) < 0)
            skipped("pipe: %s", ename(errno));
        pid_t middle = fork();
        if (middle == 0) {
            if (waited) {
                close(p[0]);
                waited_fd = p[1];
            }
            if (!strcmp(mode, "stopped")) {
                setpgid(0, 0);
                flood();
                _exit(0);
            }
            if (!strcmp(mode, "flood"))
                flood();
            else if (!strcmp(mode, "orphan") || !strcmp(mode, "reuse") || waited)
                orphan(0);
            else if (!strcmp(mode, "execd"))
                orphan(1);
            else if (!strcmp(mode, "killed"))
                killed();
            else
                usage("unknown mode");
            _exit(0);
        }
        pid_t stopper = -1;
        if (!strcmp(mode, "stopped")) {
            setpgid(middle, middle);  /* (either side may be first) */
            stopper = fork();
            if (stopper == 0) {  /* the middle's whole group stopped and continued meanwhile */
                for (;;) {
                    kill(-middle, SIGSTOP);
                    usleep(300);
                    kill(-middle, SIGCONT);
                    usleep(300);
                }
            }
        }
        waitpid(middle, NULL, 0);
        if (waited) {  /* to EOF: until every child that has the write end has ended */
            close(p[1]);
            char buf[16];
            ssize_t n;
            while ((n = read(p[0], buf, sizeof buf)) > 0)
                bytes += n;
            close(p[0]);
        }
        if (stopper > 0) {
            kill(stopper, SIGKILL);
            waitpid(stopper, NULL, 0);
        }
        if (!strcmp(mode, "reuse")) {
            usleep(20000);  /* (the orphans that ran end; those kept stay stopped) */
            reused += reuse();
        }
    }
    if (!strcmp(mode, "reuse")) {
        note("%d children made on the pid of a killed orphan", reused);
        if (!reused)
            blocked("no orphan was kept stopped: no pid reused (nothing tested)");
        while (waitpid(-1, NULL, __WALL) > 0)  /* (the orphans that ran, now ours) */
            ;
    }
    if (waited)
        note("%d rounds ended, %ld bytes from the children", rounds, bytes);
    /* the orphans of "orphan" are not ours to wait for: give them a moment by polling */
    for (int i = 0; i < 2000 && (!strcmp(mode, "orphan") || !strcmp(mode, "execd")); i++) {
        if (c->t.secret + c->t.refused >= c->children)
            break;
        usleep(1000);
    }
    note("children %ld, secret %ld, refused %ld, decoy %ld ok %ld failed", c->children,
         c->t.secret, c->t.refused, c->t.decoy_ok, c->t.decoy_failed);
    if (c->t.secret)
        escaped("%ld of %ld children read the secret", c->t.secret, c->children);
    if (c->t.decoy_failed)
        blocked("but %ld decoy opens failed", c->t.decoy_failed);
    blocked("no child read the secret; every decoy open worked");
}
