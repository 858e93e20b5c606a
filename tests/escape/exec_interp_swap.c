/* exec_interp_swap.c: a program's ELF interpreter swapped between the check and the exec
 * (review 16; class 4, the exec's interpreters).
 *
 *   exec_interp_swap GOOD BAD NAME TRIES
 *
 * GOOD and BAD are two builds of one program: GOOD's PT_INTERP is the system's dynamic
 * loader, BAD's a payload a rule refuses to exec (tests/escape/interp.c).  A child process
 * puts GOOD and BAD at NAME in turn (a hard link renamed over it: each a file of its own);
 * the main process execs NAME in a child, TRIES times.  The tracer reads the file to check
 * its interpreters (Supervisor._interpreters) and notes for its check at the exec event the
 * file NAME names when it notes it (Tracer._note_exec: a stat by name) -- GOOD read and
 * checked, BAD noted and run passed both.  ESCAPED when the payload's marker appears. */
#include "attack.h"

static void swap_for_ever(const char *good, const char *bad, const char *name)
{
    char spare[4096];
    snprintf(spare, sizeof spare, "%s.next", name);
    for (;;) {
        const char *files[2] = {bad, good};
        for (int i = 0; i < 2; i++) {
            unlink(spare);
            if (link(files[i], spare) == 0)
                rename(spare, name);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 5)
        usage("exec_interp_swap GOOD BAD NAME TRIES");
    const char *marker = getenv("ESC_MARKER");
    int tries = atoi(argv[4]);
    unlink(argv[3]);
    if (link(argv[1], argv[3]) != 0)
        blocked("link: %s", ename(errno));
    pid_t swapper = fork();
    if (swapper == 0) {
        swap_for_ever(argv[1], argv[2], argv[3]);
        _exit(0);
    }
    int ran = 0, failed = 0, killed = 0;
    for (int i = 0; i < tries && !(marker && exists(marker)); i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {argv[3], NULL};
            execve(argv[3], args, environ);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid)
            continue;
        if (WIFSIGNALED(status))
            killed++;
        else if (WEXITSTATUS(status) == 0)
            ran++;
        else
            failed++;
    }
    kill(swapper, SIGKILL);
    waitpid(swapper, NULL, 0);
    printf("note: %d ran, %d failed, %d killed\n", ran, failed, killed);
    if (marker && exists(marker))
        escaped("the refused interpreter ran (the file read was not the file exec'd)");
    blocked("the refused interpreter never ran");
}
