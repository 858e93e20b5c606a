/* redirect_link.c: the program makes a redirect's target a symlink, and a redirected call
 * that is no open follows it.
 *
 * A permit rule may redirect a path to another file ("redirect" in docs/policy.md), often one
 * in a directory the program may write (its own copy of a configuration).  The kernel runs
 * the call on the target -- and truncate(2), chmod(2), utimes and the other path calls
 * follow a symlink there, which the program may have put in the target's place.  (An open
 * is held with RESOLVE_NO_SYMLINKS: red team 18.)
 *
 *   redirect_link TARGET VICTIM ASKED   TARGET becomes a symlink to VICTIM; then truncate and
 *                                       chmod ASKED (under systrace, the redirected path):
 *                                       ESCAPED when VICTIM changed, else BLOCKED
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 4)
        usage("redirect_link TARGET VICTIM ASKED");
    const char *target = argv[1], *victim = argv[2], *asked = argv[3];
    struct stat before, after;
    if (stat(victim, &before) < 0 || before.st_size == 0)
        blocked("stat %s: %s (it must exist, not empty)", victim, ename(errno));
    if (truncate(victim, 0) == 0)
        escaped("truncated %s itself", victim);
    note("truncate of %s itself: %s", victim, ename(errno));
    if (unlink(target) < 0 && errno != ENOENT)
        blocked("unlink %s: %s", target, ename(errno));
    if (symlink(victim, target) < 0)
        blocked("symlink %s: %s", target, ename(errno));
    int t = truncate(asked, 0), te = errno;
    int c = chmod(asked, 0777), ce = errno;
    note("truncate %s: %s; chmod: %s", asked, t ? ename(te) : "ok", c ? ename(ce) : "ok");
    if (stat(victim, &after) < 0)
        blocked("stat %s: %s", victim, ename(errno));
    if (after.st_size != before.st_size || after.st_mode != before.st_mode)
        escaped("%s changed (size %lld -> %lld, mode %o -> %o) by calls on %s", victim,
                (long long)before.st_size, (long long)after.st_size, before.st_mode & 07777,
                after.st_mode & 07777, asked);
    blocked("%s unchanged", victim);
}
