/* merge_connect.c: a learning run merged (-A --merge) into the user's policy, whose own rule
 * refuses every address ("no network"), makes the merged policy let the next run connect.
 *
 * The learner ends a table that sent without an address with "any other address" refusals
 * and a permit after them, and `--merge` puts the addresses it learns since before those
 * refusals.  It knew them by their shape alone -- `never` of `0.0.0.0/0` and `::/0` --, which
 * is also how a person writes "no network": the learned connect went before the user's rule,
 * and the next run connected where that rule refused.  This program connects to a listener
 * outside the traced tree at 127.0.0.1:PORT.
 *
 *   merge_connect PORT   : ESCAPED when the connect reached the listener
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc != 2)
        usage("merge_connect PORT");
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sin, sizeof sin) < 0)
        blocked("connect 127.0.0.1:%s: %s", argv[1], ename(errno));
    escaped("connected to 127.0.0.1:%s, which the user's own rule refuses", argv[1]);
}
