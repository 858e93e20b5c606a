/* learn_shell.c: a program that hands a shell a command naming its scratch directory,
 * learned, then run again under what was learned with a command of its own making.
 *
 * While learning it makes a directory as mkdtemp(3) and cmake make their scratch
 * (TryCompile-2rtJjQ, mode 0700), runs `sh -c "echo DIR/TryCompile-2rtJjQ/CMakeFiles"` and
 * removes the directory: a generated name, which the learner writes into the shell's argv
 * condition as its glob (docs/learning.md: "the run's generated names in a command are their
 * globs").  Were that glob fnmatch's "*", it would match any characters -- spaces, ";" and
 * "#" included -- so the next run (ATTACK=1) hands the shell
 *   echo DIR/TryCompile-; echo INJECTED-<magic>; #/CMakeFiles
 * which the argv condition admits: the shell runs a command line the policy never named.
 *
 * The shell's output comes back through a pipe, read the same way in both runs.  ESCAPED
 * when the injected command ran; BLOCKED otherwise (the exec of the shell refused).
 */
#include "attack.h"

#define INJECTED "INJECTED-" PAYLOAD_MAGIC

static int run_shell(const char *command, char *out, size_t size) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t pid = fork();
    if (pid < 0)
        blocked("fork: %s", ename(errno));
    if (pid == 0) {
        dup2(fds[1], 1);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < size && (n = read(fds[0], out + got, size - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

int main(void) {
    char cwd[4096], command[8192], out[8192];
    if (!getcwd(cwd, sizeof cwd))
        blocked("getcwd: %s", ename(errno));
    const char *attack = getenv("ATTACK");
    int attacking = attack && !strcmp(attack, "1");
    /* the next run's scratch has another random name, as mkdtemp's would */
    const char *scratch = attacking ? "TryCompile-x9Y8z7" : "TryCompile-2rtJjQ";
    if (mkdir(scratch, 0700) < 0)
        blocked("mkdir %s: %s", scratch, ename(errno));
    if (attacking)
        snprintf(command, sizeof command, "echo %s/TryCompile-; echo %s; #/CMakeFiles",
                 cwd, INJECTED);
    else
        snprintf(command, sizeof command, "echo %s/%s/CMakeFiles", cwd, scratch);
    int status = run_shell(command, out, sizeof out);
    if (rmdir(scratch) < 0)
        note("rmdir %s: %s", scratch, ename(errno));
    if (!attacking)
        blocked("probed (learning): the shell said %s", out);
    if (strstr(out, INJECTED))
        escaped("the shell ran a command line the policy never named: %s", command);
    blocked("the injected command did not run (status %d): %s", status, out);
}
