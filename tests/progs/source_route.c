/* Source routes set the three ways a program can: setsockopt(IP_OPTIONS) with an IPv4 loose
 * source route, setsockopt(IPV6_RTHDR) with a routing header (LTP setsockopt11's type 4, one
 * segment), and a sendmsg carrying an IP_RETOPTS control message (to the program's own UDP
 * socket on 127.0.0.1).
 *
 *   source_route
 *
 * Prints "IP_OPTIONS -> ok|ERRNO", "IPV6_RTHDR -> ok|ERRNO", "IP_RETOPTS -> ok|ERRNO". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void report(const char *what, int rc)
{
    printf("%s -> %s\n", what, rc == 0 ? "ok" : strerrorname_np(errno));
}

int main(void)
{
    /* LSRR through 127.0.0.1 (the route the kernel would take anyway) */
    unsigned char lsrr[8] = {IPOPT_LSRR, 7, 4, 127, 0, 0, 1, IPOPT_END};
    int s4 = socket(AF_INET, SOCK_DGRAM, 0);
    if (s4 < 0)
        return 2;
    report("IP_OPTIONS", setsockopt(s4, IPPROTO_IP, IP_OPTIONS, lsrr, sizeof lsrr));

    unsigned char rthdr[24] = {0, 2, 4, 0, 0};  /* length 2 (x 8 bytes), type 4, 1 segment */
    memcpy(rthdr + 8, &in6addr_loopback, sizeof in6addr_loopback);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s6 < 0)
        printf("IPV6_RTHDR -> %s\n", strerrorname_np(errno));
    else
        report("IPV6_RTHDR", setsockopt(s6, IPPROTO_IPV6, IPV6_RTHDR, rthdr, sizeof rthdr));

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        return 3;
    char msg[] = "routed", control[CMSG_SPACE(sizeof lsrr)];
    memset(control, 0, sizeof control);
    struct iovec iov = {msg, sizeof msg};
    struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_RETOPTS;
    c->cmsg_len = CMSG_LEN(sizeof lsrr);
    memcpy(CMSG_DATA(c), lsrr, sizeof lsrr);
    report("IP_RETOPTS", sendmsg(s, &m, 0) == (ssize_t)sizeof msg ? 0 : -1);
    return 0;
}
