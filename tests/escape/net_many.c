/* net_many: a UDP datagram to an address that stands for several hosts -- a directed
 * broadcast of the link, the limited broadcast, an IPv6 multicast group -- reaches a host whose
 * own address a rule refuses (red team 37).
 *
 *   net_many PORT ADDRESS [IFNAME | unshare]
 *
 * Refused: the other host of a link (net-connect to its address).  It runs a UDP listener on
 * [::]:PORT (IPv4 too) that answers every datagram to its sender: the answer is the witness
 * that the datagram reached it.  ADDRESS: that host's own address (the rule at work), the
 * link's directed broadcast (x.y.z.255), 255.255.255.255, or ff02::1 (all nodes of the link
 * IFNAME).  With "unshare", the socket is made first and the program then moves to a new
 * network namespace of its own (no routes but lo's): the socket still sends on the link, whose
 * routes are not the task's.  A send that fails is BLOCKED at once; one that goes out waits
 * for the answer.
 * Class 7 (network).  Needs two network namespaces joined by a veth pair (the test makes them).
 */
#include "attack.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#define MAGIC "MANY-HOSTS-3c9e"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: net_many PORT ADDRESS [IFNAME]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *address = argv[2];
    struct sockaddr_storage ss;
    socklen_t length;
    int family;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        family = sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        length = sizeof *sin;
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        family = sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (argc > 3 && strcmp(argv[3], "unshare") != 0)
            sin6->sin6_scope_id = if_nametoindex(argv[3]);
        length = sizeof *sin6;
    } else {
        fprintf(stderr, "net_many: bad address %s\n", address);
        return 2;
    }
    int s = socket(family, SOCK_DGRAM, 0);
    if (s < 0) {
        blocked("socket: %s", ename(errno));
    }
    int one = 1;
    if (family == AF_INET && setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) {
        blocked("SO_BROADCAST: %s", ename(errno));
    }
    if (argc > 3 && strcmp(argv[3], "unshare") == 0 && unshare(CLONE_NEWNET) < 0)
        skipped("unshare(CLONE_NEWNET): %s", ename(errno));
    if (sendto(s, MAGIC, strlen(MAGIC), 0, (struct sockaddr *)&ss, length) < 0) {
        blocked("sendto %s: %s", address, ename(errno));
    }
    struct pollfd pfd = {.fd = s, .events = POLLIN};
    if (poll(&pfd, 1, 10000) <= 0) {
        blocked("no host answered a datagram to %s", address);
    }
    char answer[128] = {0};
    struct sockaddr_storage from;
    socklen_t from_length = sizeof from;
    ssize_t n = recvfrom(s, answer, sizeof answer - 1, 0, (struct sockaddr *)&from, &from_length);
    if (n > 0 && strcmp(answer, "GOT:" MAGIC) == 0) {
        char text[INET6_ADDRSTRLEN] = "?";
        if (from.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, text, sizeof text);
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, text, sizeof text);
        escaped("a datagram to %s reached the refused host, which answered from %s", address,
                text);
    } else {
        blocked("an answer that is not the witness's (%zd bytes)", n);
    }
    return 0;
}
