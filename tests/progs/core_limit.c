/* RLIMIT_CORE set by a child that then aborts in DIR, where a file "core" exists.
 *
 *   core_limit DIR LIMIT
 *
 * Prints "setrlimit LIMIT -> ok|ERRNO", "dumped -> yes|no" (the wait status's WCOREDUMP bit)
 * and "core -> untouched|written|gone": whether the kernel replaced DIR/core with a core
 * dump (it does where core_pattern is a file name, "core" by default).  LTP's
 * tst_no_corefile sets a limit of 1, which dumps nothing; abort01, kill11... raise it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3 || chdir(argv[1]) != 0)
        return 2;
    FILE *f = fopen("core", "w");
    if (!f || fputs("ORIGINAL\n", f) < 0 || fclose(f) != 0)
        return 3;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 4;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {strtoul(argv[2], NULL, 10), strtoul(argv[2], NULL, 10)};
        int err = setrlimit(RLIMIT_CORE, &r) == 0 ? 0 : errno;
        if (write(pipefd[1], &err, sizeof err) != sizeof err)
            _exit(5);
        abort();
    }
    int err = -1, status;
    if (read(pipefd[0], &err, sizeof err) != sizeof err)
        return 6;
    waitpid(pid, &status, 0);
    printf("setrlimit %s -> %s\n", argv[2], err ? strerrorname_np(err) : "ok");
    printf("dumped -> %s\n", WIFSIGNALED(status) && WCOREDUMP(status) ? "yes" : "no");
    char buf[32] = "";
    f = fopen("core", "r");
    if (!f) {
        printf("core -> gone\n");
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    printf("core -> %s\n", strcmp(buf, "ORIGINAL\n") == 0 ? "untouched" : "written");
    return 0;
}
