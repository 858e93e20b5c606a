/* A seccomp filter installed by a task without no_new_privs or CAP_SYS_ADMIN (LTP prctl02 as
 * a user: "prctl() succeeded unexpectedly").  Natively the kernel refuses it with EACCES
 * (seccomp_prepare_filter); traced by a tracer that is not root (or with -c), the program's
 * process was given no_new_privs for the prefilter, and the install succeeded.
 *
 *   seccomp_nnp
 *
 * Prints "OP -> ok|ERRNO" for, in order: prctl(PR_SET_SECCOMP) with a bad fprog pointer
 * (EFAULT before the check), with an empty filter (EINVAL before the check), with an
 * allow-all filter, seccomp(SECCOMP_SET_MODE_FILTER) with it; then the main thread sets
 * no_new_privs itself, after which: a child forked before (its flag is its own: still
 * refused), a thread started before (the flag is a task's: still refused), a child forked
 * after (inherited: installs), and the main thread (installs).  Each install is of a filter
 * that allows everything. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
static struct sock_fprog prog = {1, allow};
static struct sock_fprog empty = {0, allow};

static const char *result(long rc)
{
    return rc == 0 ? "ok" : strerrorname_np(errno);
}

static const char *install(void)
{
    return result(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
}

static int go[2], done[2];

static void *thread(void *arg)
{
    char c;
    (void)arg;
    if (read(go[0], &c, 1) != 1)
        return NULL;
    printf("thread before nnp -> %s\n", install());
    fflush(stdout);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("prctl bad pointer -> %s\n",
           result(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (void *)8, 0, 0)));
    printf("prctl empty -> %s\n", result(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &empty, 0, 0)));
    printf("prctl -> %s\n", install());
    printf("seccomp -> %s\n", result(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)));
    if (pipe(go) != 0 || pipe(done) != 0)
        return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, thread, NULL) != 0)
        return 3;
    pid_t before = fork();
    if (before == 0) {
        char c;
        if (read(done[0], &c, 1) != 1)
            _exit(4);
        printf("child before nnp -> %s\n", install());
        _exit(0);
    }
    printf("set nnp -> %s\n", result(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
    if (write(go[1], "x", 1) != 1 || pthread_join(t, NULL) != 0)
        return 5;
    if (write(done[1], "x", 1) != 1 || waitpid(before, NULL, 0) != before)
        return 6;
    pid_t after = fork();
    if (after == 0) {
        printf("child after nnp -> %s\n", install());
        _exit(0);
    }
    if (waitpid(after, NULL, 0) != after)
        return 7;
    printf("main after nnp -> %s\n", install());
    return 0;
}
