/* exec_persona.c: personality flags carried into a program's table (red team 35).
 *
 * ADDR_NO_RANDOMIZE (a layout the caller knows), ADDR_COMPAT_LAYOUT and MMAP_PAGE_ZERO
 * outlive exec: what an exploit of a memory bug in the program needs (READ_IMPLIES_EXEC too,
 * but x86-64's exec clears it itself, set_personality_64bit).  The kernel clears them at a set-user-ID exec (PER_CLEAR_ON_SETID); a table
 * switch did not.
 *
 *   exec_persona attack VICTIM norandom|compat
 *       fork; the child sets the flag and execs VICTIM (this program, copied where a table
 *       names it, or a set-user-ID copy); ESCAPED when the victim ran with the flag.
 *   exec_persona victim
 *       exits 42 when its personality holds one of the flags, 0 when not.
 */
#include "attack.h"

#include <sys/personality.h>

#define CLEARED (READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO)

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "victim") == 0) {
        int now = personality(0xffffffff);
        return now != -1 && (now & CLEARED) ? 42 : 0;
    }
    if (argc != 4 || strcmp(argv[1], "attack") != 0) {
        blocked("usage: exec_persona attack VICTIM norandom|compat");
    }
    const char *prog = argv[2], *how = argv[3];
    unsigned long flag = strcmp(how, "compat") == 0 ? ADDR_COMPAT_LAYOUT : ADDR_NO_RANDOMIZE;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0) blocked("fork: %s", ename(errno));
    if (pid == 0) {
        if (personality(flag) == -1) _exit(125);
        execl(prog, prog, "victim", (char *)NULL);
        int e = errno;
        (void)!write(pipefd[1], &e, sizeof e);
        _exit(126);
    }
    close(pipefd[1]);
    int e = 0;
    if (read(pipefd[0], &e, sizeof e) != (ssize_t)sizeof e) e = 0;
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 42) {
        escaped("the program ran with the caller's personality flag (%s)", how);
    }
    blocked("exec: %s, status %d: the flag did not reach the program", e ? ename(e) : "ran",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
