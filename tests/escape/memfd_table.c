/* memfd_table.c: a table keyed by a memfd's name, which any process may give a memfd.
 *
 * A process running from a memfd is named as /proc names it, "/memfd:NAME (deleted)".  A
 * "for program" answer (the default reach) to such a process's question made a table keyed
 * by that text -- a copy of the table the process ran under, here a trusted tool's that may
 * read the secret -- and any later exec of any memfd so named entered it.  memfd_create is
 * no call a rule can refuse by name (stdio), so no rule protects that "program".
 *
 *   memfd_table TOOL ASKED SECRET   forks TOOL ("tool ASKED": it runs itself from a memfd
 *                                   named "helper", which opens ASKED -- the question), then
 *                                   runs its own code from a memfd of the same name and
 *                                   reads SECRET there: ESCAPED when it does, else BLOCKED
 *   memfd_table TOOL ASKED SECRET removed
 *                                   the same, its own code run from a removed file (SECRET's
 *                                   directory's "helper", run through /proc/self/fd) in
 *                                   place of a memfd: what a learned policy must run again
 *                                   (learn42)
 *   memfd_table TOOL ASKED SECRET symlinked
 *                                   as "removed", its code made beside ASKED, and a symlink
 *                                   planted at "HELPER (deleted)" to /proc/PID/exe -- the
 *                                   removed helper it then runs: no file is named so, but
 *                                   a stat that follows the link finds the program there
 *                                   (review 42: supervisor.nameless)
 */
#include "attack.h"
#include <sys/mman.h>
#include <sys/wait.h>

static void run_from_memfd(char *const args[]) {
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int mfd = memfd_create("helper", MFD_CLOEXEC);
    if (src < 0 || mfd < 0)
        blocked("memfd_create: %s", ename(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        if (write(mfd, buf, (size_t)n) != n)
            blocked("write memfd: %s", ename(errno));
    extern char **environ;
    fexecve(mfd, args, environ);
    blocked("fexecve: %s", ename(errno));
}

static void run_from_removed(const char *beside, char *const args[], int plant) {
    char path[4096];
    snprintf(path, sizeof path, "%s", beside);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
             "helper");
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int dst = open(path, O_RDWR | O_CREAT | O_TRUNC, 0700);
    if (src < 0 || dst < 0)
        blocked("open %s: %s", path, ename(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        if (write(dst, buf, (size_t)n) != n)
            blocked("write %s: %s", path, ename(errno));
    close(dst);
    int fd = open(path, O_RDONLY);  /* (no O_CLOEXEC: the exec goes through it) */
    if (fd < 0 || unlink(path) != 0)
        blocked("reopen, unlink %s: %s", path, ename(errno));
    if (plant) {  /* "HELPER (deleted)" -> this process's program once it has exec'd */
        char link[4200], exe[64];
        snprintf(link, sizeof link, "%s (deleted)", path);
        snprintf(exe, sizeof exe, "/proc/%d/exe", (int)getpid());
        if (symlink(exe, link) != 0)
            blocked("symlink %s: %s", link, ename(errno));
    }
    char through[64];
    snprintf(through, sizeof through, "/proc/self/fd/%d", fd);
    extern char **environ;
    execve(through, args, environ);
    blocked("execve %s: %s", through, ename(errno));
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "asker") == 0) {  /* the tool's helper: asks */
        int fd = open(argv[2], O_RDONLY);
        note("helper: open %s: %s", argv[2], fd < 0 ? ename(errno) : "ok");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "reader") == 0) {  /* the attacker's code */
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0)
            blocked("open %s from a memfd named helper: %s", argv[2], ename(errno));
        char text[256] = "";
        ssize_t n = read(fd, text, sizeof text - 1);
        text[n > 0 ? n : 0] = 0;
        if (strstr(text, SECRET_MAGIC))
            escaped("read %s from a memfd named helper", argv[2]);
        blocked("read %s: no secret", argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "tool") == 0) {  /* the trusted tool */
        char *args[] = {"helper", "asker", argv[2], NULL};
        run_from_memfd(args);
    }
    if (argc != 4 && !(argc == 5 && (strcmp(argv[4], "removed") == 0 ||
                                     strcmp(argv[4], "symlinked") == 0)))
        usage("memfd_table TOOL ASKED SECRET [removed|symlinked]");
    int fd = open(argv[3], O_RDONLY);
    note("open %s itself: %s", argv[3], fd < 0 ? ename(errno) : "ok");
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "tool", argv[2], (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    char *args[] = {"helper", "reader", argv[3], NULL};
    if (argc == 5 && strcmp(argv[4], "symlinked") == 0)
        run_from_removed(argv[2], args, 1);
    if (argc == 5)
        run_from_removed(argv[3], args, 0);
    run_from_memfd(args);
}
