/* stdfd_waited.c: a peer's FD_CLOEXEC on stderr while an exec into another table waits
 * (review 22).
 *
 * Supervisor._entering_table refuses an exec into another table while descriptor 0, 1 or 2
 * would be closed in the new program (red team 34), read from fdinfo at the exec's check.
 * House 25 made the frozen recheck read fdinfo again only when the task "ran" or shares its
 * descriptor table now -- but an exec that *waited* between its check and its run (an inject
 * rule's delay, an answer) did not run, and its peer need not be there any more: a process
 * made with CLONE_FILES (not CLONE_VM) sets FD_CLOEXEC on descriptor 2 of the shared table
 * during the wait, and exits.  At the exec's freeze the table has one user again; nothing
 * was read again; the program with the other table started with descriptor 2 closed, its
 * first open took it, and what it wrote to "stderr" (the caller's text) landed in its file.
 * (With the exec'ing process alone in the tree after the peer's exit -- "solo" -- the call
 * was not even frozen: nothing was read again either.)
 *
 *   stdfd_waited VICTIM LOG race   fork; the child clones the peer (CLONE_FILES), which sleeps
 *                                  300 ms, sets FD_CLOEXEC on 2 and exits; the child opens
 *                                  /dev/null for writing and execs VICTIM (the policy
 *                                  delays that exec).  Natively the exec comes first:
 *                                  nothing lands.  Then the same in order
 *                                  (the peer's change, then the exec): the technique itself,
 *                                  natively ESCAPED, refused traced by the check at the exec
 *   stdfd_waited VICTIM LOG solo   the race's child part in this very process (alone in the
 *                                  tree once its peer is gone); the caller reads LOG
 *   stdfd_waited VICTIM LOG filter the same with a thread for the peer: it installs a filter
 *                                  on every thread (SECCOMP_FILTER_FLAG_TSYNC) and ends; the
 *                                  exec's own-filter check (red team 37) was read once too
 *   stdfd_waited victim LOG TEXT   appends a line to LOG, then says TEXT on stderr
 *   stdfd_waited filtered LOG N    appends the payload to LOG when it runs under more
 *                                  seccomp filters than N (the caller's before its thread's)
 * ESCAPED when LOG holds the payload.
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int filters_now(void) {
    char buf[8192] = {0};
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    const char *at = n > 0 ? strstr(buf, "Seccomp_filters:") : NULL;
    return at ? atoi(at + strlen("Seccomp_filters:")) : -1;
}

static int in_order_flag;

/* the thread peer: a filter that allows everything, on every thread (TSYNC), then gone */
static void *filter_peer(void *arg) {
    (void)arg;
    if (!in_order_flag) usleep(300000);
    struct sock_filter f[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog))
        note("seccomp: %s", ename(errno));
    return NULL;
}

static void exec_with_thread(const char *prog, const char *log, int in_order) {
    char base[16];
    snprintf(base, sizeof base, "%d", filters_now());
    in_order_flag = in_order;
    pthread_t t;
    if (pthread_create(&t, NULL, filter_peer, NULL) != 0) blocked("pthread_create");
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);  /* (the scratch area: see below) */
    if (null >= 0) close(null);
    if (in_order) pthread_join(t, NULL);
    else pthread_detach(t);
    execl(prog, prog, "filtered", log, base, (char *)NULL);
    note("exec: %s", ename(errno));
    _exit(errno == EPERM ? 126 : errno == EAGAIN ? 125 : 127);
}

static void exec_with_peer(const char *prog, const char *log, int in_order) {
    pid_t peer = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
    if (peer < 0) blocked("clone(CLONE_FILES): %s", ename(errno));
    if (peer == 0) {
        if (!in_order) usleep(300000);
        fcntl(2, F_SETFD, FD_CLOEXEC);
        _exit(0);
    }
    /* a held call first (the tree is not one task: the peer is there): the scratch area is
     * mapped now, so the exec's decision is not replayed after its mmap (a replay reads
     * fdinfo again) */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) close(null);
    if (in_order) waitpid(peer, NULL, 0);
    execl(prog, prog, "victim", log, "\n" PAYLOAD_MAGIC "\n", (char *)NULL);
    int err = errno;
    waitpid(peer, NULL, 0);
    fcntl(2, F_SETFD, 0);
    note("exec: %s", ename(err));
    _exit(err == EPERM ? 126 : err == EAGAIN ? 125 : 127);
}

static int landed(const char *log) {
    char buf[1 << 16] = {0};
    int fd = open(log, O_RDONLY);
    ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    return n > 0 && strstr(buf, PAYLOAD_MAGIC) != NULL;
}

static void round_of(const char *prog, const char *log, int in_order, int filter) {
    pid_t pid = fork();
    if (pid < 0) blocked("fork: %s", ename(errno));
    if (pid == 0) {
        if (filter) exec_with_thread(prog, log, in_order);
        exec_with_peer(prog, log, in_order);
    }
    int status;
    waitpid(pid, &status, 0);
    note("%s: child status %d", in_order ? "in order" : "race", status);
    if (landed(log))
        escaped("%s: the payload landed in %s (the program with the other table ran as the"
                " peer left it)", in_order ? "in order" : "during the wait", log);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "victim") == 0) {
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd < 0) return 1;
        dprintf(fd, "stamp\n");
        fprintf(stderr, "stamp: ignoring %s\n", argv[3]);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "filtered") == 0) {
        /* more filters than the caller had before its thread's: its filter judges us */
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd < 0) return 1;
        if (filters_now() > atoi(argv[3])) dprintf(fd, "under the caller's filter: %s\n",
                                                   PAYLOAD_MAGIC);
        return 0;
    }
    if (argc != 4) blocked("usage: stdfd_waited VICTIM LOG race|solo|filter");
    if (strcmp(argv[3], "solo") == 0) exec_with_peer(argv[1], argv[2], 0);
    int filter = strcmp(argv[3], "filter") == 0;
    round_of(argv[1], argv[2], 0, filter);
    round_of(argv[1], argv[2], 1, filter);
    blocked("no payload in %s", argv[2]);
}
