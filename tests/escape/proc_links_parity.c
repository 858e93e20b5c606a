/* proc_links_parity.c [UID]: which magic links of its own process, its threads and its
 * children a task follows once it dropped to UID (default nobody), one line each: "OK" or the
 * errno -- compared natively and traced (review 53).  Having changed its ids the process is
 * not dumpable, and so is a child it forks (the flag is its memory's, copied by fork) until
 * it sets PR_SET_DUMPABLE or execs: the kernel then refuses its links to a task of the same
 * ids (__ptrace_may_access) while the process's own threads follow each other's always
 * (same_thread_group).  A second thread makes the tree several tasks: the walk decides. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void probe(const char *label, const char *fmt, int a, int b) {
    char p[256]; snprintf(p, sizeof p, fmt, a, b);
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    printf("%-28s %s\n", label, fd >= 0 ? "OK" : strerrorname_np(errno));
    if (fd >= 0) close(fd);
}
static volatile pid_t other_tid;
static void *idle(void *x) { (void)x; other_tid = syscall(SYS_gettid); for (;;) pause(); }
static pid_t kid(int dumpable, int do_exec) {
    pid_t k = fork();
    if (k == 0) {
        prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
        if (do_exec) execl("/bin/sleep", "sleep", "30", (char *)0);
        for (;;) pause();
    }
    usleep(200000);
    return k;
}
int main(int argc, char **argv) {
    uid_t u = argc > 1 ? atoi(argv[1]) : 65534;
    pthread_t t; pthread_create(&t, 0, idle, 0);
    while (!other_tid) usleep(1000);
    if (setresgid(u, u, u) || setresuid(u, u, u)) return 2;
    probe("self task other cwd", "/proc/%d/task/%d/cwd", getpid(), other_tid);
    probe("thread-self cwd", "/proc/thread-self/cwd", 0, 0);
    probe("own /proc/TID cwd", "/proc/%d/cwd", other_tid, 0);
    probe("own fd dir", "/proc/%d/fd", getpid(), 0);
    pid_t k = kid(0, 0);  /* we are not dumpable (setresuid): so is the kid */
    probe("kid nondump cwd", "/proc/%d/cwd", k, 0);
    probe("kid nondump task cwd", "/proc/%d/task/%d/cwd", k, k);
    kill(k, 9); waitpid(k, 0, 0);
    k = kid(1, 0);
    probe("kid dump cwd", "/proc/%d/cwd", k, 0);
    probe("kid dump root", "/proc/%d/root", k, 0);
    kill(k, 9); waitpid(k, 0, 0);
    k = kid(0, 1);
    probe("kid exec'd cwd", "/proc/%d/cwd", k, 0);
    kill(k, 9); waitpid(k, 0, 0);
    probe("pid 1 cwd", "/proc/1/cwd", 0, 0);
    probe("parent cwd", "/proc/%d/cwd", getppid(), 0);
    return 0;
}
