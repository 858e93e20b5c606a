/* save_swap.c: a process of the same user wins the race between a policy save's check of
 * where the file leads and its writes.
 *
 * systrace -A -o DIR/p.toml checked, after the run, that the path still led where it did
 * before (policy_lock's realpath), then opened DIR/.p.toml.lock and waited for its flock --
 * and did every step after (read, backups, temporary file, rename) by path again.  This
 * program holds that lock (as another systrace saving the same file would), learns from
 * inotify the moment the saver opens the lock file -- its check is done -- renames DIR to
 * MOVED, puts a symlink to ELSEWHERE (a directory the user never named) in its place, and
 * lets the lock go: the policy, its backup and its temporary file went into ELSEWHERE, over
 * ELSEWHERE/p.toml.  Any process of the user can do this; the traced program, which often
 * runs as that user, can leave one behind or ask one (a shell, a daemon of the session).
 *
 *   save_swap LOCK DIR MOVED ELSEWHERE
 *
 * Prints "note: holding" once it holds the lock and watches, "note: swapped" after the swap.
 */
#include "attack.h"
#include <sys/file.h>
#include <sys/inotify.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: save_swap LOCK DIR MOVED ELSEWHERE\n");
        return 2;
    }
    int lock = open(argv[1], O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) < 0)
        blocked("lock %s: %s", argv[1], ename(errno));
    int in = inotify_init1(IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, argv[1], IN_OPEN) < 0)
        blocked("inotify %s: %s", argv[1], ename(errno));
    printf("note: holding\n");
    fflush(stdout);
    char events[4096];
    if (read(in, events, sizeof events) <= 0)       /* the saver opened the lock file */
        blocked("inotify read: %s", ename(errno));
    if (rename(argv[2], argv[3]) < 0)
        blocked("rename %s: %s", argv[2], ename(errno));
    if (symlink(argv[4], argv[2]) < 0)
        blocked("symlink %s: %s", argv[2], ename(errno));
    printf("note: swapped\n");
    fflush(stdout);
    close(lock);                                     /* the saver goes on */
    return 0;
}
