/* child_interp: exec a permitted file that makes the kernel run a forbidden one.
 *
 *   child_interp PROGRAM [ARG...]
 *
 * PROGRAM is permitted to run; the test made it either a script whose "#!" line names the
 * forbidden payload, or an ELF whose PT_INTERP (the dynamic loader) is the forbidden payload.
 * The kernel loads the interpreter itself, with no system call of its own.  With ARGs,
 * PROGRAM runs with them: "child_interp /lib64/ld-linux-x86-64.so.2 PAYLOAD" has the dynamic
 * loader map and run PAYLOAD as a library would be (no exec of PAYLOAD at all).  ESCAPED when
 * the payload's marker appears.
 * Class 4 (children that slip away) / class 5 (work the kernel does for the program).
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 2)
        usage("child_interp PROGRAM [ARG...]");
    const char *marker = getenv("ESC_MARKER");
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[1], argv + 1, environ);
        printf("note: exec: %s\n", ename(errno));
        fflush(stdout);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    if (marker && exists(marker))
        escaped("the forbidden interpreter ran (child status %#x)", status);
    blocked("the forbidden interpreter did not run (child status %#x)", status);
}
