/* kio_unsafe: reach for the calls that act where the tracer cannot see or hold them, one by
 * one, harmlessly: each is only asked for a handle (an fd, a map), never used.
 *
 *   kio_unsafe
 *
 * userfaultfd (stall the kernel mid-copy to widen races), perf_event_open (uprobes, kernel
 * reads), bpf (kernel programs), io_uring_setup (kernel-side I/O), name_to_handle_at (handles
 * to open without a path), process_vm_writev (write another process), pidfd_getfd (steal a
 * descriptor), kcmp, ptrace, setns (joining a namespace made outside the tree).  ESCAPED
 * lists those that succeeded.  (unshare, mount, open_tree... are checked, not refused: class
 * 10, ns_mount.c.)
 * Class 5 (refused unless the policy names them).
 */
#include "attack.h"

#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

static char got[2048];

static void check(const char *name, long rc) {
    size_t used = strlen(got);
    if (rc >= 0)
        snprintf(got + used, sizeof got - used, "%s%s", used ? ", " : "", name);
    else
        printf("note: %s: %s\n", name, ename(errno));
}

int main(void) {
    check("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC));
    struct perf_event_attr pe = {.type = PERF_TYPE_SOFTWARE, .size = sizeof pe,
                                 .config = PERF_COUNT_SW_DUMMY, .disabled = 1};
    check("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
    union bpf_attr attr = {.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
                           .max_entries = 1};
    check("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
    struct io_uring_params p = {0};
    check("io_uring_setup", syscall(SYS_io_uring_setup, 2, &p));
    struct {
        struct file_handle fh;
        unsigned char b[MAX_HANDLE_SZ];
    } h = {.fh.handle_bytes = MAX_HANDLE_SZ};
    int mid;
    check("name_to_handle_at", name_to_handle_at(AT_FDCWD, "/", &h.fh, &mid, 0));
    char src[8] = "x", dst[8] = "";
    struct iovec l = {dst, 1}, r = {src, 1};
    check("process_vm_writev", syscall(SYS_process_vm_writev, getpid(), &l, 1, &r, 1, 0));
    int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    check("pidfd_getfd", syscall(SYS_pidfd_getfd, pidfd, 1, 0));
    check("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 1, 1));
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    check("ptrace(PTRACE_SEIZE) of our child", ptrace(PTRACE_SEIZE, child, 0, 0));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    pid_t u = fork();
    if (u == 0) /* in a child: setns changes the caller */
        _exit(setns(open("/proc/self/ns/uts", O_RDONLY), CLONE_NEWUTS) == 0 ? 0 : 1);
    int st;
    waitpid(u, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        check("setns", 0);
    else
        printf("note: setns failed\n");
    fflush(stdout);
    if (got[0])
        escaped("%s", got);
    blocked("every unsafe call was refused");
}
