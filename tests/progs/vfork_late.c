/* vfork_late: runs LATE twice as a shell runs a command (vfork, execve in the child, wait):
 * first "LATE -" (its exec is Python's: it maps this process's scratch area), then "LATE
 * FILE OTHER", and right after that vfork returns, opens and reads FILE itself -- while the child
 * (late_open.c) spins before its first call.  Under systrace the native loop serves the
 * second child's exec and maps its scratch area with a stub that is seen to end only at the
 * child's first stop; this process's open, a stop of a task not alone any more, is Python's:
 * the loop hands the tree back with the child's stub not seen to end, and Python serves the
 * child's next stops (Tracer._stub_stop), its open held in the area the stub mapped.
 *
 *   vfork_late LATE FILE OTHER    prints "parent: ..." (FILE), then the child's two
 *                                 "late: ..." lines, then "child N" (its exit status) */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) return 64;
    for (int round = 0; round < 2; round++) {
        fflush(stdout);
        pid_t child = vfork();
        if (child == 0) {
            if (round) execl(argv[1], argv[1], argv[2], argv[3], (char *)NULL);
            else execl(argv[1], argv[1], "-", (char *)NULL);
            _exit(127);
        }
        if (child < 0) return 1;
        if (round) {
            char buf[128];
            int fd = open(argv[2], O_RDONLY);
            ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
            buf[got > 0 ? got : 0] = 0;
            printf("parent: %s", got > 0 ? buf : "unread\n");
            fflush(stdout);
        }
        int status = 0;
        if (waitpid(child, &status, 0) != child) return 1;
        if (round) printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return 0;
}
