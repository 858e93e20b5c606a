/* landlock_other_link.c PID NAME UID: a program in a Landlock domain follows another
 * process's magic link (review 56).
 *
 * Landlock scopes ptrace: a task in a domain may read as a debugger (ptrace_may_access, which
 * every follow of /proc/PID/cwd, root, exe, fd/N, ns/X asks) only processes in its domain or
 * below (hook_ptrace_access_check) -- whatever its ids, even an unprivileged process's own
 * other processes.  The program drops to UID, enters a domain that handles only writes
 * (reads stay allowed everywhere: a wrapper that keeps a tool from writing), starts a thread
 * (ESC_THREAD=1: the tracer hands the kernel the canonical spelling) and opens
 * /proc/PID/cwd/NAME, PID a dumpable process of UID's outside the domain whose cwd is below a
 * mode-0711 directory under a name the program is not told.  Natively EACCES (the domain);
 * without ESC_NO_LANDLOCK's domain the file is read (the control). */
#include "attack.h"
#include <sys/prctl.h>
#include <sys/syscall.h>

struct ruleset_attr { unsigned long long handled_access_fs, handled_access_net, scoped; };

int main(int argc, char **argv) {
    if (argc < 4) usage("landlock_other_link PID NAME UID");
    uid_t uid = (uid_t)atoi(argv[3]);
    if (setresuid(uid, uid, uid)) skipped("setresuid: %s", ename(errno));
    if (!getenv("ESC_NO_LANDLOCK")) {
        struct ruleset_attr attr = {1ULL << 1 /* LANDLOCK_ACCESS_FS_WRITE_FILE */, 0, 0};
        long fd = syscall(444 /* landlock_create_ruleset */, &attr, 8, 0);
        if (fd < 0) skipped("landlock_create_ruleset: %s", ename(errno));
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) skipped("no_new_privs: %s", ename(errno));
        if (syscall(446 /* landlock_restrict_self */, (int)fd, 0))
            skipped("landlock_restrict_self: %s", ename(errno));
        close((int)fd);
    }
    idle_thread_if_asked();
    char path[512];
    snprintf(path, sizeof path, "/proc/%s/cwd/%s", argv[1], argv[2]);
    try_open("/proc/PID/cwd/NAME (a process outside the domain)", path);
    tally_done();
}
