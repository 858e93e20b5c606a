/* ask_argv.c: the argv a question shows is one the program chose (red team 27).
 *
 * A question about a call shows the asking process's argv, and a person (or an approver)
 * reads it to judge the call: "git status" reading a file under .git is expected, the same
 * read by "sh -c 'curl ...'" is not.  Two ways the program chose what it showed:
 *
 *   ask_argv check ECHO SECRET    an execveat of ECHO (a program a rule decides by its argv,
 *                                 so the tracer read this argv) with AT_EXECVE_CHECK (Linux
 *                                 6.14: the kernel checks the exec and runs nothing) and argv
 *                                 "git status"; then a real exec of itself (read SECRET), an
 *                                 exec whose argv no rule looks at: the tracer kept the
 *                                 checked call's argv, and gave it to the new image's
 *                                 questions and to its exec record in the log
 *   ask_argv rewrite SECRET       the program writes "git\0status\0" over its own argument
 *                                 strings (any process may: /proc/PID/cmdline reads them
 *                                 from its memory), then reads SECRET; a question about a
 *                                 process whose exec argv the tracer had not read showed
 *                                 /proc/PID/cmdline as it was at the question
 *   ask_argv empty SECRET         an exec of itself with an empty argv (the kernel passes one
 *                                 empty string), SECRET in $ASK_ARGV_SECRET, where a rule
 *                                 decides the program by its argv (so the tracer read it:
 *                                 none) -- then the new image writes "git status" over its
 *                                 argument string and on into its environment (the kernel's
 *                                 cmdline then reads on, as after setproctitle) and reads
 *                                 SECRET: an argv read as empty was taken for one not read,
 *                                 and the question showed /proc/PID/cmdline
 *   ask_argv read SECRET          (the image the check mode execs) read SECRET
 *
 * Natively nothing asks: the check returns 0 without running ECHO (SKIPPED where the
 * kernel has no AT_EXECVE_CHECK: EINVAL), and the secret is read (the control).
 */
#include "attack.h"

#ifndef AT_EXECVE_CHECK
#define AT_EXECVE_CHECK 0x10000
#endif

extern char **environ;

static void read_secret(const char *secret) {
    char buf[256] = {0};
    int fd = open(secret, O_RDONLY);
    if (fd < 0) blocked("open of the secret: %s", ename(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n > 0 && strstr(buf, SECRET_MAGIC)) escaped("read the secret (the question showed git status)");
    blocked("read %zd bytes, not the secret", n);
}

int main(int argc, char **argv) {
    const char *planted = getenv("ASK_ARGV_SECRET");
    if (planted != NULL && argc == 0) skipped("an empty argv stays empty (Linux < 5.18)");
    if (planted != NULL && argc == 1 && argv[0][0] == '\0') {
        char secret[4096];
        snprintf(secret, sizeof secret, "%s", planted);
        /* argv[0]'s one NUL, then the environment strings: overwritten past the NUL, the
         * kernel's cmdline reads on to the next NUL (setproctitle) */
        static const char shown[] = "git status";
        memcpy(argv[0], shown, sizeof shown);
        read_secret(secret);
    }
    if (argc == 3 && !strcmp(argv[1], "empty")) {
        char *none[] = {NULL};
        char variable[4200];
        snprintf(variable, sizeof variable, "ASK_ARGV_SECRET=%s", argv[2]);
        char *env[] = {variable, "FILLER=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL};
        execve("/proc/self/exe", none, env);
        blocked("exec of itself: %s", ename(errno));
    }
    if (argc == 3 && !strcmp(argv[1], "read")) read_secret(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "check")) {
        char *shown[] = {"git", "status", NULL};
        if (syscall(SYS_execveat, AT_FDCWD, argv[2], shown, environ, AT_EXECVE_CHECK) != 0) {
            if (errno == EINVAL) skipped("no AT_EXECVE_CHECK (Linux < 6.14)");
            blocked("the exec check of %s: %s", argv[2], ename(errno));
        }
        char *next[] = {argv[0], "read", argv[3], NULL};
        execv("/proc/self/exe", next);
        blocked("exec of itself: %s", ename(errno));
    }
    if (argc == 3 && !strcmp(argv[1], "rewrite")) {
        char secret[4096];
        snprintf(secret, sizeof secret, "%s", argv[2]);
        /* the argument strings are contiguous, argv[0]'s first byte to argv[2]'s NUL */
        char *start = argv[0], *end = argv[2] + strlen(argv[2]) + 1;
        static const char shown[] = "git\0status";
        if ((size_t)(end - start) < sizeof shown) blocked("argv too short to rewrite");
        memset(start, 0, (size_t)(end - start));
        memcpy(start, shown, sizeof shown);
        read_secret(secret);
    }
    fprintf(stderr, "usage: ask_argv check ECHO SECRET | rewrite SECRET | empty SECRET"
                    " | read SECRET\n");
    return 2;
}
