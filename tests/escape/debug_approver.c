/* debug_approver.c: red team 46 -- the run's approver reached by a debug call a rule permits.
 *
 * An approver (--ask-via exec:CMD, or the peer of unix:PATH) is a process of the user's
 * outside the tree that answers the asks about what the policy protects: it is part of the
 * enforcement, as the tracer is.  Red team 45 kept the debug calls a rule may name
 * (`ptrace`, `process_vm_readv`, `process_vm_writev`) off the tracer's tasks only; the
 * approver is dumpable and of the program's user, so the same rule let the program seize it
 * -- and a seized approver writes whatever answer the program makes it write (the stand-in
 * of red team 45's control, made to run calls).  No CAP_SYS_PTRACE is needed.
 *
 *   debug_approver MODE SECRET WORD
 *
 * MODE:
 *   ptrace          PTRACE_SEIZE the approver (the process whose command line has WORD):
 *                   ESCAPED when it is ours.
 *   vmwrite         process_vm_readv / process_vm_writev 64 bytes of its stack (the same
 *                   bytes written back): ESCAPED when written.
 *   native-ptrace, native-vmwrite
 *                   the controls, against a child of ours that waits (a stand-in for the
 *                   approver, which natively does not exist).
 */
#include "attack.h"

#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

static pid_t stand_in_pid;

static void end_stand_in(void) {
    if (stand_in_pid > 0)
        kill(stand_in_pid, SIGKILL);
}

static pid_t stand_in(void) {
    pid_t child = fork();
    if (child == 0)
        for (;;)
            pause();
    stand_in_pid = child;
    atexit(end_stand_in);
    usleep(100000);
    return child;
}

/* The pid of a process (not this one, not systrace) whose command line has word; 0: none. */
static int find(const char *word) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) && !found) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char name[64], text[4096];
        snprintf(name, sizeof name, "/proc/%d/cmdline", pid);
        int fd = open(name, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            if (!text[i])
                text[i] = ' ';
        /* (not systrace itself, whose --ask-via names the approver's command) */
        if (n > 0) {
            text[n] = 0;
            if (strstr(text, word) && !strstr(text, "--ask-via"))
                found = pid;
        }
    }
    if (d)
        closedir(d);
    return found;
}

int main(int argc, char **argv) {
    if (argc != 4)
        usage("debug_approver ptrace|vmwrite|native-ptrace|native-vmwrite SECRET WORD");
    const char *mode = argv[1], *secret = argv[2];
    int native = strncmp(mode, "native-", 7) == 0;
    if (native)
        mode += 7;
    if (strcmp(mode, "ptrace") != 0 && strcmp(mode, "vmwrite") != 0)
        usage("unknown mode");
    pid_t pid = 0;
    for (int i = 0; !native && !pid && i < 200; i++) {
        pid = find(argv[3]);
        if (!pid)
            usleep(20000);
    }
    if (native)
        pid = stand_in();
    if (pid <= 0)
        skipped("no approver to aim at");
    if (strcmp(mode, "ptrace") == 0) {
        if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
            blocked("PTRACE_SEIZE of %d: %s", pid, ename(errno));
        ptrace(PTRACE_DETACH, pid, 0, 0);
        escaped("PTRACE_SEIZE of %s %d succeeded (it is ours to drive)",
                native ? "the stand-in" : "the approver", pid);
    }
    unsigned long at = stack_of(pid);
    if (!at)
        blocked("no stack of %d found (its maps: %s)", pid, ename(errno));
    char bytes[64];
    struct iovec local = {bytes, sizeof bytes}, remote = {(void *)at, sizeof bytes};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof bytes)
        blocked("process_vm_readv of %d: %s", pid, ename(errno));
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)sizeof bytes)
        escaped("process_vm_writev wrote %zd bytes of %s %d's stack", n,
                native ? "the stand-in" : "the approver", pid);
    blocked("process_vm_writev of %d: %s", pid, ename(errno));
    (void)secret;
}
