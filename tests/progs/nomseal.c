/* nomseal MODE prog args...: install a seccomp filter answering mseal (462) with MODE
 * (kill | errno | trap), everything else allowed, then exec prog. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
int main(int argc, char **argv) {
    unsigned int act = !strcmp(argv[1], "kill") ? SECCOMP_RET_KILL_PROCESS
                     : !strcmp(argv[1], "trap") ? SECCOMP_RET_TRAP : (SECCOMP_RET_ERRNO | EPERM);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 462, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, act),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) { perror("filter"); return 1; }
    execvp(argv[2], argv + 2);
    perror("exec"); return 127;
}
