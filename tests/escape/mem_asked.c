/* Review 42: a call with a path question and a question of no path -- an open of another
 * process's /proc/PID/mem for reading, decided as that open (its path) and as
 * process_vm_readv (what it does: Supervisor._decide, Reason.MEMORY).  Both asked: the
 * question was about the path, and a permit of it ran the call (_asked_besides took the
 * pathless ask left over as one about what was answered); the memory read was never put.
 *
 *   mem_asked
 *
 * forks a child that writes its own words into a buffer and waits; reads them through
 * /proc/CHILD/mem.  ESCAPED when it reads them (the approver refuses memory reads), else
 * BLOCKED. */
#include "attack.h"
#include <signal.h>
#include <sys/wait.h>

static char words[64] = "the parent's";

int main(void) {
    FILE *scope = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
    int level = 0;
    if (scope) {
        if (fscanf(scope, "%d", &level) != 1) level = 0;
        fclose(scope);
    }
    if (level >= 3 || (level == 2 && geteuid() != 0)) skipped("yama ptrace_scope %d: no child's memory", level);
    int ready[2];
    if (pipe(ready) != 0) blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid == 0) {
        strcpy(words, "the child's own words");
        if (write(ready[1], "x", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) blocked("the child never got ready");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int err = errno;
    char got[64] = "";
    ssize_t n = fd >= 0 ? pread(fd, got, sizeof got - 1, (off_t)(uintptr_t)words) : -1;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (fd < 0) blocked("open %s: %s", path, ename(err));
    if (n > 0 && strcmp(got, "the child's own words") == 0)
        escaped("read another process's memory through %s", path);
    blocked("read %s: %zd bytes, not the child's", path, n);
}
