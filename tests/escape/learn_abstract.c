/* learn_abstract.c: an abstract unix socket name that is a pattern.
 *
 * A connect to an abstract unix socket is learned as `unix = "@NAME"`, the name as it was --
 * but in a `unix` condition an abstract name is a glob (`*`, `?`).  Learned while the program
 * connected to its own abstract socket named `*` (or `x*`), the rule let the next run connect
 * to every abstract socket: an X server's `@/tmp/.X11-unix/X0`, a bus, another user's
 * service.
 *
 *   learn_abstract NAME          listen on the abstract NAME, connect to it (the learning)
 *   ATTACK=1 learn_abstract NAME VICTIM   ... then connect to the abstract VICTIM (another
 *                                process's): ESCAPED when it is reached
 */
#include "attack.h"

#include <stddef.h>

static socklen_t abstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t len = strlen(name);
    memcpy(a->sun_path + 1, name, len);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

int main(int argc, char **argv) {
    if (argc < 2)
        blocked("usage: learn_abstract NAME [VICTIM]");
    struct sockaddr_un a;
    socklen_t len = abstract(&a, argv[1]);
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    if (server < 0 || bind(server, (void *)&a, len) < 0 || listen(server, 1) < 0)
        blocked("listen on @%s: %s", argv[1], ename(errno));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (void *)&a, len) < 0)
        blocked("connect to @%s: %s", argv[1], ename(errno));
    close(c);
    if (!getenv("ATTACK") || argc < 3)
        blocked("connected to its own @%s", argv[1]);
    len = abstract(&a, argv[2]);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c < 0)
        blocked("socket: %s", ename(errno));
    if (connect(c, (void *)&a, len) == 0)
        escaped("connected to @%s", argv[2]);
    blocked("connect to @%s: %s", argv[2], ename(errno));
}
