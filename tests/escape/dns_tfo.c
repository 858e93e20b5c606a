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
 * Several names are sent in the one send, one framed query after another (DNS over TCP
 * pipelines: RFC 7766), so that a refused name rides behind a permitted one.
 *
 *   dns_tfo NAME...  sends a framed A query for each NAME, all in one sendto(MSG_FASTOPEN)
 *                    to the first name server of /etc/resolv.conf (port 53), and reads the
 *                    answers in turn, saying each ("NAME: ADDRESS" or "NAME: rcode N");
 *                    ESCAPED when the LAST name's answer gives an address, BLOCKED when it
 *                    gives none (or no answer)
 */
#include "attack.h"
#include "dns_query.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

/* One framed answer from s into r (up to size bytes): its length, or -1. */
static ssize_t framed(int s, unsigned char *r, size_t size) {
    size_t have = 0, want = 2;
    while (have < want) {
        ssize_t got = recv(s, r + have, want - have, 0);
        if (got <= 0)
            return -1;
        have += (size_t)got;
        if (have == 2) {
            want = 2 + (size_t)(r[0] << 8 | r[1]);
            if (want > size)
                return -1;
        }
    }
    return (ssize_t)have;
}

int main(int argc, char **argv) {
    struct sockaddr_in server;
    unsigned char q[4096], r[514];
    size_t n = 0;
    if (argc < 2)
        usage("dns_tfo NAME...");
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    for (int i = 1; i < argc; i++) {
        if (n + 2 + strlen(argv[i]) + 18 > sizeof q)
            usage("dns_tfo NAME... (shorter names)");
        size_t one = question(q + n + 2, (uint16_t)(0x8700 + i), 0x0100, 0, argv[i]);
        q[n] = (unsigned char)(one >> 8);
        q[n + 1] = (unsigned char)one;
        n += 2 + one;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {8, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (sendto(s, q, n, MSG_FASTOPEN, (struct sockaddr *)&server, sizeof server) != (ssize_t)n)
        blocked("sendto(MSG_FASTOPEN): %s", ename(errno));
    char text[INET_ADDRSTRLEN] = "";
    for (int i = 1; i < argc; i++) {
        ssize_t len = framed(s, r, sizeof r);
        if (len < 0)
            blocked("no answer for %s (%s)", argv[i], ename(errno));
        unsigned char *a = r + 2;
        int rcode = a[3] & 15, answers = a[6] << 8 | a[7];
        if (len < 18 || rcode != 0 || answers < 1) {
            printf("%s: rcode %d\n", argv[i], rcode);
            text[0] = 0;
            continue;
        }
        inet_ntop(AF_INET, a + len - 2 - 4, text, sizeof text);
        printf("%s: %s\n", argv[i], text);
    }
    fflush(stdout);
    if (text[0])
        escaped("the name server answered %s: %s", argv[argc - 1], text);
    blocked("the answer for %s gave no address", argv[argc - 1]);
}
