/* tracer_rlimit: set the resource limits of the process that traces us.
 *
 *   tracer_rlimit MODE [STAND_IN]
 *       nofile     prlimit(tracer, RLIMIT_NOFILE, {8, 8}): the tracer's descriptors
 *       nofile_tid the same through the tid of another thread of the tracer's (prlimit takes
 *                  any task's id; limits are the process's) -- or of the stand-in's
 *       as         prlimit(tracer, RLIMIT_AS, {64 MiB}): its memory
 *       self       prlimit(0, RLIMIT_NOFILE, {256, hard}) and of our own pid: parity (it must
 *                  work, traced or not) -- prints "ESCAPED" only for the form of the
 *                  verdict; the test reads the note
 * Natively (no tracer) STAND_IN, a process of ours outside the run, stands for the tracer.
 * The tracer's limits are how red teams 9, 32 and 38 made its own checks fail (each closed
 * again where it failed); now the tree may not set them at all: EPERM, as a signal to it.
 * Class 6 (attacks on the tracer).  ESCAPED when the limit was set.
 */
#include "attack.h"

#include <dirent.h>
#include <sys/resource.h>

static pid_t other_thread(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (!dir)
        return pid;
    struct dirent *entry;
    pid_t found = pid;
    while ((entry = readdir(dir)))
        if (atoi(entry->d_name) > 0 && atoi(entry->d_name) != pid)
            found = atoi(entry->d_name);
    closedir(dir);
    return found;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("tracer_rlimit MODE [STAND_IN]");
    const char *mode = argv[1];
    if (!strcmp(mode, "self")) {
        struct rlimit old, set;
        if (getrlimit(RLIMIT_NOFILE, &old) < 0)
            blocked("getrlimit: %s", ename(errno));
        set.rlim_cur = old.rlim_cur > 256 ? 256 : old.rlim_cur;
        set.rlim_max = old.rlim_max;
        int a = prlimit(0, RLIMIT_NOFILE, &set, NULL) < 0 ? errno : 0;
        int b = prlimit(getpid(), RLIMIT_NOFILE, &set, NULL) < 0 ? errno : 0;
        note("own limits: %s %s", a ? ename(a) : "ok", b ? ename(b) : "ok");
        if (a || b)
            blocked("our own limits could not be set");
        escaped("our own limits were set (parity)");
    }
    pid_t target = tracer_pid();
    if (target <= 0) {
        if (argc < 3)
            usage("the control run needs STAND_IN");
        target = atoi(argv[2]);
    }
    if (!strcmp(mode, "nofile_tid"))
        target = other_thread(target);
    struct rlimit set = {8, 8};
    int resource = RLIMIT_NOFILE;
    if (!strcmp(mode, "as")) {
        set.rlim_cur = set.rlim_max = 64UL << 20;
        resource = RLIMIT_AS;
    } else if (strcmp(mode, "nofile") && strcmp(mode, "nofile_tid")) {
        usage("MODE: nofile nofile_tid as self");
    }
    if (prlimit(target, resource, &set, NULL) < 0)
        blocked("prlimit of %d: %s", target, ename(errno));
    escaped("the limit of %d (%s) was set", target, tracer_pid() > 0 ? "our tracer" : "a stand-in");
}
