/* dns_tfo.c: a DNS query over TCP begun by sendto(MSG_FASTOPEN) on an unconnected socket
 * -- a stream to port 53 that no connect() names (issue 11, red team 87; class 7, host
 * names).
 *
 * systrace's resolver sees a query sent to a name server of /etc/resolv.conf on port 53,
 * over UDP or TCP: the address of the connect or the send is replaced by its own.  A TCP
 * Fast Open send carries the connect's address in sendto itself; were it not redirected,
 * the query would reach the name server unseen, and a name a `never` rule refuses would be
 * answered.
 *
 *   dns_tfo NAME   sends one framed A query for NAME with sendto(MSG_FASTOPEN) to the first
 *                  name server of /etc/resolv.conf (port 53) and reads the answer: ESCAPED
 *                  when it gives an address, BLOCKED when it gives none (or no answer)
 */
#include "attack.h"
#include "dns_query.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

int main(int argc, char **argv) {
    struct sockaddr_in server;
    unsigned char q[514], r[514];
    if (argc != 2)
        usage("dns_tfo NAME");
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    size_t n = question(q + 2, 0x87f0, 0x0100, 0, argv[1]);
    q[0] = (unsigned char)(n >> 8);
    q[1] = (unsigned char)n;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {8, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (sendto(s, q, n + 2, MSG_FASTOPEN, (struct sockaddr *)&server, sizeof server) !=
        (ssize_t)(n + 2))
        blocked("sendto(MSG_FASTOPEN): %s", ename(errno));
    size_t have = 0;
    while (have < 2 || have < 2 + (size_t)(r[0] << 8 | r[1])) {
        ssize_t got = recv(s, r + have, sizeof r - have, 0);
        if (got <= 0)
            blocked("no answer (%s)", got < 0 ? ename(errno) : "closed");
        have += (size_t)got;
        if (have == sizeof r)
            break;
    }
    unsigned char *a = r + 2;
    size_t len = have - 2;
    int rcode = a[3] & 15, answers = a[6] << 8 | a[7];
    if (len < 16 || rcode != 0 || answers < 1)
        blocked("the answer gave no address (rcode %d, %d answers)", rcode, answers);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, a + len - 4, text, sizeof text);
    escaped("the name server answered %s: %s", argv[1], text);
}
