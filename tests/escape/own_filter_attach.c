/* own_filter_attach: a sandboxed program -- its own seccomp filter kills an mmap with
 * MAP_FIXED_NOREPLACE, a flag it never uses -- that `systrace --attach` traces after the
 * filter is in.  Two tasks (an idle thread): the tracer holds a permitted open, and maps its
 * scratch area for it by an mmap it runs in the open's place, which the kernel's seccomp
 * check then judges by the program's filter (an attached task stops at syscall entry,
 * before seccomp runs; only the attach probe runs with the filter suspended).
 *
 *   own_filter_attach FILE     prints "open: ok" (or the errno's name), then "done"
 *
 * With $ESC_WAIT_TRACER it says "ready PID" and waits for the tracer first (attack.h).
 * Natively and attached the lines must be the same (class 8, parity; review 8).
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc < 2)
        usage("own_filter_attach FILE");
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_FIXED_NOREPLACE, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        skipped("no_new_privs: %s", ename(errno));
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
        skipped("seccomp: %s", ename(errno));
    pthread_t t;
    if (pthread_create(&t, NULL, idle_loop, NULL))
        skipped("pthread_create");
    wait_for_tracer();
    int fd = open(argv[1], O_RDONLY);
    printf("open: %s\n", fd >= 0 ? "ok" : ename(errno));
    printf("done\n");
    fflush(stdout);
    return 0;
}
