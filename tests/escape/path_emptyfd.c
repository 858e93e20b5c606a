/* path_emptyfd: a descriptor call made through its path-call stand-in, to the native loop.
 *
 *   path_emptyfd
 *
 * glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH), and statx and faccessat2 act on their
 * descriptor the same way: the engine decides such a call as the descriptor call it stands
 * for (decode.policy_name).  The native stop loop once decided it by the descriptor's *name*
 * against the path call's rules instead: a rule refusing fstat was never consulted (and a
 * plain fstat of a descriptor under a path rule was refused).  Built static (the dynamic
 * loader's own fstat would be refused first); the policy refuses fstat.
 *
 * ESCAPED when one of the stand-ins on stdin works more than the first time (the first of
 * each kind goes to Python, which refuses it; the later ones were the native loop's).
 * Class 1 (path spellings: a call decided as another): red team 2 of issue 11.
 */
#include "attack.h"

#include <linux/stat.h>

int main(void) {
    struct stat st;
    struct statx sx;
    int worked = 0;
    for (int round = 0; round < 5; round++) {
        if (syscall(SYS_newfstatat, 0, "", &st, AT_EMPTY_PATH) == 0 && round > 0)
            worked++;
        if (syscall(SYS_statx, 0, "", AT_EMPTY_PATH, STATX_INO, &sx) == 0 && round > 0)
            worked++;
    }
    if (worked)
        escaped("%d fstat stand-ins worked where fstat is refused", worked);
    blocked("every fstat stand-in refused");
}
