/* net_mmsg_ask: one sendmmsg to two addresses that both ask (red team 61's class, found by
 * the lead: an answer about one destination ran a call that asked about another).
 *
 *   net_mmsg_ask PORT_OK PORT_SECRET
 *
 * Binds two UDP receivers of its own on 127.0.0.1 (PORT_OK, PORT_SECRET), then sends one
 * sendmmsg of two messages: the first to PORT_OK, the second to PORT_SECRET.  Under two
 * `ask` rules (one per port), the call was one question, about its first address and
 * rule: an approver that permits PORT_OK's rule and refuses PORT_SECRET sent both.  The
 * second datagram received is the escape.  Class 7 (network) / the person in the loop.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static int receiver(int port) {
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&at, sizeof at) < 0)
        skipped("bind %d: %s", port, ename(errno));
    return s;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_mmsg_ask PORT_OK PORT_SECRET");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ok_port = atoi(argv[1]), secret_port = atoi(argv[2]);
    int ok = receiver(ok_port), secret = receiver(secret_port);
    struct sockaddr_in to[2] = {{.sin_family = AF_INET, .sin_port = htons(ok_port)},
                                {.sin_family = AF_INET, .sin_port = htons(secret_port)}};
    inet_pton(AF_INET, "127.0.0.1", &to[0].sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to[1].sin_addr);
    struct iovec word[2] = {{.iov_base = "ok", .iov_len = 2},
                            {.iov_base = "secret", .iov_len = 6}};
    struct mmsghdr batch[2];
    memset(batch, 0, sizeof batch);
    for (int i = 0; i < 2; i++) {
        batch[i].msg_hdr.msg_name = &to[i];
        batch[i].msg_hdr.msg_namelen = sizeof to[i];
        batch[i].msg_hdr.msg_iov = &word[i];
        batch[i].msg_hdr.msg_iovlen = 1;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int sent = sendmmsg(s, batch, 2, 0);
    int e = errno;
    struct pollfd p = {.fd = secret, .events = POLLIN};
    char got[16] = {0};
    if (poll(&p, 1, sent == 2 ? 2000 : 200) == 1 && recv(secret, got, sizeof got - 1, 0) > 0)
        escaped("the second message reached port %d: %s", secret_port, got);
    p.fd = ok;
    char mine[16] = {0};
    int first = poll(&p, 1, 200) == 1 && recv(ok, mine, sizeof mine - 1, 0) > 0;
    blocked("sendmmsg %d (%s); port %d got nothing%s", sent, sent < 0 ? ename(e) : "sent",
            secret_port, first ? ", the first port its message" : "");
}
