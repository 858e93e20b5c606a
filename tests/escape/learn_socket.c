/* learn_socket.c: a program that talks to itself over a unix socket of its own, learned, then
 * run again under what was learned.
 *
 * While learning it binds a unix socket at NAME in its working directory (a new name: bind
 * makes it, EADDRINUSE where it is there), listens, connects to it and removes it -- a
 * temporary file's life, which the learner widens into a "generated names" glob ("bus" and
 * six letters and digits: "bus*").  A file rule of such a glob is learned fresh = true (it
 * covers only what the run makes: gap #30); the program chose the name, so its "prefix" may
 * be the name of a socket it never touched: "bus", the session bus of a desktop (which can
 * have the user's service manager start any command, untraced), an ssh or gpg agent.  Run
 * again under the learned policy (ATTACK=1) it makes its own socket again and connects to
 * TARGET, a socket of its directory another process listens on -- with "link", through a
 * symlink to it at NAME + "l", a name of its own glob it makes anew.
 *
 * argv: NAME TARGET [link].  ESCAPED when the connect to TARGET succeeded; BLOCKED otherwise.
 */
#include "attack.h"

#include <sys/socket.h>
#include <sys/un.h>

static int unix_socket(const char *path, struct sockaddr_un *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    snprintf(addr->sun_path, sizeof addr->sun_path, "%s", path);
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "link")))
        blocked("usage: learn_socket NAME TARGET [link]");
    /* the name taken as mkstemp(3) takes it (read-write, O_EXCL, mode 0600), then removed
     * and the socket bound there -- what a program with mktemp(3)'s name for a socket does */
    int fd = open(argv[1], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) < 0 || unlink(argv[1]) < 0)
        blocked("its name %s: %s", argv[1], ename(errno));
    struct sockaddr_un addr;
    int server = unix_socket(argv[1], &addr);
    if (server < 0 || bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(server, 1) < 0)
        blocked("its own socket %s: %s", argv[1], ename(errno));
    int client = unix_socket(argv[1], &addr);
    if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof addr) < 0)
        blocked("connect to its own socket %s: %s", argv[1], ename(errno));
    close(client);
    close(server);
    if (unlink(argv[1]) < 0)
        note("unlink %s: %s", argv[1], ename(errno));
    const char *attack = getenv("ATTACK");
    if (!attack || strcmp(attack, "1"))
        blocked("probed %s (learning: %s left alone)", argv[1], argv[2]);
    char link[4096];
    const char *to = argv[2];
    if (argc == 4) {
        snprintf(link, sizeof link, "%sl", argv[1]);
        if (symlink(argv[2], link) < 0)
            blocked("symlink %s -> %s: %s", link, argv[2], ename(errno));
        to = link;
    }
    client = unix_socket(to, &addr);
    int rc = client < 0 ? -1 : connect(client, (struct sockaddr *)&addr, sizeof addr);
    int err = errno;
    if (argc == 4)
        unlink(link);
    if (rc < 0)
        blocked("connect to %s: %s", argv[2], ename(err));
    close(client);
    escaped("connected to %s, never reached while learning", argv[2]);
}
