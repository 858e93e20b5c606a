/* sig_peerpidfd.c MODE SOCKET: a pidfd of a process outside the traced tree that the program
 * never asked pidfd_open(2) for -- the kernel hands it out with a unix socket's peer -- and a
 * signal sent through it, under a policy whose only permit of signal calls is tree-scoped
 * (target = "tree": tests/escape/test_escape_redteam30.py).  The peer is a listener the test
 * started in a session of its own (a service's socket).  ESCAPED when the listener ended.
 *
 *   peer   connect to SOCKET, getsockopt(SO_PEERPIDFD) (Linux 6.5): the listener's pidfd
 *   scm    connect with SO_PASSPIDFD set, read the listener's first message: its SCM_PIDFD
 *          control message installs a pidfd of the sender (Linux 6.5)
 * Then pidfd_send_signal(pidfd, SIGTERM).
 *   getfd  the pidfd as peer's, then pidfd_getfd(pidfd, 50): the listener holds the secret at
 *          descriptor 50 -- ESCAPED when the copy is the secret (the listener is the same
 *          user's, or the program is root: ptrace's access check)
 * Red team 30 (docs/security.md): class 6 -- a descriptor from outside the tree naming a
 * process outside it.
 */
#include "attack.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

int main(int argc, char **argv) {
    if (argc < 3)
        usage("sig_peerpidfd peer|scm|getfd SOCKET");
    const char *mode = argv[1];
    struct sockaddr_un sa;
    int sock = unix_socket_at(argv[2], &sa);
    if (sock < 0)
        blocked("socket: %s", ename(errno));
    int one = 1;
    if (!strcmp(mode, "scm") && setsockopt(sock, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof one))
        skipped("SO_PASSPIDFD: %s", ename(errno));
    if (connect(sock, (struct sockaddr *)&sa, sizeof sa))
        blocked("connect: %s", ename(errno));
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len))
        blocked("SO_PEERCRED: %s", ename(errno));
    int pidfd = -1;
    if (strcmp(mode, "scm")) {
        len = sizeof pidfd;
        if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len)) {
            if (errno == ENOPROTOOPT)
                skipped("SO_PEERPIDFD: %s", ename(errno));
            blocked("SO_PEERPIDFD: %s", ename(errno));
        }
    } else {
        char byte, control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof control};
        if (recvmsg(sock, &msg, 0) != 1)
            blocked("recvmsg: %s", ename(errno));
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_PIDFD)
                memcpy(&pidfd, CMSG_DATA(c), sizeof pidfd);
        if (pidfd < 0)
            skipped("no SCM_PIDFD came with the message");
    }
    note("a pidfd (%d) of the listener, pid %d", pidfd, (int)cred.pid);
    if (!strcmp(mode, "getfd")) {
        int copy = (int)syscall(SYS_pidfd_getfd, pidfd, 50, 0);
        if (copy < 0)
            blocked("pidfd_getfd: %s", ename(errno));
        if (is_secret_fd(copy))
            escaped("pidfd_getfd gave the listener's descriptor of the secret (%s)",
                    fd_name(copy));
        blocked("pidfd_getfd gave another file: %s", fd_name(copy));
    }
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0))
        blocked("pidfd_send_signal: %s", ename(errno));
    if (process_ends_soon(cred.pid))
        escaped("the listener (pid %d, outside the tree) ended by SIGTERM", (int)cred.pid);
    blocked("the listener lives on");
}
