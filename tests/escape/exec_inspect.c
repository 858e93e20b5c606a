/* exec_inspect.c: an exec into a Python script's table whose interpreter then runs the
 * caller's code -- PYTHONINSPECT (red team 25).
 *
 * An exec into another table is refused when its environment carries a variable that makes
 * the loader or the script's interpreter run code the caller chose (environment.runs_code:
 * PYTHONPATH, PYTHONSTARTUP...), unless the run started with it or the table grants it.
 * PYTHONINSPECT=1 is Python's -i: after the script, Python reads commands from stdin -- an
 * interactive prompt when stdin is a terminal.  The caller makes that terminal (a pty of its
 * own) and types the commands: they run in the script's process, with the script's table.
 *
 *   exec_inspect run SCRIPT   exec SCRIPT (a Python script with a table of its own) with
 *                             PYTHONINSPECT=1 on a pty, and type a line that prints the
 *                             secret (secd/secret.txt): ESCAPED when it comes back
 *
 * The same door by HOME: Python adds ~/.local/lib/pythonX.Y/site-packages (the user site,
 * which PYTHONUSERBASE, in the list, moves) and runs the "import" lines of its .pth files.
 *
 *   exec_inspect home DIR [NAME=VALUE | -NAME]... PROGRAM [ARG...]
 *       exec PROGRAM ARG... with HOME=DIR, whose user site holds a .pth of the caller's (it
 *       says ESCAPED when it read the secret), each NAME=VALUE set and each -NAME unset
 *       first (-HOME: no HOME at all)
 */
#include "attack.h"

#include <signal.h>
#include <sys/wait.h>

static int run(const char *script) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        skipped("no pseudo-terminal: %s", ename(errno));
    const char *slave = ptsname(master);
    if (slave == NULL) skipped("ptsname: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0) skipped("fork: %s", ename(errno));
    if (pid == 0) {
        setsid();
        int fd = open(slave, O_RDWR);
        if (fd < 0) _exit(1);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) close(fd);
        close(master);
        setenv("PYTHONINSPECT", "1", 1);
        char *argv[] = {(char *)script, NULL};
        execv(script, argv);
        dprintf(1, "exec of the script failed: %s\r\n", ename(errno));
        _exit(1);
    }
    /* typed ahead: the line discipline keeps the lines until Python's prompt reads them */
    const char typed[] = "print('GOT', open('secd/secret.txt').read())\nexit()\n";
    if (write(master, typed, sizeof typed - 1) < 0) skipped("write: %s", ename(errno));
    alarm(20);
    char out[8192];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(master, out + got, sizeof out - 1 - got);
        if (n <= 0) break;  /* EIO: the last process of the terminal closed it */
        got += (size_t)n;
        if (got >= sizeof out - 1) break;
    }
    out[got] = 0;
    waitpid(pid, NULL, 0);
    if (strstr(out, SECRET_MAGIC)) escaped("the caller's line ran in the script, with its table");
    for (char *c = out; *c; c++)
        if (*c == '\r' || *c == '\n') *c = ' ';
    blocked("no secret on the terminal: %.2000s", out);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "run") == 0) return run(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "home") == 0) {
        setenv("HOME", argv[2], 1);
        int at = 3;
        for (; at < argc && (argv[at][0] == '-' || strchr(argv[at], '=')); at++) {
            if (argv[at][0] == '-') unsetenv(argv[at] + 1);
            else putenv(argv[at]);
        }
        if (at == argc) blocked("no program given");
        execv(argv[at], argv + at);
        blocked("exec of the script: %s", ename(errno));
    }
    fprintf(stderr, "usage: exec_inspect run SCRIPT | home DIR [NAME=VALUE|-NAME]... PROGRAM"
                    " [ARG...]\n");
    return 2;
}
