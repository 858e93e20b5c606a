/* fresh_swap.c DIR AWAY OTHER NAME: reach an older unix socket through a fresh rule's
 * note of a socket the run bound, by moving the directory under that note.
 *
 * A `fresh` rule with a `unix` condition covers a connect to a socket file a bind of this
 * run made (the tracer notes the path: Decoder.made).  A name removed or renamed away is
 * forgotten, and a rename of a directory the run made takes what the run made inside with
 * it -- but a rename of an older directory (DIR, there before the run) forgot only the
 * directory's own name: the note of DIR/NAME stayed.  The program binds DIR/NAME (its own
 * socket), renames DIR to AWAY and OTHER -- an older directory holding NAME, a socket
 * another process listens on -- to DIR, and connects to DIR/NAME: the older socket, at a
 * name the tracer still took for the run's own.
 *
 * ESCAPED when the connect worked (the test's listener counts the connection); BLOCKED with
 * the failing step's errno otherwise.  Class 6 of red team 18 (learned and fresh grants:
 * what a fresh rule covers), issue 11.
 */
#include "attack.h"

#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv) {
    if (argc != 5)
        usage("fresh_swap DIR AWAY OTHER NAME");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], argv[4]);
    struct sockaddr_un sa;
    int own = unix_socket_at(path, &sa);
    if (own < 0 || bind(own, (struct sockaddr *)&sa, sizeof sa) < 0)
        blocked("bind %s: %s", path, ename(errno));
    close(own);
    if (rename(argv[1], argv[2]) < 0)
        blocked("rename %s to %s: %s", argv[1], argv[2], ename(errno));
    if (rename(argv[3], argv[1]) < 0)
        blocked("rename %s to %s: %s", argv[3], argv[1], ename(errno));
    int s = unix_socket_at(path, &sa);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        blocked("connect to %s: %s", path, ename(errno));
    escaped("connected to %s: the older socket moved there with its directory", path);
}
