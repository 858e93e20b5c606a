/* net_family: reach a refused address through the way the kernel reads an address -- by the
 * socket, not by the address's own family field -- or through a socket whose destination is
 * chosen outside its address.
 *
 *   net_family MODE PORT
 *
 * The policy refuses net-connect to 127.0.0.2; a UDP listener (TCP for the _tcp modes) waits
 * on 127.0.0.2:PORT outside the tree.  ESCAPED when the call that should reach it succeeded
 * (the test checks the listener too).
 *
 * MODE: unspec_sendto     UDP/IPv4 sendto, sin_family AF_UNSPEC (udp_sendmsg takes it for
 *                         AF_INET)
 *       unspec_sendmsg    the same through sendmsg
 *       unspec_sendmmsg   sendmmsg of two such messages
 *       v4_on_v6_sendto   UDP/IPv6 socket, sendto an AF_INET address (the IPv4 path)
 *       v4_on_v6_sendmsg  the same through sendmsg
 *       v4_on_v6_connect  UDP/IPv6 socket, connect to an AF_INET address, then send
 *       mapped_sendto     UDP/IPv6 sendto ::ffff:127.0.0.2
 *       bound_any         UDP bound to 127.0.0.2, sendto 0.0.0.0 (goes to the source)
 *       bound_any_tcp     TCP bound to 127.0.0.2, connect 0.0.0.0
 *       pktinfo_any       UDP sendmsg to 0.0.0.0 with IP_PKTINFO spec_dst 127.0.0.2
 *       fastopen_tcp      TCP sendto(MSG_FASTOPEN) to 127.0.0.2 (a connect in a send)
 *       raw_hdrincl       raw socket (IPPROTO_RAW: IP_HDRINCL): its own IP header names
 *                         127.0.0.2, its address 127.0.0.3 (root)
 *       packet            AF_PACKET on lo: a whole IP datagram to 127.0.0.2 (root)
 *       sock_packet       the old (AF_INET, SOCK_PACKET) packet socket, the same (root)
 * Class 7 (network).
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static struct sockaddr_in v4(const char *text, int port, int family) {
    struct sockaddr_in a = {.sin_family = family, .sin_port = htons(port)};
    inet_pton(AF_INET, text, &a.sin_addr);
    return a;
}

static char msg[] = "exfiltrated";

static int sendmsg_to(int s, void *name, socklen_t len, void *control, size_t control_len) {
    struct iovec iov = {msg, sizeof msg};
    struct msghdr m = {.msg_name = name, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = control, .msg_controllen = control_len};
    return sendmsg(s, &m, 0);
}

static uint16_t checksum(const void *data, size_t len) {
    const uint16_t *words = data;
    uint32_t sum = 0;
    for (; len > 1; len -= 2)
        sum += *words++;
    if (len)
        sum += *(const uint8_t *)words;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* an IPv4 UDP datagram from 127.0.0.1 to 127.0.0.2:port (no UDP checksum) */
static size_t datagram(unsigned char *out, int port) {
    struct iphdr *ip = (struct iphdr *)out;
    struct udphdr *udp = (struct udphdr *)(out + sizeof *ip);
    size_t total = sizeof *ip + sizeof *udp + sizeof msg;
    memset(out, 0, total);
    ip->version = 4;
    ip->ihl = 5;
    ip->tot_len = htons(total);
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->saddr = inet_addr("127.0.0.1");
    ip->daddr = inet_addr("127.0.0.2");
    ip->check = checksum(ip, sizeof *ip);
    udp->source = htons(9);
    udp->dest = htons(port);
    udp->len = htons(sizeof *udp + sizeof msg);
    memcpy(out + sizeof *ip + sizeof *udp, msg, sizeof msg);
    return total;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_family MODE PORT");
    const char *mode = argv[1];
    int port = atoi(argv[2]), rc, s;
    struct sockaddr_in unspec = v4("127.0.0.2", port, AF_UNSPEC);
    struct sockaddr_in bad = v4("127.0.0.2", port, AF_INET);
    struct sockaddr_in any = v4("0.0.0.0", port, AF_INET);
    if (!strcmp(mode, "unspec_sendto")) {
        s = socket(AF_INET, SOCK_DGRAM, 0);
        rc = sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&unspec, sizeof unspec);
    } else if (!strcmp(mode, "unspec_sendmsg")) {
        s = socket(AF_INET, SOCK_DGRAM, 0);
        rc = sendmsg_to(s, &unspec, sizeof unspec, NULL, 0);
    } else if (!strcmp(mode, "unspec_sendmmsg")) {
        s = socket(AF_INET, SOCK_DGRAM, 0);
        struct iovec iov = {msg, sizeof msg};
        struct mmsghdr mm[2] = {
            {.msg_hdr = {.msg_name = &unspec, .msg_namelen = sizeof unspec, .msg_iov = &iov,
                         .msg_iovlen = 1}},
            {.msg_hdr = {.msg_name = &unspec, .msg_namelen = sizeof unspec, .msg_iov = &iov,
                         .msg_iovlen = 1}}};
        rc = sendmmsg(s, mm, 2, 0);
        if (rc > 0)
            escaped("sendmmsg sent %d datagrams to the refused address", rc);
    } else if (!strcmp(mode, "v4_on_v6_sendto") || !strcmp(mode, "v4_on_v6_sendmsg") ||
               !strcmp(mode, "v4_on_v6_connect")) {
        s = socket(AF_INET6, SOCK_DGRAM, 0);
        if (!strcmp(mode, "v4_on_v6_sendto")) {
            rc = sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&bad, sizeof bad);
        } else if (!strcmp(mode, "v4_on_v6_sendmsg")) {
            rc = sendmsg_to(s, &bad, sizeof bad, NULL, 0);
        } else {
            rc = connect(s, (struct sockaddr *)&bad, sizeof bad);
            if (rc == 0)
                rc = send(s, msg, sizeof msg, 0);
        }
    } else if (!strcmp(mode, "mapped_sendto")) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        inet_pton(AF_INET6, "::ffff:127.0.0.2", &a.sin6_addr);
        s = socket(AF_INET6, SOCK_DGRAM, 0);
        rc = sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&a, sizeof a);
    } else if (!strcmp(mode, "bound_any") || !strcmp(mode, "bound_any_tcp")) {
        int tcp = !strcmp(mode, "bound_any_tcp");
        struct sockaddr_in local = v4("127.0.0.2", 0, AF_INET);
        s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
        if (bind(s, (struct sockaddr *)&local, sizeof local) < 0)
            blocked("bind 127.0.0.2: %s", ename(errno));
        rc = tcp ? connect(s, (struct sockaddr *)&any, sizeof any)
                 : sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&any, sizeof any);
    } else if (!strcmp(mode, "pktinfo_any")) {
        s = socket(AF_INET, SOCK_DGRAM, 0);
        char control[CMSG_SPACE(sizeof(struct in_pktinfo))];
        memset(control, 0, sizeof control);
        struct cmsghdr *c = (struct cmsghdr *)control;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo info = {.ipi_spec_dst.s_addr = inet_addr("127.0.0.2")};
        memcpy(CMSG_DATA(c), &info, sizeof info);
        rc = sendmsg_to(s, &any, sizeof any, control, sizeof control);
    } else if (!strcmp(mode, "fastopen_tcp")) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        rc = sendto(s, msg, sizeof msg, MSG_FASTOPEN, (struct sockaddr *)&bad, sizeof bad);
    } else if (!strcmp(mode, "raw_hdrincl")) {
        s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (s < 0 && errno == EPERM && geteuid() != 0)
            skipped("raw sockets need CAP_NET_RAW");
        if (s < 0)
            blocked("socket(SOCK_RAW, IPPROTO_RAW): %s", ename(errno));
        unsigned char packet[128];
        size_t len = datagram(packet, port);
        struct sockaddr_in permitted = v4("127.0.0.3", 0, AF_INET);
        rc = sendto(s, packet, len, 0, (struct sockaddr *)&permitted, sizeof permitted);
    } else if (!strcmp(mode, "packet")) {
        s = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
        if (s < 0 && errno == EPERM && geteuid() != 0)
            skipped("packet sockets need CAP_NET_RAW");
        if (s < 0)
            blocked("socket(AF_PACKET): %s", ename(errno));
        unsigned char packet[128];
        size_t len = datagram(packet, port);
        struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                                 .sll_ifindex = (int)if_nametoindex("lo"), .sll_halen = 6};
        rc = sendto(s, packet, len, 0, (struct sockaddr *)&ll, sizeof ll);
    } else if (!strcmp(mode, "sock_packet")) {
        s = socket(AF_INET, SOCK_PACKET, htons(ETH_P_ALL));
        if (s < 0 && errno == EPERM && geteuid() != 0)
            skipped("packet sockets need CAP_NET_RAW");
        if (s < 0)
            blocked("socket(AF_INET, SOCK_PACKET): %s", ename(errno));
        unsigned char frame[160];
        memset(frame, 0, ETH_HLEN);
        frame[12] = ETH_P_IP >> 8;
        frame[13] = ETH_P_IP & 0xFF;
        size_t len = ETH_HLEN + datagram(frame + ETH_HLEN, port);
        struct sockaddr_pkt pkt = {.spkt_family = AF_INET, .spkt_protocol = htons(ETH_P_IP)};
        strcpy((char *)pkt.spkt_device, "lo");
        rc = sendto(s, frame, len, 0, (struct sockaddr *)&pkt, sizeof pkt);
    } else {
        usage("MODE: unspec_sendto unspec_sendmsg unspec_sendmmsg v4_on_v6_sendto "
              "v4_on_v6_sendmsg v4_on_v6_connect mapped_sendto bound_any bound_any_tcp "
              "pktinfo_any fastopen_tcp raw_hdrincl packet sock_packet");
    }
    if (rc < 0 && errno == EINPROGRESS)
        rc = 0;  /* (a non-blocking connect in flight: the SYN went) */
    if (rc < 0)
        blocked("%s: %s", mode, ename(errno));
    escaped("%s reached the refused address (port %d)", mode, port);
}
