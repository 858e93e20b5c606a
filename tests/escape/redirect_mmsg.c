/* redirect_mmsg.c: a sendmmsg past a rule that redirects an address.
 *
 * A permit rule may redirect the datagrams sent to an address elsewhere ("redirect" in
 * docs/policy.md: the DNS of a run to a resolver of the author's, say).  Its alias
 * (net-connect) covers sendmmsg, whose messages each name an address -- and the engine
 * rewrites one address only: a batch of one crashed the tracer (an AssertionError; the run
 * killed), a batch of two whose first message went somewhere permitted sent the second
 * one to the address the rule redirects, unredirected.
 *
 *   redirect_mmsg one|two FREE GUARDED   binds 127.0.0.1:FREE and :GUARDED itself, then sends
 *                                        "one" datagram to GUARDED, or "two": to FREE and
 *                                        GUARDED, in one sendmmsg: ESCAPED when its own
 *                                        socket at GUARDED gets one, else BLOCKED
 */
#include "attack.h"

#include <arpa/inet.h>
#include <poll.h>

static int bound(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        blocked("bind 127.0.0.1:%d: %s", port, ename(errno));
    return s;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "one") && strcmp(argv[1], "two")))
        usage("redirect_mmsg one|two FREE GUARDED");
    int two = !strcmp(argv[1], "two"), free_port = atoi(argv[2]), guarded = atoi(argv[3]);
    int free_sock = bound(free_port), guard_sock = bound(guarded);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to[2];
    struct iovec io[2];
    struct mmsghdr m[2];
    int ports[2] = {two ? free_port : guarded, guarded};
    char *text[2] = {"first", "second"};
    memset(m, 0, sizeof m);
    for (int i = 0; i < 2; i++) {
        to[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(ports[i]),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        io[i] = (struct iovec){text[i], strlen(text[i])};
        m[i].msg_hdr.msg_name = &to[i];
        m[i].msg_hdr.msg_namelen = sizeof to[i];
        m[i].msg_hdr.msg_iov = &io[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(s, m, two ? 2 : 1, 0);
    note("sendmmsg of %d: %d%s%s", two ? 2 : 1, sent, sent < 0 ? " " : "",
         sent < 0 ? ename(errno) : "");
    /* (the datagrams are on loopback: queued by the time sendmmsg returns) */
    struct pollfd p = {.fd = guard_sock, .events = POLLIN};
    char buf[64];
    if (poll(&p, 1, 0) == 1) {
        ssize_t n = recv(guard_sock, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = 0;
        escaped("127.0.0.1:%d, which a rule redirects, got \"%s\"", guarded, buf);
    }
    close(free_sock);
    blocked("nothing reached 127.0.0.1:%d", guarded);
}
