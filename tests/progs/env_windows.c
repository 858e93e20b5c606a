/* env_windows: an exec's environment laid out where the native loop's one read of its windows
 * (_cloop.c read_windows: up to four ranges in one process_vm_readv, which stops at the first
 * byte it cannot read) gets part of a window, or none of one -- review 12.
 *
 *   env_windows run CASE PRINTER   /usr/bin/true, then PRINTER with an environment made for
 *                                  CASE, each run by a vfork child (as a shell runs them):
 *     partial  -- A in the last 100 bytes of a page with nothing mapped after it (its window
 *                 is cut there: the read stops), B and C in a mapping 1 MiB above (their
 *                 windows not reached by that read), D on the stack
 *     partial2 -- B and C first, two whole windows, then A's cut short, D's not reached
 *     spread   -- six strings 64 KiB apart: more windows than one read takes
 *     loader   -- LD_PRELOAD in a window that read did not reach (an exec into another
 *                 table with it: refused, EPERM, as Python refuses it)
 *     hole     -- a pointer to memory not mapped: EFAULT
 *     cut      -- a string that runs into memory not mapped: EFAULT
 *   env_windows print              print each environment entry, one a line
 *
 * The printer (a table of its own in the test: the loop reads the environment of an exec
 * into another table) prints what it got; natively, and under systrace in both loops, the
 * same -- or the same errno.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *region(unsigned long at, size_t size) {
    char *got = mmap((void *)at, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == MAP_FAILED) {
        printf("mmap at %#lx: %s\n", at, strerror(errno));
        return NULL;
    }
    return got;
}

static char *put(char *at, const char *text) {
    strcpy(at, text);
    return at;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "print") == 0) {
        for (char **e = environ; *e; e++) printf("%zu %s\n", strlen(*e), *e);
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: env_windows run CASE PRINTER | env_windows print\n");
        return 2;
    }
    const char *what = argv[2];
    long page = sysconf(_SC_PAGESIZE);
    /* at addresses of their own, in this order: LOW and TOP two pages each, the second
     * unmapped (the first's end is followed by nothing), MID four pages between them, WIDE
     * six times 64 KiB above them all (the stack above everything) */
    char *low = region(0x200000000UL, 2 * page), *mid = region(0x200100000UL, 4 * page);
    char *top = region(0x200200000UL, 2 * page), *wide = region(0x300000000UL, 6 * 65536);
    if (!low || !mid || !top || !wide) return 1;
    munmap(low + page, page);
    munmap(top + page, page);
    char stacked[] = "D=on the stack";
    char *env[16] = {NULL};
    char a[80];
    memset(a, 'a', sizeof a - 1);
    a[0] = 'A';
    a[1] = '=';
    a[sizeof a - 1] = 0;
    if (strcmp(what, "partial") == 0) {  /* the first window cut short, none of the others */
        env[0] = put(low + page - 100, a);
        env[1] = put(mid + 16, "B=in a mapping above, past the first window's read");
        env[2] = put(mid + 2 * page, "C=further up in that mapping");
        env[3] = stacked;
    } else if (strcmp(what, "partial2") == 0) {  /* two whole windows, the third cut short */
        env[0] = put(top + page - 100, a);
        env[1] = put(mid + 16, "B=in the first window");
        env[2] = put(mid + 2 * page, "C=in the second");
        env[3] = stacked;
    } else if (strcmp(what, "spread") == 0) {
        for (int i = 0; i < 6; i++) {
            char text[32];
            snprintf(text, sizeof text, "S%d=window %d", i, i);
            env[i] = put(wide + (size_t)i * 65536 + 8, text);
        }
    } else if (strcmp(what, "loader") == 0) {  /* a loader variable in a window not reached */
        env[0] = put(low + page - 100, a);
        env[1] = put(mid + 16, "LD_PRELOAD=/nonexistent/env_windows.so");
        env[2] = stacked;
    } else if (strcmp(what, "hole") == 0) {
        env[0] = put(mid, "E=fine");
        env[1] = low + page + 8;  /* (unmapped) */
        env[2] = stacked;
    } else if (strcmp(what, "cut") == 0) {
        env[0] = stacked;
        memset(low + page - 16, 'x', 16);  /* no NUL before the hole */
        memcpy(low + page - 16, "F=", 2);
        env[1] = low + page - 16;
    } else {
        fprintf(stderr, "no such case: %s\n", what);
        return 2;
    }
    /* as a shell runs a command: a vfork child execs it (the native loop arms such a child
     * and holds its exec's environment in a copy -- after a first command, which maps the
     * scratch area the copy is written to) */
    char *first[] = {(char *)"/usr/bin/true", NULL}, *args[] = {argv[3], (char *)"print", NULL};
    for (int round = 0; round < 2; round++) {
        pid_t pid = vfork();
        if (pid == 0) {
            if (round == 0) execve(first[0], first, environ);
            else execve(argv[3], args, env);
            _exit(100 + errno);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) < 0) {
            printf("vfork, waitpid: %s\n", strerror(errno));
            return 1;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) >= 100)
            printf("execve: %s\n", strerror(WEXITSTATUS(status) - 100));
        else if (!WIFEXITED(status) || WEXITSTATUS(status))
            printf("status %#x\n", status);
    }
    return 0;
}
