/* proc_other_link.c PID NAME UID: a file reached through another process's cwd, a directory
 * whose name the program does not know (red team 77).
 *
 * Following a process's magic link (/proc/PID/cwd, root, exe, fd/N, ns/X) is allowed only to a
 * task that may read that process as a debugger may (proc_pid_get_link: ptrace_may_access,
 * PTRACE_MODE_READ_FSCREDS): its fs ids must be all of the process's real, effective and saved
 * ids, the process dumpable, its permitted capabilities the task's -- or the task holds
 * CAP_SYS_PTRACE.  The tracer, root, follows every one.  The program drops to UID (gid kept),
 * optionally starts a thread (ESC_THREAD=1: a tree of two tasks, whose calls are handed to the
 * kernel by their canonical spelling), and opens /proc/PID/cwd/NAME and
 * /proc/PID/task/PID/cwd/NAME.  PID is a process outside the tree of the same uid whose saved
 * uid is root (natively EACCES), or, for the control, one whose ids are all UID (natively
 * the file is read).  The file's directory is below a mode-0711 directory under a name the
 * program is not told: by its name the program cannot find it. */
#include "attack.h"

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) usage("proc_other_link PID NAME UID");
    if (getenv("ESC_THREAD")) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle, NULL)) skipped("no thread");
    }
    uid_t uid = (uid_t)atoi(argv[3]);
    if (setresuid(uid, uid, uid)) skipped("setresuid: %s", ename(errno));
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%s/cwd/%s", argv[1], argv[2]);
    note("stat %s: %s", path, stat(path, &st) == 0 ? "0" : ename(errno));
    try_open_at(AT_FDCWD, "/proc/PID/cwd/NAME", path, O_RDONLY);
    snprintf(path, sizeof path, "/proc/%s/task/%s/cwd/%s", argv[1], argv[1], argv[2]);
    try_open_at(AT_FDCWD, "/proc/PID/task/PID/cwd/NAME", path, O_RDONLY);
    tally_done();
}
