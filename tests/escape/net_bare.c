/* net_bare.c: a datagram to an address a catch-all `never net-connect` refuses, written on a
 * packet socket (issue 11, red team 87; class 7).
 *
 * "Sockets address rules cannot see are not made" -- when the run has address rules: a
 * refusing rule with an `address`, `port` or `host` condition.  A policy that holds a program
 * to some hosts by permitting them and refusing every other connect with a rule of NO
 * condition (`permit net-connect host = ...`, then `never net-connect`: docs/policy.md) has
 * none; so a packet socket is made, its bind (not a connect) is not refused, and a write(2)
 * on it names no address: the frame goes out, past the catch-all.
 *
 *   net_bare ADDR PORT   makes an AF_PACKET socket bound to lo and write()s an IPv4/UDP
 *                        packet to ADDR:PORT; ESCAPED when the kernel took the frame (as
 *                        learn_packet.c counts a send: what a packet socket sends, no address
 *                        rule sees), else BLOCKED (saying which step failed).  Needs
 *                        CAP_NET_RAW.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>

static unsigned short checksum(const unsigned char *p, size_t n) {
    unsigned long sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (unsigned long)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (unsigned short)~sum;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("net_bare ADDR PORT");
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
        usage("net_bare ADDR PORT (an IPv4 address)");
    unsigned char packet[33] = {0x45, 0, 0, 33, 0, 1, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1};
    memcpy(packet + 16, &to.sin_addr, 4);
    unsigned short sum = checksum(packet, 20);
    packet[10] = (unsigned char)(sum >> 8);
    packet[11] = (unsigned char)sum;
    packet[20] = 0x30; packet[21] = 0x39;                 /* source port 12345 */
    memcpy(packet + 22, &to.sin_port, 2);
    packet[24] = 0; packet[25] = 13;                      /* length; checksum 0: none */
    memcpy(packet + 28, "frame", 5);
    int p = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (p < 0 && (errno == EPERM || errno == EAFNOSUPPORT) && !getenv("TRACED"))
        skipped("no packet socket here (%s): needs CAP_NET_RAW", ename(errno));
    if (p < 0)
        blocked("socket(AF_PACKET): %s", ename(errno));
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                             .sll_ifindex = (int)if_nametoindex("lo"), .sll_halen = 6};
    if (bind(p, (void *)&ll, sizeof ll) < 0)
        blocked("bind(AF_PACKET): %s", ename(errno));
    if (write(p, packet, sizeof packet) != (ssize_t)sizeof packet)
        blocked("write: %s", ename(errno));
    escaped("a datagram to %s:%s written on a packet socket went out", argv[1], argv[2]);
}
