/* net_parity: calls whose addresses the kernel reads by the socket, none going anywhere a
 * policy refusing 127.0.0.2 refuses: each prints what it returned, so a traced run can be
 * compared with a run alone, line by line (disconnects, addresses TCP ignores, the errnos of
 * a family a socket does not take...).
 *
 *   net_parity [threads]
 *
 * With "threads", a second thread lives throughout (the tracer then holds what it checked,
 * and freezes the tree where the socket decides).  Not an attack: it prints no verdict.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static void show(const char *label, long rc) {
    const char *name = rc < 0 ? strerrorname_np(errno) : "-";
    printf("%-44s %s\n", label, rc < 0 ? name : "ok");
    fflush(stdout);
}

static struct sockaddr_in v4(const char *host, int port, int family) {
    struct sockaddr_in a = {.sin_family = family, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *host, int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, host, &a.sin6_addr);
    return a;
}

static int port_of(int s) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static void *idle(void *arg) {
    (void)arg;
    pause();
    return NULL;
}

#define SENDTO(label, s, addr, len, flags) \
    show(label, sendto(s, "x", 1, (flags) | MSG_NOSIGNAL, (struct sockaddr *)(addr), len))

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "threads")) {
        pthread_t th;
        pthread_create(&th, NULL, idle, NULL);
    }
    /* our own receivers on 127.0.0.1 */
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = v4("127.0.0.1", 0, AF_INET);
    bind(rx, (struct sockaddr *)&local, sizeof local);
    int p = port_of(rx);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    bind(listener, (struct sockaddr *)&local, sizeof local);
    listen(listener, 16);
    int tp = port_of(listener);

    struct sockaddr_in to = v4("127.0.0.1", p, AF_INET), unspec = v4("127.0.0.1", p, AF_UNSPEC);
    struct sockaddr_in any = v4("0.0.0.0", p, AF_INET), refused = v4("127.0.0.2", p, AF_INET);
    struct sockaddr_in zero_port = v4("127.0.0.1", 0, AF_INET);
    struct sockaddr_in6 six = v6("::1", p), mapped_any = v6("::ffff:0.0.0.0", p);
    struct sockaddr_in6 unspecified6 = v6("::", p);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    SENDTO("udp4 sendto AF_UNSPEC 127.0.0.1", u, &unspec, sizeof unspec, 0);
    SENDTO("udp4 sendto an AF_INET6 address", u, &six, sizeof six, 0);
    SENDTO("udp4 sendto 8 bytes", u, &to, 8, 0);
    SENDTO("udp4 sendto port 0", u, &zero_port, sizeof zero_port, 0);
    SENDTO("udp4 sendto 0.0.0.0 (unbound)", u, &any, sizeof any, 0);
    SENDTO("udp4 sendto a pointer and no length", u, &to, 0, 0);
    show("udp4 connect AF_UNSPEC (not connected)",
         connect(u, (struct sockaddr *)&unspec, sizeof unspec));
    show("udp4 connect 127.0.0.1", connect(u, (struct sockaddr *)&to, sizeof to));
    show("udp4 send (connected)", send(u, "x", 1, 0));
    show("udp4 connect AF_UNSPEC (disconnect)",
         connect(u, (struct sockaddr *)&unspec, sizeof unspec));
    show("udp4 send (disconnected)", send(u, "x", 1, 0));
    show("udp4 connect 1 byte", connect(u, (struct sockaddr *)&to, 1));
    int bound = socket(AF_INET, SOCK_DGRAM, 0);
    bind(bound, (struct sockaddr *)&local, sizeof local);
    SENDTO("udp4 bound to 127.0.0.1, sendto 0.0.0.0", bound, &any, sizeof any, 0);

    /* IP_PKTINFO: the unspecified address goes to the chosen source */
    char control[CMSG_SPACE(sizeof(struct in_pktinfo))];
    memset(control, 0, sizeof control);
    struct cmsghdr *c = (struct cmsghdr *)control;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo info = {.ipi_spec_dst.s_addr = inet_addr("127.0.0.1")};
    memcpy(CMSG_DATA(c), &info, sizeof info);
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_name = &any, .msg_namelen = sizeof any, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    show("udp4 sendmsg 0.0.0.0 with IP_PKTINFO 127.0.0.1", sendmsg(u, &m, 0));
    m.msg_name = NULL;
    m.msg_namelen = 0;
    show("udp4 sendmsg, no address", sendmsg(u, &m, 0));
    struct mmsghdr mm[2] = {
        {.msg_hdr = {.msg_name = &unspec, .msg_namelen = sizeof unspec, .msg_iov = &iov,
                     .msg_iovlen = 1}},
        {.msg_hdr = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                     .msg_iovlen = 1}}};
    int sent = sendmmsg(u, mm, 2, 0);
    printf("%-44s %d\n", "udp4 sendmmsg AF_UNSPEC, AF_INET", sent);

    int t = socket(AF_INET, SOCK_STREAM, 0);
    show("tcp4 connect AF_UNSPEC (not connected)",
         connect(t, (struct sockaddr *)&unspec, sizeof unspec));
    SENDTO("tcp4 sendto an address (not connected)", t, &to, sizeof to, 0);
    SENDTO("tcp4 sendto MSG_FASTOPEN AF_UNSPEC", t, &unspec, sizeof unspec, MSG_FASTOPEN);
    struct sockaddr_in server = v4("127.0.0.1", tp, AF_INET);
    show("tcp4 connect 127.0.0.1", connect(t, (struct sockaddr *)&server, sizeof server));
    SENDTO("tcp4 sendto 127.0.0.2 (connected: ignored)", t, &refused, sizeof refused, 0);
    struct sockaddr_in refused_unspec = v4("127.0.0.2", p, AF_UNSPEC);
    SENDTO("tcp4 sendto AF_UNSPEC 127.0.0.2 (ignored)", t, &refused_unspec,
           sizeof refused_unspec, 0);
    show("tcp4 connect AF_UNSPEC (disconnect)",
         connect(t, (struct sockaddr *)&unspec, sizeof unspec));

    int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
    SENDTO("udp6 sendto AF_INET 127.0.0.1", u6, &to, sizeof to, 0);
    SENDTO("udp6 sendto AF_UNSPEC", u6, &unspec, sizeof unspec, 0);
    SENDTO("udp6 sendto ::", u6, &unspecified6, sizeof unspecified6, 0);
    SENDTO("udp6 sendto ::ffff:0.0.0.0", u6, &mapped_any, sizeof mapped_any, 0);
    SENDTO("udp6 sendto 16 bytes of AF_INET6", u6, &six, 16, 0);
    int only6 = socket(AF_INET6, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(only6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    SENDTO("udp6 (v6only) sendto AF_INET", only6, &to, sizeof to, 0);
    show("udp6 (v6only) connect AF_INET", connect(only6, (struct sockaddr *)&to, sizeof to));
    int t6 = socket(AF_INET6, SOCK_STREAM, 0);
    show("tcp6 connect AF_INET", connect(t6, (struct sockaddr *)&to, sizeof to));

    struct sockaddr_in bind_any = v4("0.0.0.0", 0, AF_UNSPEC), bind_one = unspec;
    int b = socket(AF_INET, SOCK_DGRAM, 0);
    show("udp4 bind AF_UNSPEC 127.0.0.1", bind(b, (struct sockaddr *)&bind_one, sizeof bind_one));
    show("udp4 bind AF_UNSPEC 0.0.0.0", bind(b, (struct sockaddr *)&bind_any, sizeof bind_any));

    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/nonexistent/sock"};
    SENDTO("unix stream sendto a name", pair[0], &un, sizeof un, 0);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair);
    SENDTO("unix seqpacket sendto a name (dropped)", pair[0], &un, sizeof un, 0);
    int ud = socket(AF_UNIX, SOCK_DGRAM, 0);
    SENDTO("unix dgram sendto a missing path", ud, &un, sizeof un, 0);
    SENDTO("unix dgram sendto the family alone", ud, &un, 2, 0);

    int nl = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    SENDTO("netlink sendto 8 bytes", nl, &kernel, 8, 0);

    show("socket type 11 (EINVAL)", socket(AF_INET, 11, 0));
    show("socket with a bad flag (EINVAL)", socket(AF_INET, SOCK_DGRAM | 0x100, 0));
    show("socket udp nonblock cloexec",
         socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    show("socket icmp (ping)", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    show("socket unix seqpacket", socket(AF_UNIX, SOCK_SEQPACKET, 0));
    return 0;
}
