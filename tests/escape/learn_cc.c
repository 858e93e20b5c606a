/* learn_cc.c: a compiler of the program's own, run by systrace after learning, un-traced.
 *
 * After a learning run systrace asks the compilers that ran where their headers are
 * (cc -E -v -x c /dev/null -o /dev/null, cc -print-search-dirs: cli/facts.gather_facts),
 * un-traced, if "the system installed them" (cli/facts._installed: owned by root, not group-
 * or other-writable, in a directory likewise, and the one above too).  A tracee running as
 * root makes such a file anywhere it may write: this program copies itself to DIR/bin/cc
 * (DIR and DIR/bin 0755, itself 0755, all root's) and runs it.  After the run systrace runs
 * it again -- three times, traced by nobody, as systrace's user: code of the tree that no
 * tracer sees, and that outlives the tree (the tree is killed at the run's end; this is no
 * task of it).
 *
 *   learn_cc DIR          copy itself to DIR/bin/cc, run it; BLOCKED: ran DIR/bin/cc
 *   learn_cc DIR check    ESCAPED when DIR/bin/cc ran un-traced (DIR/ASKED says so)
 *   DIR/bin/cc -E ...     (as systrace asks it) note in DIR/ASKED whether it is traced
 */
#include "attack.h"

#include <libgen.h>
#include <sys/wait.h>

static int traced(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int pid = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "TracerPid:", 10))
            pid = atoi(line + 10);
    if (f)
        fclose(f);
    return pid != 0;
}

int main(int argc, char **argv) {
    char path[4096], self[4096];
    if (!strcmp(basename(argv[0]), "cc")) {
        if (argc > 1 && !strcmp(argv[1], "--learning"))
            return 0;
        /* asked: DIR/bin/cc -> DIR/ASKED */
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
            return 1;
        self[n] = 0;
        snprintf(path, sizeof path, "%s/ASKED", dirname(dirname(self)));
        if (!traced()) {
            FILE *out = fopen(path, "a");
            if (out) {
                fprintf(out, "uid %d, TracerPid 0, argv[1] %s\n", (int)getuid(),
                        argc > 1 ? argv[1] : "");
                fclose(out);
            }
        }
        return 0;
    }
    if (argc < 2)
        usage("learn_cc DIR [check]");
    const char *dir = argv[1];
    if (argc > 2 && !strcmp(argv[2], "check")) {
        snprintf(path, sizeof path, "%s/ASKED", dir);
        FILE *f = fopen(path, "r");
        if (!f)
            blocked("DIR/bin/cc never ran un-traced");
        char line[256] = {0};
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        escaped("the program's own cc ran un-traced: %s", line);
    }
    snprintf(path, sizeof path, "%s/bin", dir);
    if (chmod(dir, 0755) < 0 || (mkdir(path, 0755) < 0 && errno != EEXIST) ||
            chmod(path, 0755) < 0)
        blocked("mkdir %s: %s", path, ename(errno));
    snprintf(path, sizeof path, "%s/bin/cc", dir);
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t got;
    if (in < 0 || out < 0)
        blocked("copy to %s: %s", path, ename(errno));
    while ((got = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)got) != got)
            blocked("write %s: %s", path, ename(errno));
    close(in);
    if (fchmod(out, 0755) < 0 || close(out) < 0)
        blocked("chmod %s: %s", path, ename(errno));
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, "cc", "--learning", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
        blocked("run %s: status %d", path, status);
    blocked("ran %s", path);
}
