/* tfo_connect.c: a TCP connection opened without connect(2) (issue 11, review 71; class 7).
 *
 * docs/policy.md's recipe for "this program may reach these hosts by name, nothing else" is
 * `permit net-connect host = [...]` then `never connect`: a catch-all on connect only, so
 * that sends on connected sockets (which name no address) are not refused.  But
 * sendto(MSG_FASTOPEN) on a TCP socket *is* a connect: tcp_sendmsg_fastopen connects the
 * socket to the address, then sends.  Decided as a `sendto`, no rule of the recipe covers it.
 *
 *   tfo_connect ADDR PORT [CALL]   sendto(MSG_FASTOPEN) (CALL "sendto", the default), or
 *                           sendmsg or sendmmsg with msg_name, of one line to ADDR:PORT on a
 *                           fresh TCP socket; ESCAPED when the stream is open (the send
 *                           succeeded and getpeername names ADDR), BLOCKED when it failed.
 */
#include "attack.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    struct sockaddr_in target, peer;
    socklen_t len = sizeof peer;
    if (argc != 3 && argc != 4)
        usage("tfo_connect ADDR PORT [sendto|sendmsg|sendmmsg]");
    const char *call = argc == 4 ? argv[3] : "sendto";
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1)
        usage("tfo_connect ADDR PORT (ADDR: an IPv4 address)");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    static const char line[] = "opened by a send with MSG_FASTOPEN\n";
    struct iovec iov = {(void *)line, sizeof line - 1};
    struct mmsghdr mm;
    memset(&mm, 0, sizeof mm);
    mm.msg_hdr.msg_name = &target;
    mm.msg_hdr.msg_namelen = sizeof target;
    mm.msg_hdr.msg_iov = &iov;
    mm.msg_hdr.msg_iovlen = 1;
    ssize_t sent;
    if (strcmp(call, "sendto") == 0)
        sent = sendto(s, line, sizeof line - 1, MSG_FASTOPEN, (struct sockaddr *)&target,
                      sizeof target);
    else if (strcmp(call, "sendmsg") == 0)
        sent = sendmsg(s, &mm.msg_hdr, MSG_FASTOPEN);
    else if (strcmp(call, "sendmmsg") == 0)
        sent = sendmmsg(s, &mm, 1, MSG_FASTOPEN) == 1 ? (ssize_t)mm.msg_len : -1;
    else
        usage("tfo_connect ADDR PORT [sendto|sendmsg|sendmmsg]");
    if (sent < 0) {
        if (errno == EOPNOTSUPP)
            skipped("TCP Fast Open is off (net.ipv4.tcp_fastopen)");
        blocked("%s(MSG_FASTOPEN) to %s: %s", call, argv[1], ename(errno));
    }
    if (getpeername(s, (struct sockaddr *)&peer, &len) != 0)
        blocked("sent %zd bytes, but not connected: %s", sent, ename(errno));
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    escaped("a TCP stream to %s:%d, opened by %s(MSG_FASTOPEN), sent %zd bytes", text,
            ntohs(peer.sin_port), call, sent);
}
