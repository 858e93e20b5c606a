/* exec_pyenv: a Python program with a table of its own, run with a variable that makes its
 * interpreter run code the caller chose before the program's first line.
 *
 *   exec_pyenv PROGRAM NAME=VALUE
 *
 * PROGRAM is a "#!/usr/bin/python3.N" script the policy gives a table of its own (which may
 * read the secret; the caller's may not).  Its argv is its input, not code -- but Python takes
 * more than PYTHONPATH from the environment: PYTHONPYCACHEPREFIX names a tree of compiled
 * modules it loads in place of the standard library's (an "unchecked-hash" .pyc is never
 * compared with its source), PYTHONPLATLIBDIR moves the standard library itself.  The test
 * plants an `encodings` package (imported at every start) whose first lines copy the secret
 * to descriptor 1.  ESCAPED when the program's output holds it.
 * Class 4 (children: code the caller chose, under another program's table).
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 3)
        usage("exec_pyenv PROGRAM NAME=VALUE");
    int fds[2];
    if (pipe(fds) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        char *env[] = {argv[2], "LC_ALL=C", NULL};
        execle(argv[1], argv[1], (char *)NULL, env);
        dprintf(1, "exec: %s\n", ename(errno));
        _exit(127);
    }
    close(fds[1]);
    char out[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof out - 1 && (n = read(fds[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = 0;
    int status;
    waitpid(pid, &status, 0);
    if (strstr(out, SECRET_MAGIC))
        escaped("%s under the program's table read the secret", argv[2]);
    for (char *c = out; *c; c++)
        if (*c == '\n')
            *c = ' ';
    blocked("the program said: %s(status %#x)", out, status);
}
