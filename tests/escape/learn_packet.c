/* learn_packet.c: what a learned policy's socket and send grants let a root program send.
 *
 * A run that made a socket and sent on a connected one learns `socket` (which lifts the
 * refusal of the sockets address rules cannot see: packet, raw) and the three `sendto` rules
 * of docs/learning.md ("Sends without an address"), the last a permit with no condition.  On
 * the next run, as root, the program sends frames of its own on an AF_PACKET socket (by
 * sendto with a sockaddr_ll, and bound then by send and write) and IP packets of its own on
 * a raw socket (sendto, connected send): each past every address rule.
 *
 *   learn_packet            a UDP socket connected to 127.0.0.1:9, one send (the learning)
 *   ATTACK=1 learn_packet   ... then the packet and raw sends; ESCAPED when one went out
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>

static int sent;
static char how[256];

static void tried(const char *what, ssize_t n) {
    printf("note: %s: %s\n", what, n < 0 ? ename(errno) : "sent");
    if (n >= 0 && !sent++)
        snprintf(how, sizeof how, "%s", what);
}

int main(void) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (u < 0 || connect(u, (void *)&to, sizeof to) < 0 || send(u, "x", 1, 0) < 0)
        blocked("the learned send: %s", ename(errno));
    if (!getenv("ATTACK"))
        blocked("sent on a connected UDP socket");
    char packet[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17};
    int p = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (p < 0 && (errno == EPERM || errno == EAFNOSUPPORT) && !getenv("TRACED"))
        skipped("no packet socket here (%s): needs CAP_NET_RAW", ename(errno));
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                             .sll_ifindex = (int)if_nametoindex("lo"), .sll_halen = 6};
    if (p >= 0) {
        tried("AF_PACKET sendto", sendto(p, packet, sizeof packet, 0, (void *)&ll, sizeof ll));
        if (bind(p, (void *)&ll, sizeof ll) < 0)
            printf("note: AF_PACKET bind: %s\n", ename(errno));
        tried("AF_PACKET send, bound", send(p, packet, sizeof packet, 0));
        tried("AF_PACKET write, bound", write(p, packet, sizeof packet));
    } else {
        printf("note: AF_PACKET socket: %s\n", ename(errno));
    }
    int r = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (r >= 0) {
        tried("raw sendto", sendto(r, packet, sizeof packet, 0, (void *)&to, sizeof to));
        if (connect(r, (void *)&to, sizeof to) < 0)
            printf("note: raw connect: %s\n", ename(errno));
        tried("raw send, connected", send(r, packet, sizeof packet, 0));
    } else {
        printf("note: raw socket: %s\n", ename(errno));
    }
    if (sent)
        escaped("%d sends past the address rules, the first by %s", sent, how);
    blocked("no packet or raw send went out");
}
