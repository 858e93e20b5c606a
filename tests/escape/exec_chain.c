/* exec_chain: a program with a table of its own runs, at once, a program that has none --
 * which must then be decided by the table of the process that ran it, not by the table the
 * process had before its own exec (review 12, the native loop's exec hook).
 *
 * One binary, copied under three names by the test (a program's table is chosen by its path):
 *
 *   launcher HOW CONFINED READER SECRET   exec CONFINED (main table -> CONFINED's table)
 *   confined HOW READER SECRET            runs READER at once, by HOW:
 *                                           exec   -- execve itself (no new process)
 *                                           vfork  -- vfork, the child execs it
 *                                           spawn  -- posix_spawn (clone3 CLONE_VM|CLONE_VFORK)
 *   reader SECRET                         opens and reads SECRET: ESCAPED when it holds the
 *                                           magic, BLOCKED with the errno otherwise
 *
 * The policy's main table may read the secret; CONFINED's table may not, and READER has no
 * table of its own: run by CONFINED, it is CONFINED's.  Natively the reader reads it (the
 * control); under systrace it must be refused, with either loop.  The native loop let the
 * launcher's exec go and served CONFINED's stops, but asked the monitor about CONFINED's exec
 * of READER with the state Python had of the process -- the launcher's, main table: READER ran
 * under the main table and read the secret.
 */
#include "attack.h"

#include <spawn.h>

extern char **environ;

static int reader(const char *secret) {
    int fd = open(secret, O_RDONLY | O_CLOEXEC);  /* (the variant ld.so opens with) */
    if (fd < 0) blocked("reader: open %s: %s", secret, ename(errno));
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) blocked("reader: read: %s", ename(errno));
    buf[n] = 0;
    if (strstr(buf, SECRET_MAGIC)) escaped("reader read the secret under the main table");
    blocked("reader: the file held no secret");
}

static int confined(const char *how, const char *reader_path, const char *secret) {
    char *argv[] = {(char *)"reader", (char *)secret, NULL};
    if (strcmp(how, "exec") == 0) {
        execve(reader_path, argv, environ);
        blocked("confined: execve reader: %s", ename(errno));
    }
    pid_t pid;
    if (strcmp(how, "vfork") == 0) {
        pid = vfork();
        if (pid == 0) {
            execve(reader_path, argv, environ);
            _exit(100 + errno);
        }
        if (pid < 0) blocked("confined: vfork: %s", ename(errno));
    } else {
        int err = posix_spawn(&pid, reader_path, NULL, NULL, argv, environ);
        if (err) blocked("confined: posix_spawn reader: %s", ename(err));
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) blocked("confined: waitpid: %s", ename(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 100)
        blocked("confined: exec of reader: %s", ename(WEXITSTATUS(status) - 100));
    return 0;  /* (the reader said its verdict) */
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "launcher") == 0) {
        char *next[] = {(char *)"confined", argv[2], argv[4], argv[5], NULL};
        execve(argv[3], next, environ);
        blocked("launcher: execve confined: %s", ename(errno));
    }
    if (argc == 4) return confined(argv[1], argv[2], argv[3]);
    if (argc == 2) return reader(argv[1]);
    fprintf(stderr, "usage: see exec_chain.c\n");
    return 2;
}
