/* fresh_born.c DIR OTHER NAME: reach another process's unix socket through a fresh rule's
 * note of a socket the run bound, with a socket file born *during* the run.
 *
 * A `fresh` rule with a `unix` condition covers a connect to a socket file a bind of this
 * run made: the tracer notes the bound name (Decoder.made), and since red team 18 asks that
 * what stands at the name now was born during the run (statx's birth time, against the
 * run's start) -- an older socket renamed there is refused.  But "born during the run" is
 * not "made by the run": a socket another process binds while the run goes on (a service
 * started meanwhile, an agent's per-session socket) is as young.  The program binds
 * DIR/NAME (its own socket, closed again), waits for OTHER/NAME -- a socket an outsider
 * binds and listens on after the run began -- renames it over DIR/NAME (a rename the
 * prefilter lets through unstopped: no rule looks at it) and connects to DIR/NAME: the
 * outsider's socket, at the name the tracer took for the run's own, born within the run.
 *
 * ESCAPED when the connect worked (the test's listener counts the connection); BLOCKED with
 * the failing step's errno otherwise.  Red team 19 (issue 11), class 2 (what a fresh rule
 * covers).
 */
#include "attack.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

int main(int argc, char **argv) {
    if (argc != 4)
        usage("fresh_born DIR OTHER NAME");
    char path[4096], theirs[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], argv[3]);
    snprintf(theirs, sizeof theirs, "%s/%s", argv[2], argv[3]);
    struct sockaddr_un sa;
    int own = unix_socket_at(path, &sa);
    if (own < 0 || bind(own, (struct sockaddr *)&sa, sizeof sa) < 0)
        blocked("bind %s: %s", path, ename(errno));
    close(own);
    /* the outsider binds its socket once it sees ours: no clock decides the order */
    struct stat st;
    for (int i = 0; lstat(theirs, &st) < 0 || !S_ISSOCK(st.st_mode); i++) {
        if (i == 6000)
            blocked("no outsider's socket at %s", theirs);
        usleep(10000);
    }
    if (rename(theirs, path) < 0)
        blocked("rename %s to %s: %s", theirs, path, ename(errno));
    int s = unix_socket_at(path, &sa);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        blocked("connect to %s: %s", path, ename(errno));
    escaped("connected to %s: another process's socket, born during the run", path);
}
