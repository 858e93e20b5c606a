/* Red team 66: an answer about what a descriptor call does besides -- a descriptor owner
 * set by ioctl(FIOSETOWN), decided as a kill of the owner (Supervisor._decide, a check of no
 * path) -- remembered a rule for the call's own name: ``permit ioctl``, ahead of the table's
 * rules, which then permitted every ioctl, the file-changing ones a rule refuses too.
 *
 *   owner_remembered FILE
 *
 * forks a child that waits; opens FILE read-only (permitted: only writes are refused) and
 * makes the child the owner of that descriptor (ioctl(FIOSETOWN): decided, and asked about,
 * as a kill of the child before it runs -- a disk file's descriptor then fails ENOTTY; the
 * question the approver permits, remembered); then sets FILE's append-only flag
 * (FS_IOC_SETFLAGS, a change of the file: fswrite), putting the flags back at once.
 * ESCAPED when the flag was set, else BLOCKED. */
#include "attack.h"
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    if (argc < 2) blocked("usage: owner_remembered FILE");
    pid_t child = fork();
    if (child < 0) blocked("fork: %s", ename(errno));
    if (child == 0) {
        pause();
        _exit(0);
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    int err = errno;
    int owner = (int)child;
    /* (a file of a disk file system takes no owner this way: ENOTTY -- the question about
     * the owner was asked before the call ran, and its answer is what counts here) */
    if (fd >= 0) (void)ioctl(fd, FIOSETOWN, &owner);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (fd < 0) blocked("open %s: %s", argv[1], ename(err));
    int flags = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) skipped("FS_IOC_GETFLAGS: %s", ename(errno));
    int changed = flags | FS_APPEND_FL;
    if (ioctl(fd, FS_IOC_SETFLAGS, &changed) < 0)
        blocked("FS_IOC_SETFLAGS %s: %s", argv[1], ename(errno));
    int now = 0;
    int read_back = ioctl(fd, FS_IOC_GETFLAGS, &now);
    if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
        blocked("FS_IOC_SETFLAGS back: %s (%s left append-only)", ename(errno), argv[1]);
    if (read_back == 0 && (now & FS_APPEND_FL))
        escaped("made %s append-only (FS_IOC_SETFLAGS) after the owner's answer", argv[1]);
    blocked("the flag did not stick on %s", argv[1]);
}
