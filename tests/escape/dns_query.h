/* dns_query.h: what the escape programs that speak DNS themselves share (dns_forge.c,
 * dns_hidden.c, dns_owner.c, dns_relay.c, host_wild.c): the name server they ask, and the
 * query (or answer) they send it.  Included after attack.h. */
#ifndef DNS_QUERY_H
#define DNS_QUERY_H
#include <arpa/inet.h>
#include <netinet/in.h>

/* The first name server of /etc/resolv.conf, port 53, in sa: 0, or -1 when there is none. */
static int nameserver(struct sockaddr_in *sa) {
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256], addr[64];
    int found = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "nameserver %63s", addr) == 1) {
            memset(sa, 0, sizeof *sa);
            sa->sin_family = AF_INET;
            sa->sin_port = htons(53);
            found = inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
            break;
        }
    fclose(f);
    return found;
}

/* A question for name (type A, class IN) after a 12-byte header of id, flags (0x0100: a
 * query, recursion desired) and answers, in q; its length. */
static size_t question(unsigned char *q, uint16_t id, uint16_t flags, uint16_t answers,
                       const char *name) {
    size_t n = 0;
    unsigned char head[12] = {id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, 1,
                              answers >> 8, answers & 0xff, 0, 0, 0, 0};
    memcpy(q, head, sizeof head);
    n = sizeof head;
    for (const char *p = name; *p;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        q[n++] = (unsigned char)len;
        memcpy(q + n, p, len);
        n += len;
        p += len + (dot ? 1 : 0);
    }
    const unsigned char tail[] = {0, 0, 1, 0, 1};
    memcpy(q + n, tail, sizeof tail);
    return n + sizeof tail;
}
#endif
