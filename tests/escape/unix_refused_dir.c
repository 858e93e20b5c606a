/* unix_refused_dir.c: a socket file in a directory the policy refuses, reached by connect
 * (red team 86).
 *
 *   unix_refused_dir SOCKPATH [stream|dgram|sendmsg|sendmmsg|opath|link]
 *
 * SOCKPATH names a unix socket a process outside the tree listens on (an agent: ssh-agent
 * at ~/.ssh/agent.sock, gpg-agent at ~/.gnupg/S.gpg-agent), in a directory whose files a rule
 * refuses to read and write.  The kernel's lookup of SOCKPATH walks that directory and asks
 * for write permission on the socket file (connect(2) is an open of it for writing, as far as
 * the kernel's permission check is concerned); a bind there is refused by the fswrite rule as
 * the mknod it is.  stream: connect(2); dgram: sendto(2) a datagram to SOCKPATH; sendmsg: the
 * same by sendmsg(2).  ESCAPED when the kernel delivered to the socket in the refused
 * directory. */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOCKPATH [stream|dgram|sendmsg|sendmmsg|opath|link]\n", argv[0]);
        return 2;
    }
    const char *mode = argc > 2 ? argv[2] : "stream";
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sun.sun_path)
        skipped("socket path too long: %s", argv[1]);
    strcpy(sun.sun_path, argv[1]);
    if (strcmp(mode, "opath") == 0) {
        int fd = open(argv[1], O_PATH);
        if (fd < 0)
            blocked("open %s O_PATH: %s", argv[1], ename(errno));
        snprintf(sun.sun_path, sizeof sun.sun_path, "/proc/self/fd/%d", fd);
        mode = "stream";
    } else if (strcmp(mode, "link") == 0) {
        unlink("agent-link");
        if (symlink(argv[1], "agent-link") != 0)
            blocked("symlink agent-link: %s", ename(errno));
        strcpy(sun.sun_path, "agent-link");
        mode = "stream";
    }
    int stream = strcmp(mode, "stream") == 0;
    int s = socket(AF_UNIX, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    static const char msg[] = "sign this with the user's key";
    if (stream) {
        if (connect(s, (struct sockaddr *)&sun, sizeof sun) != 0)
            blocked("connect %s: %s", sun.sun_path, ename(errno));
        if (write(s, msg, sizeof msg - 1) < 0)
            blocked("write after connect: %s", ename(errno));
        escaped("connect to %s (%s: a socket in the refused directory)", sun.sun_path, argv[1]);
    }
    ssize_t n;
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof msg - 1};
    struct msghdr mh = {.msg_name = &sun, .msg_namelen = sizeof sun, .msg_iov = &iov,
                        .msg_iovlen = 1};
    if (strcmp(mode, "sendmsg") == 0) {
        n = sendmsg(s, &mh, 0);
    } else if (strcmp(mode, "sendmmsg") == 0) {
        struct mmsghdr mm = {.msg_hdr = mh};
        n = sendmmsg(s, &mm, 1, 0);
        if (n == 1)
            n = mm.msg_len;
    } else {
        n = sendto(s, msg, sizeof msg - 1, 0, (struct sockaddr *)&sun, sizeof sun);
    }
    if (n < 0)
        blocked("%s %s: %s", mode, argv[1], ename(errno));
    escaped("%s to %s (a socket in the refused directory): %zd bytes", mode, argv[1], n);
}
