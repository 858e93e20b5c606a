/* Red team 43: a tree that takes every pid its cgroup (the tracer's too) allows, then makes a
 * call an ask rule asks about.
 *
 * pids_fill PATH: fork children that wait until fork fails (EAGAIN: the pids limit), then
 * open PATH for reading; print "open: FD errno E", kill the children, print "done".  The
 * tracer, in the same cgroup, could then start no thread: the timer of --ask-timeout failed
 * with "can't start new thread", an internal error that ended the run.  No verdict line:
 * not an escape. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MOST 4096

int main(int argc, char **argv)
{
    static pid_t kids[MOST];
    int n = 0;
    if (argc < 2)
        return 2;
    while (n < MOST) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            pause();
            _exit(0);
        }
        kids[n++] = pid;
    }
    int fd = open(argv[1], O_RDONLY);
    printf("open: %d errno %d (after %d children)\n", fd, fd < 0 ? errno : 0, n);
    fflush(stdout);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    printf("done\n");
    return 0;
}
