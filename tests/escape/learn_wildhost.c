/* learn_wildhost.c: a host name that is a host pattern.
 *
 * A connect to an address the program looked a name up for is learned as `host = "NAME"`.
 * In a `host` condition `*.domain` is every name below the domain.  A zone with a wildcard
 * record (S3's `*.s3.amazonaws.com`, many hosters') answers a lookup of the literal name
 * `*.domain` too: looked up and connected to while learning, the rule let the next run reach
 * every name below the domain.
 *
 *   learn_wildhost SERVER PORT NAME...   look each NAME up -- a query of its own to the
 *                 name server SERVER (/etc/resolv.conf's: glibc's getaddrinfo refuses a `*`)
 *                 -- and connect to it on PORT; ESCAPED when a name after the first was reached
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* The first A record of NAME, asked of SERVER:53 (0: none). */
static in_addr_t lookup(const char *server, const char *name) {
    unsigned char q[512] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, r[512];
    size_t n = 12;
    for (const char *label = name; *label;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        q[n++] = (unsigned char)len;
        memcpy(q + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    q[n++] = 0;
    q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1;  /* A, IN */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, server, &to.sin_addr);
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (s < 0 || connect(s, (void *)&to, sizeof to) < 0 || send(s, q, n, 0) < 0)
        return 0;
    ssize_t got = recv(s, r, sizeof r, 0);
    close(s);
    if (got < (ssize_t)n + 16 || (r[3] & 0x0f) != 0 || (r[6] | r[7]) == 0)
        return 0;
    in_addr_t a;
    memcpy(&a, r + got - 4, 4);  /* (one answer: the last 4 bytes are its address) */
    return a;
}

int main(int argc, char **argv) {
    if (argc < 4)
        blocked("usage: learn_wildhost SERVER PORT NAME...");
    int reached = 0;
    for (int i = 3; i < argc; i++) {
        in_addr_t a = lookup(argv[1], argv[i]);
        if (!a) {
            note("%s: no address", argv[i]);
            continue;
        }
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])),
                                 .sin_addr.s_addr = a};
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s >= 0 && connect(s, (void *)&to, sizeof to) == 0) {
            note("%s: connected", argv[i]);
            if (i > 3)
                reached++;
        } else {
            note("%s: %s", argv[i], ename(errno));
        }
        if (s >= 0)
            close(s);
    }
    if (reached)
        escaped("reached %d name(s) after the first", reached);
    blocked("reached no name after the first");
}
