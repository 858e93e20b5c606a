/* Red team 43: a tree that makes process events faster than an approver reads them.
 *
 * approver_flood N: N times, fork a child that execs /bin/true with as much argv as the
 * kernel takes (up to 14 strings of 128 KiB - 1, within a quarter of the stack limit),
 * and wait for it.  Each exec is a process event an approver that asked for them is sent
 * with its argv, about 1.8 MiB each; one that does not read them made them queue in
 * systrace's memory without bound.  Prints "done N" (or "SKIPPED: ..." when the exec
 * fails natively).  No verdict line: this is a denial of service, not an escape. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define STRLEN (128 * 1024 - 1)
#define MAXSTR 14

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    struct rlimit rl;
    size_t room = 2u << 20;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < room)
        room = rl.rlim_cur / 4;
    int count = (int)(room / (STRLEN + 1 + sizeof(char *))) - 1;
    if (count > MAXSTR)
        count = MAXSTR;
    if (count < 1) {
        printf("SKIPPED: a stack limit too small for a large argv\n");
        return 0;
    }
    char *big = malloc(STRLEN + 1);
    if (big == NULL)
        return 1;
    memset(big, 'A', STRLEN);
    big[STRLEN] = '\0';
    char *args[MAXSTR + 2];
    args[0] = "/bin/true";
    for (int i = 1; i <= count; i++)
        args[i] = big;
    args[count + 1] = NULL;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execv("/bin/true", args);
            _exit(errno == E2BIG ? 3 : 127);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("SKIPPED: the exec failed natively (status %d)\n", status);
            return 0;
        }
    }
    printf("done %d\n", n);
    return 0;
}
