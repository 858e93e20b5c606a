/* own_filter_exit: a sandboxed helper, as file(1) is: it installs a seccomp filter of its own
 * (allowing everything), then exits -- a test of whether the rest of a run still has its native
 * stop loop (tests/engine/test_cloop.py). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <stdio.h>
int main(void) {
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, allow};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) perror("seccomp");
    return 0;
}
