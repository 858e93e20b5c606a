/* storm: hundreds of tasks at once, all trying the secret while the tracer is busy.
 *
 *   storm MODE SECRET DECOY WORK [TASKS [TRIES]]
 *
 * MODE: fork    TASKS processes (every other one forks a grandchild too), released together
 *       thread  TASKS threads in one process, released together, half of them flipping a
 *               shared path buffer between DECOY and SECRET while the others open it
 *       wide    TASKS threads that each try the secret and the decoy once and then stay
 *               alive until all have: every one of them holds a scratch slot at once
 * Each task tries TRIES times: the secret by several spellings (absolute, relative after
 * chdir, through a dirfd, through a symlink in WORK, /proc/self/root) and the decoy (which must
 * open every time: a call refused by mistake under load is a tracer gone wrong too).
 * Counters live in a shared page.  ESCAPED when any task read the secret.
 * Class 9 (pressure: a fork storm and a thread storm).
 */
#include "attack.h"

#include <libgen.h>
#include <pthread.h>
#include <sys/mman.h>

struct counts {
    struct shared_tally t;
    volatile long tasks;
    char flip[4096];
};

static struct counts *c;
static const char *secret, *decoy, *work;
static char secd[4096], link_path[4096];
static int tries;
static int go_pipe[2]; /* tasks block reading it; closing the write end releases them all */

static void wait_for_go(void) {
    char ch;
    while (read(go_pipe[0], &ch, 1) < 0 && errno == EINTR)
        ;
}

static void one_round(int i) {
    char p[8192];
    int fd;
    switch (i % 5) {
    case 0: fd = open(secret, O_RDONLY); break;
    case 1: chdir(secd); fd = open("secret.txt", O_RDONLY); break;
    case 2: {
        int d = open(secd, O_RDONLY | O_DIRECTORY);
        fd = openat(d, "secret.txt", O_RDONLY);
        close(d);
        break;
    }
    case 3: fd = open(link_path, O_RDONLY); break;
    default:
        snprintf(p, sizeof p, "/proc/self/root%s", secret);
        fd = open(p, O_RDONLY);
    }
    tally_secret_then_decoy(&c->t, fd, decoy);
}

static void task_body(int id) {
    __atomic_add_fetch(&c->tasks, 1, __ATOMIC_SEQ_CST);
    wait_for_go();
    for (int i = 0; i < tries; i++)
        one_round(id + i);
}

static void *thread_body(void *arg) {
    long id = (long)arg;
    if (id % 2) {
        /* a flipper: rewrite the shared buffer while the others open it */
        wait_for_go();
        for (int i = 0; i < tries * 200; i++) {
            memcpy(c->flip, decoy, strlen(decoy) + 1);
            __asm__ volatile("" ::: "memory");
            memcpy(c->flip, secret, strlen(secret) + 1);
            __asm__ volatile("" ::: "memory");
        }
        return NULL;
    }
    task_body((int)id);
    for (int i = 0; i < tries; i++) {
        int fd = open(c->flip, O_RDONLY);
        if (fd >= 0) {
            if (is_secret_fd(fd))
                __atomic_add_fetch(&c->t.secret, 1, __ATOMIC_SEQ_CST);
            close(fd);
        }
    }
    return NULL;
}

static void *wide_body(void *arg) {
    (void)arg;
    int fd = open(secret, O_RDONLY);
    tally_secret_then_decoy(&c->t, fd, decoy);
    __atomic_add_fetch(&c->tasks, 1, __ATOMIC_SEQ_CST);
    wait_for_go();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5)
        usage("storm MODE SECRET DECOY WORK [TASKS [TRIES]]");
    const char *mode = argv[1];
    secret = argv[2];
    decoy = argv[3];
    work = argv[4];
    int n = argc > 5 ? atoi(argv[5]) : 300;
    tries = argc > 6 ? atoi(argv[6]) : 10;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    snprintf(link_path, sizeof link_path, "%s/storm-link", work);
    unlink(link_path);
    symlink(secret, link_path);
    c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memcpy(c->flip, decoy, strlen(decoy) + 1);
    if (pipe(go_pipe) < 0)
        blocked("pipe: %s", ename(errno));
    long expected_decoy = 0;
    if (!strcmp(mode, "fork")) {
        for (int i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid < 0)
                blocked("fork %d: %s", i, ename(errno));
            if (pid == 0) {
                close(go_pipe[1]);
                if (i % 2 && fork() == 0) {
                    task_body(i + n);
                    _exit(0);
                }
                task_body(i);
                while (wait(NULL) > 0)
                    ;
                _exit(0);
            }
        }
        expected_decoy = (long)(n + n / 2) * tries;
        double until = now_s() + 20;
        while (c->tasks < n + n / 2 && now_s() < until)
            usleep(20000);
        close(go_pipe[1]);
        while (wait(NULL) > 0)
            ;
    } else if (!strcmp(mode, "thread")) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        pthread_t *th = calloc(n, sizeof *th);
        for (long i = 0; i < n; i++)
            if (pthread_create(&th[i], &attr, thread_body, (void *)i) != 0)
                blocked("pthread_create %ld failed", i);
        expected_decoy = (long)(n / 2) * tries;
        double until = now_s() + 20;
        while (c->tasks < n / 2 && now_s() < until)
            usleep(20000);
        close(go_pipe[1]);
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
    } else if (!strcmp(mode, "wide")) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_t *th = calloc(n, sizeof *th);
        int hold[2];
        pipe(hold);
        go_pipe[0] = hold[0];
        for (long i = 0; i < n; i++)
            if (pthread_create(&th[i], &attr, wide_body, NULL) != 0)
                blocked("pthread_create %ld failed", i);
        expected_decoy = n;
        double until = now_s() + 20;
        while (c->tasks < n && now_s() < until)
            usleep(20000);
        close(hold[1]);
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
    } else {
        usage("MODE: fork thread wide");
    }
    note("%ld tasks: secret read %ld, refused %ld; decoy opened %ld of %ld (%ld failed)",
         c->tasks, c->t.secret, c->t.refused, c->t.decoy_ok, expected_decoy, c->t.decoy_failed);
    if (c->t.secret)
        escaped("the secret was read %ld times", c->t.secret);
    if (c->t.decoy_ok != expected_decoy)
        blocked("the secret was never read, but %ld decoy opens failed (expected %ld ok)",
                expected_decoy - c->t.decoy_ok, expected_decoy);
    blocked("the secret was never read; every permitted open succeeded");
}
