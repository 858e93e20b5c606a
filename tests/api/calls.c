/* calls: make each system call the record tests check, with known arguments.
 *
 *   calls DIR PORT OP...
 *
 * DIR is an empty scratch directory (the program chdirs into it), PORT a free TCP port on
 * 127.0.0.1 and ::1.  Every call is made with syscall(2), so the kernel sees exactly the call
 * named (glibc would turn open() into openat, stat() into newfstatat, fork() into clone).
 * Each OP prints "OP rc" lines so a test can see what the program got back.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static void say(const char *op, long rc) {
    printf("%s %ld\n", op, rc < 0 ? -(long)errno : rc);
    fflush(stdout);
}

static int port;

static void files(void) {
    /* open: relative, through "..", creating with a mode */
    long fd = syscall(SYS_open, "sub/../file", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    say("open", fd);
    say("write", syscall(SYS_write, fd, "hello", 5));
    close(fd);
    say("open-missing", syscall(SYS_open, "missing", O_RDONLY));
    long dirfd = syscall(SYS_open, ".", O_RDONLY | O_DIRECTORY);
    long rfd = syscall(SYS_openat, dirfd, "file", O_RDONLY);
    say("openat", rfd);
    char buf[100];
    say("read", syscall(SYS_read, rfd, buf, sizeof buf));
    say("openat-missing", syscall(SYS_openat, AT_FDCWD, "nothere", O_RDONLY));
    symlink("file", "link");
    /* chown family */
    say("chown", syscall(SYS_chown, "file", 1234, 5678));
    say("fchown", syscall(SYS_fchown, rfd, -1, 4321));
    say("lchown", syscall(SYS_lchown, "link", 42, 43));
    say("fchownat", syscall(SYS_fchownat, dirfd, "link", 7, 8, AT_SYMLINK_NOFOLLOW));
    say("chown-missing", syscall(SYS_chown, "missing", 1, 1));
    /* chmod family */
    say("chmod", syscall(SYS_chmod, "file", 0600));
    say("fchmod", syscall(SYS_fchmod, rfd, 0604));
    say("fchmodat", syscall(SYS_fchmodat, dirfd, "file", 0640));
    /* stat family */
    struct stat st;
    say("stat", syscall(SYS_stat, "file", &st));
    say("lstat", syscall(SYS_lstat, "link", &st));
    say("fstat", syscall(SYS_fstat, rfd, &st));
    say("newfstatat", syscall(SYS_newfstatat, dirfd, "link", &st, AT_SYMLINK_NOFOLLOW));
    char sx[256];
    say("statx", syscall(SYS_statx, dirfd, "file", 0, 0x7ff, sx));
    say("stat-missing", syscall(SYS_stat, "missing", &st));
    /* mkdir, rename, unlink */
    say("mkdir", syscall(SYS_mkdir, "newdir", 0751));
    say("mkdirat", syscall(SYS_mkdirat, dirfd, "dir2", 0700));
    say("mkdir-exists", syscall(SYS_mkdir, "newdir", 0700));
    say("rename", syscall(SYS_rename, "file", "newdir/moved"));
    say("renameat2", syscall(SYS_renameat2, dirfd, "newdir/moved", dirfd, "link",
                             RENAME_NOREPLACE));
    say("unlink", syscall(SYS_unlink, "newdir/moved"));
    say("unlinkat", syscall(SYS_unlinkat, dirfd, "dir2", AT_REMOVEDIR));
    say("rmdir", syscall(SYS_rmdir, "newdir"));
    close(rfd);
    close(dirfd);
}

static void inet(int family) {
    const char *name = family == AF_INET ? "4" : "6";
    char op[32];
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, "::1", &a->sin6_addr);
        len = sizeof *a;
    }
    long srv = syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(op, sizeof op, "socket%s", name); say(op, srv);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    snprintf(op, sizeof op, "bind%s", name);
    say(op, syscall(SYS_bind, srv, &ss, len));
    snprintf(op, sizeof op, "listen%s", name);
    say(op, syscall(SYS_listen, srv, 7));
    long cli = syscall(SYS_socket, family, SOCK_STREAM, 0);
    snprintf(op, sizeof op, "connect%s", name);
    say(op, syscall(SYS_connect, cli, &ss, len));
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    snprintf(op, sizeof op, "accept%s", name);
    long acc = syscall(SYS_accept4, srv, &peer, &plen, SOCK_CLOEXEC);
    say(op, acc);
    close(acc); close(cli); close(srv);
}

static void unix_sockets(void) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, "sock");
    long srv = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    say("socketu", srv);
    say("bindu", syscall(SYS_bind, srv, &a, sizeof a));
    say("listenu", syscall(SYS_listen, srv, 3));
    long cli = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    long cli2 = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    say("connectu", syscall(SYS_connect, cli2, &a, sizeof a));
    say("acceptu", syscall(SYS_accept, srv, NULL, NULL));
    struct sockaddr_in bad = {.sin_family = AF_INET, .sin_port = htons(1)};
    inet_pton(AF_INET, "127.0.0.1", &bad.sin_addr);
    long cli3 = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    say("connect-refused", syscall(SYS_connect, cli3, &bad, sizeof bad));
    close(cli); close(cli2); close(cli3); close(srv);
}

static void processes(void) {
    pid_t child = fork();              /* glibc: clone(SIGCHLD | CLONE_CHILD_*) */
    if (child == 0) {
        char *argv[] = {"true", "exec-arg", NULL};
        char *envp[] = {NULL};
        syscall(SYS_execve, "/bin/true", argv, envp);
        _exit(127);
    }
    say("fork", child > 0 ? 0 : -1);
    waitpid(child, NULL, 0);
    long raw = syscall(SYS_fork);
    if (raw == 0)
        _exit(3);
    say("rawfork", raw > 0 ? 0 : raw);
    waitpid(raw, NULL, 0);
    pid_t v = vfork();
    if (v == 0)
        _exit(4);
    waitpid(v, NULL, 0);
    say("execve-missing", syscall(SYS_execve, "/nonexistent/prog", (char *[]){"x", NULL},
                                  (char *[]){NULL}));
    signal(SIGUSR1, SIG_IGN);
    say("kill0", syscall(SYS_kill, getpid(), 0));
    say("killusr1", syscall(SYS_kill, getpid(), SIGUSR1));
    say("kill-esrch", syscall(SYS_kill, 999999999, SIGTERM));
    say("tgkill", syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1));
}

int main(int argc, char **argv) {
    if (argc < 3 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: calls DIR PORT OP...\n");
        return 2;
    }
    mkdir("sub", 0755);
    port = atoi(argv[2]);
    for (int i = 3; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "files")) files();
        else if (!strcmp(op, "inet")) { inet(AF_INET); inet(AF_INET6); }
        else if (!strcmp(op, "unix")) unix_sockets();
        else if (!strcmp(op, "processes")) processes();
        else if (!strcmp(op, "getuid")) say("getuid", syscall(SYS_getuid));
        else if (!strcmp(op, "hello")) say("hello", syscall(SYS_write, 1, "hello\n", 6));
        else if (!strncmp(op, "opens:", 6)) {
            /* openat each comma-separated name once, read-only */
            char names[512];
            snprintf(names, sizeof names, "%s", op + 6);
            for (char *n = strtok(names, ","); n; n = strtok(NULL, ",")) {
                long fd = syscall(SYS_openat, AT_FDCWD, n, O_RDONLY);
                say(n, fd);
                if (fd >= 0) close(fd);
            }
        }
        else if (!strncmp(op, "cat:", 4)) {
            /* print a file's content (open read-only, then read/write) */
            long fd = syscall(SYS_openat, AT_FDCWD, op + 4, O_RDONLY);
            if (fd < 0) { say("cat", fd); continue; }
            char buf[4096];
            long n = read(fd, buf, sizeof buf);
            if (n > 0) fwrite(buf, 1, n, stdout);
            fflush(stdout);
            close(fd);
        }
        else if (!strncmp(op, "mkdir:", 6)) {
            umask(0);
            say("mkdir", syscall(SYS_mkdir, op + 6, 0777));
        }
        else if (!strcmp(op, "getpids")) {
            for (int k = 0; k < 20000; k++) syscall(SYS_getpid);
            say("getpids", 0);
        }
        else { fprintf(stderr, "calls: unknown op %s\n", op); return 2; }
    }
    return 0;
}
