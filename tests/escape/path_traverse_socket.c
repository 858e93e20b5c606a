/* path_traverse_socket.c: walking through a refused directory with a unix socket's address
 * (review 15).
 *
 * Under a rule refusing fsread of DIR's tree, a lookup that passes through DIR -- a symlink in it followed,
 * ".." after one of its entries -- is refused as a stat or readlink of what it passes
 * (Supervisor._traversal), and red team 26 made the filter stop every call that looks a path
 * up.  A unix socket's address is a path the kernel looks up too: connect() and sendto() to
 * it, bind() making it.  Through DIR/lnk (-> WORK) and DIR/sub/../.. they tell where DIR/lnk
 * leads and that DIR/sub is a directory.
 *
 *   path_traverse_socket DIR WORK
 *
 * DIR (refused) holds `lnk` -> WORK and a directory `sub`.  The program binds its own
 * sockets in WORK (permitted) and reaches them through DIR.  ESCAPED names what was learned
 * (natively nothing is refused: the control learns it the same way).
 */
#include "attack.h"

static char learned[4096];

static void learn(const char *what) {
    size_t used = strlen(learned);
    snprintf(learned + used, sizeof learned - used, "%s%s", used ? "; " : "", what);
}

static int address(struct sockaddr_un *sun, const char *fmt, const char *a, const char *b) {
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    return snprintf(sun->sun_path, sizeof sun->sun_path, fmt, a, b) <
           (int)sizeof sun->sun_path ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("path_traverse_socket DIR WORK");
    const char *dir = argv[1], *work = argv[2];
    const char *work_name = strrchr(work, '/') + 1;
    struct sockaddr_un sun;
    /* the program's own sockets, in WORK */
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (address(&sun, "%s/%s", work, "srv") < 0 || bind(srv, (void *)&sun, sizeof sun) < 0 ||
        listen(srv, 4) < 0)
        skipped("bind %s/srv: %s", work, ename(errno));
    if (address(&sun, "%s/%s", work, "dsrv") < 0 || bind(dgram, (void *)&sun, sizeof sun) < 0)
        skipped("bind %s/dsrv: %s", work, ename(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/lnk", dir);
    char target[4096];
    note("readlink(%s): %s", path, readlink(path, target, sizeof target) < 0 ? ename(errno)
                                                                            : "read");
    /* a symlink in DIR followed by an address */
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address(&sun, "%s/%s", dir, "lnk/srv");
    if (connect(c, (void *)&sun, sizeof sun) == 0)
        learn("lnk leads to WORK (connect)");
    else
        note("connect %s: %s", sun.sun_path, ename(errno));
    int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    address(&sun, "%s/%s", dir, "lnk/dsrv");
    if (sendto(d, "x", 1, 0, (void *)&sun, sizeof sun) == 1)
        learn("lnk leads to WORK (sendto)");
    else
        note("sendto %s: %s", sun.sun_path, ename(errno));
    int b = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address(&sun, "%s/%s", dir, "lnk/made");
    char mine[4096];
    snprintf(mine, sizeof mine, "%s/made", work);
    struct stat st;
    if (bind(b, (void *)&sun, sizeof sun) == 0 && stat(mine, &st) == 0)
        learn("lnk leads to WORK (bind)");
    else
        note("bind %s: %s", sun.sun_path, ename(errno));
    /* ".." after an entry: whether it is a directory */
    int e = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(path, sizeof path, "sub/../../%s/srv", work_name);
    address(&sun, "%s/%s", dir, path);
    int sub = connect(e, (void *)&sun, sizeof sun) == 0 ? 0 : errno;
    if (sub == 0)
        learn("sub is a directory (connect)");
    else
        note("connect %s: %s", sun.sun_path, ename(sub));
    int n = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(path, sizeof path, "nosuch/../../%s/srv", work_name);
    address(&sun, "%s/%s", dir, path);
    int nosuch = connect(n, (void *)&sun, sizeof sun) == 0 ? 0 : errno;
    note("connect %s: %s", sun.sun_path, nosuch ? ename(nosuch) : "connected");
    if (nosuch != sub)
        learn("sub and nosuch differ (connect)");
    if (learned[0])
        escaped("%s", learned);
    blocked("nothing learned about %s", dir);
}
