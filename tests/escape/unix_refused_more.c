/* unix_refused_more.c: other ways to reach a unix socket file in a refused directory
 * (review 67 of red team 86's close).
 *
 *   unix_refused_more SECD_SOCK PUB_SOCK MODE [PID]
 *
 * SECD_SOCK: an agent's socket in the refused directory (stream, listening; for the dgram
 * modes a datagram socket), PUB_SOCK: a socket of the same kind in a permitted directory
 * (same base name "agent.sock").  MODE:
 *   devfd      connect to /dev/fd/N of an O_PATH descriptor of SECD_SOCK
 *   fchdir     fchdir into SECD_SOCK's directory, connect by the relative name
 *   proccwd    connect to /proc/PID/cwd/agent.sock (PID: an outside process whose cwd is
 *              the refused directory)
 *   procbind   bind a new socket at /proc/PID/cwd/made.sock: a file made in the refused
 *              directory (ESCAPED when the bind made it)
 *   long       a 108-byte sun_path without NUL (addrlen 110), slash-padded, naming SECD_SOCK
 *   race       a thread flips sun_path between PUB_SOCK and SECD_SOCK while connects run
 *   cwdrace    a thread fchdirs between the two directories while "agent.sock" is connected
 *   dgramconn  a datagram socket connect()ed to SECD_SOCK, then write()
 *   mmsg2      sendmmsg: message 1 to PUB_SOCK, message 2 to SECD_SOCK (datagram)
 *   procsend   sendto /proc/PID/cwd/agent.sock, a datagram (close 41: as proccwd)
 *   procmsg    sendmsg to /proc/PID/cwd/agent.sock, a datagram (close 41: as proccwd)
 * ESCAPED when the kernel delivered to SECD_SOCK. */
#include "attack.h"
#include <libgen.h>

static struct sockaddr_un flip;
static const char *paths[2];
static volatile int stop;
static int dirs[2];

static void *flipper(void *arg) {
    (void)arg;
    size_t n = sizeof flip.sun_path;
    char a[108], b[108];
    memset(a, 0, n); memset(b, 0, n);
    strncpy(a, paths[0], n - 1); strncpy(b, paths[1], n - 1);
    while (!stop) {
        memcpy(flip.sun_path, a, n);
        memcpy(flip.sun_path, b, n);
    }
    return NULL;
}

static void *chdirer(void *arg) {
    (void)arg;
    while (!stop) {
        fchdir(dirs[0]);
        fchdir(dirs[1]);
    }
    return NULL;
}

/* whether fd reached the secd listener: it answers "secd" (the test's listeners do) */
static int reached_secd(int s) {
    char buf[16] = {0};
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1) return 0;
    ssize_t n = read(s, buf, sizeof buf - 1);
    return n > 0 && strncmp(buf, "secd", 4) == 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s SECD_SOCK PUB_SOCK MODE [PID]\n", argv[0]);
        return 2;
    }
    const char *secd = argv[1], *pub = argv[2], *mode = argv[3];
    signal(SIGPIPE, SIG_IGN);  /* (the listeners answer and close at once) */
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    static const char msg[] = "sign this with the user's key";
    int s;
    if (strcmp(mode, "devfd") == 0 || strcmp(mode, "fchdir") == 0 ||
        strcmp(mode, "proccwd") == 0) {
        if (strcmp(mode, "devfd") == 0) {
            int fd = open(secd, O_PATH);
            if (fd < 0) blocked("open O_PATH: %s", ename(errno));
            snprintf(sun.sun_path, sizeof sun.sun_path, "/dev/fd/%d", fd);
        } else if (strcmp(mode, "fchdir") == 0) {
            char *copy = strdup(secd);
            int d = open(dirname(copy), O_PATH | O_DIRECTORY);
            if (d < 0) blocked("open dir: %s", ename(errno));
            if (fchdir(d) != 0) blocked("fchdir: %s", ename(errno));
            strcpy(sun.sun_path, "agent.sock");
        } else {
            if (argc < 5) return 2;
            snprintf(sun.sun_path, sizeof sun.sun_path, "/proc/%s/cwd/agent.sock", argv[4]);
        }
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&sun, sizeof sun) != 0)
            blocked("connect %s: %s", sun.sun_path, ename(errno));
        (void)!write(s, msg, sizeof msg - 1);
        if (!reached_secd(s)) blocked("connected, not to the secd agent");
        escaped("connect %s reached the agent in the refused directory", sun.sun_path);
    }
    if (strcmp(mode, "procbind") == 0) {
        if (argc < 5) return 2;
        snprintf(sun.sun_path, sizeof sun.sun_path, "/proc/%s/cwd/made.sock", argv[4]);
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(s, (struct sockaddr *)&sun, sizeof sun) != 0)
            blocked("bind %s: %s", sun.sun_path, ename(errno));
        escaped("bind %s made a socket file in the refused directory", sun.sun_path);
    }
    if (strcmp(mode, "long") == 0) {
        static char buf[256];
        memset(buf, 'X', sizeof buf);
        struct sockaddr_un *u = (struct sockaddr_un *)buf;
        u->sun_family = AF_UNIX;
        size_t len = strlen(secd);
        if (len >= 108 || secd[0] != '/') skipped("path");
        /* "/" then slashes to pad, then the path without its leading slash: 108 bytes */
        char *p = u->sun_path;
        size_t pad = 108 - len;
        memset(p, '/', pad + 1);
        memcpy(p + pad + 1, secd + 1, len - 1);
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)u, sizeof(struct sockaddr_un)) != 0)
            blocked("connect (108 bytes, no NUL): %s", ename(errno));
        if (!reached_secd(s)) blocked("connected, not to the secd agent");
        escaped("a 108-byte sun_path without NUL reached the agent");
    }
    if (strcmp(mode, "race") == 0 || strcmp(mode, "cwdrace") == 0) {
        pthread_t t;
        int race = strcmp(mode, "race") == 0;
        if (race) {
            paths[0] = pub; paths[1] = secd;
            flip.sun_family = AF_UNIX;
            strcpy(flip.sun_path, pub);
            pthread_create(&t, NULL, flipper, NULL);
        } else {
            char *c1 = strdup(pub), *c2 = strdup(secd);
            dirs[0] = open(dirname(c1), O_PATH | O_DIRECTORY);
            dirs[1] = open(dirname(c2), O_PATH | O_DIRECTORY);
            if (dirs[0] < 0 || dirs[1] < 0) blocked("open dirs: %s", ename(errno));
            flip.sun_family = AF_UNIX;
            strcpy(flip.sun_path, "agent.sock");
            pthread_create(&t, NULL, chdirer, NULL);
        }
        int hits = 0, refused = 0, tries = 0;
        time_t end = time(NULL) + 8;
        while (time(NULL) < end && tries < 3000) {
            tries++;
            s = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&flip, sizeof flip) == 0) {
                (void)!write(s, msg, sizeof msg - 1);
                if (reached_secd(s)) hits++;
            } else {
                refused++;
            }
            close(s);
            if (hits) break;
        }
        stop = 1;
        pthread_join(t, NULL);
        if (hits) escaped("%s: reached the agent in the refused directory (try %d)", mode, tries);
        blocked("%s: %d tries, %d refused, none reached the agent", mode, tries, refused);
    }
    strcpy(sun.sun_path, secd);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (strcmp(mode, "procsend") == 0 || strcmp(mode, "procmsg") == 0) {
        if (argc < 5) return 2;
        snprintf(sun.sun_path, sizeof sun.sun_path, "/proc/%s/cwd/agent.sock", argv[4]);
        struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof msg - 1};
        struct msghdr m = {.msg_name = &sun, .msg_namelen = sizeof sun, .msg_iov = &iov,
                           .msg_iovlen = 1};
        ssize_t n = strcmp(mode, "procsend") == 0
            ? sendto(s, msg, sizeof msg - 1, 0, (struct sockaddr *)&sun, sizeof sun)
            : sendmsg(s, &m, 0);
        if (n < 0) blocked("%s %s: %s", mode, sun.sun_path, ename(errno));
        escaped("%s %s reached the agent in the refused directory", mode, sun.sun_path);
    }
    if (strcmp(mode, "dgramconn") == 0) {
        if (connect(s, (struct sockaddr *)&sun, sizeof sun) != 0)
            blocked("connect dgram: %s", ename(errno));
        if (write(s, msg, sizeof msg - 1) < 0) blocked("write: %s", ename(errno));
        escaped("a datagram socket connected to the agent in the refused directory wrote");
    }
    if (strcmp(mode, "mmsg2") == 0) {
        struct sockaddr_un ok = {.sun_family = AF_UNIX};
        strcpy(ok.sun_path, pub);
        struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof msg - 1};
        struct mmsghdr mm[2] = {
            {.msg_hdr = {.msg_name = &ok, .msg_namelen = sizeof ok, .msg_iov = &iov, .msg_iovlen = 1}},
            {.msg_hdr = {.msg_name = &sun, .msg_namelen = sizeof sun, .msg_iov = &iov, .msg_iovlen = 1}},
        };
        int n = sendmmsg(s, mm, 2, 0);
        if (n == 2) escaped("sendmmsg: the second message reached the agent");
        blocked("sendmmsg: %d (%s)", n, n < 0 ? ename(errno) : "-");
    }
    skipped("unknown mode %s", mode);
}
