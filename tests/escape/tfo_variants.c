/* tfo_variants.c: TCP streams opened past a `never connect` catch-all by the ways of fast
 * open close 47 did not name (review 75).
 *
 *   tfo_variants ADDR PORT WAY
 *     mptcp      sendto(MSG_FASTOPEN) on an IPPROTO_MPTCP socket (mptcp_sendmsg_fastopen)
 *     mapped     sendto(MSG_FASTOPEN) on an AF_INET6 TCP socket to ::ffff:ADDR
 *     deferred   setsockopt(TCP_FASTOPEN_CONNECT), connect, write: the SYN goes at write
 *     mmsgflag   sendmmsg with MSG_FASTOPEN in the message's msg_flags only (kernel ignores)
 *     connected  connect to ADDR, then sendmsg naming 127.0.0.72 with MSG_FASTOPEN in the
 *                msghdr's msg_flags only: the kernel ignores both, the bytes go to ADDR
 *                (a parity case: the send is no connect, whatever the name says)
 * ESCAPED when the stream is open to ADDR (getpeername), BLOCKED when it failed.
 */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

int main(int argc, char **argv) {
    struct sockaddr_in target;
    struct sockaddr_in6 target6;
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (argc != 4)
        usage("tfo_variants ADDR PORT mptcp|mapped|deferred|mmsgflag|connected");
    const char *way = argv[3];
    unsigned short port = htons((unsigned short)atoi(argv[2]));
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = port;
    if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1)
        usage("ADDR: an IPv4 address");
    memset(&target6, 0, sizeof target6);
    target6.sin6_family = AF_INET6;
    target6.sin6_port = port;
    target6.sin6_addr.s6_addr[10] = 0xff;
    target6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&target6.sin6_addr.s6_addr[12], &target.sin_addr, 4);
    static const char line[] = "opened by a fast open variant\n";
    ssize_t sent = -1;
    int s;
    if (strcmp(way, "mptcp") == 0) {
        s = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
        if (s < 0)
            blocked("socket(MPTCP): %s", ename(errno));
        sent = sendto(s, line, sizeof line - 1, MSG_FASTOPEN, (struct sockaddr *)&target,
                      sizeof target);
    } else if (strcmp(way, "mapped") == 0) {
        s = socket(AF_INET6, SOCK_STREAM, 0);
        if (s < 0)
            blocked("socket(AF_INET6): %s", ename(errno));
        sent = sendto(s, line, sizeof line - 1, MSG_FASTOPEN, (struct sockaddr *)&target6,
                      sizeof target6);
    } else if (strcmp(way, "deferred") == 0) {
        int one = 1;
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            blocked("socket: %s", ename(errno));
        if (setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one) != 0)
            blocked("TCP_FASTOPEN_CONNECT: %s", ename(errno));
        if (connect(s, (struct sockaddr *)&target, sizeof target) != 0)
            blocked("connect: %s", ename(errno));
        sent = write(s, line, sizeof line - 1);
    } else if (strcmp(way, "mmsgflag") == 0) {
        struct iovec iov = {(void *)line, sizeof line - 1};
        struct mmsghdr mm;
        memset(&mm, 0, sizeof mm);
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            blocked("socket: %s", ename(errno));
        mm.msg_hdr.msg_name = &target;
        mm.msg_hdr.msg_namelen = sizeof target;
        mm.msg_hdr.msg_iov = &iov;
        mm.msg_hdr.msg_iovlen = 1;
        mm.msg_hdr.msg_flags = MSG_FASTOPEN;
        sent = sendmmsg(s, &mm, 1, MSG_NOSIGNAL) == 1 ? (ssize_t)mm.msg_len : -1;
    } else if (strcmp(way, "connected") == 0) {
        struct sockaddr_in named = target;
        struct iovec iov = {(void *)line, sizeof line - 1};
        struct msghdr mh;
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            blocked("socket: %s", ename(errno));
        if (connect(s, (struct sockaddr *)&target, sizeof target) != 0)
            blocked("connect: %s", ename(errno));
        inet_pton(AF_INET, "127.0.0.72", &named.sin_addr);
        memset(&mh, 0, sizeof mh);
        mh.msg_name = &named;
        mh.msg_namelen = sizeof named;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_flags = MSG_FASTOPEN;
        sent = sendmsg(s, &mh, MSG_NOSIGNAL);
    } else {
        usage("WAY: mptcp|mapped|deferred|mmsgflag|connected");
    }
    if (sent < 0) {
        if (errno == EOPNOTSUPP)
            skipped("TCP Fast Open is off here");
        blocked("%s: %s", way, ename(errno));
    }
    if (getpeername(s, (struct sockaddr *)&peer, &len) != 0)
        blocked("sent %zd bytes, but not connected: %s", sent, ename(errno));
    escaped("a TCP stream to %s:%s, opened by %s, sent %zd bytes", argv[1], argv[2], way, sent);
}
