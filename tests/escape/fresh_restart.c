/* fresh_restart.c SECRET WORK: an exclusive create an outsider makes the tracer make again
 * (notes38; notes37's left item).
 *
 * An open with O_CREAT and no O_EXCL of a name absent when decided is run with O_EXCL added;
 * the kernel's EEXIST (an outsider made the name after the decision) has the program's own
 * call made again, decided anew (Tracer._restart_exclusive).  An outsider that made the name
 * in each window, and had it absent again at each decision, had the call made again for
 * ever, each time logged as a new call and counted again by an inject rule.  The test's
 * outsider does it once, deterministically: WORK/d is a symlink to WORK/a; during the first
 * decision's injected delay it makes WORK/a/tmpF and re-aims WORK/d at WORK/b, so the call
 * made again finds WORK/d/tmpF (now WORK/b/tmpF) absent once more.
 *
 * The run makes WORK/go, then
 *   open(WORK/d/tmpF, O_RDWR|O_CREAT)   -- the create the outsider races
 *   open(WORK/d/tmpF, O_RDONLY)         -- the program's next call on that name
 * and says what each returned (an inject rule that fails the second matching call shows
 * which call it counted second).
 */
#include "attack.h"

static const char *result(int fd, int err) {
    static char text[2][64];
    static int which;
    which ^= 1;
    if (fd >= 0)
        snprintf(text[which], sizeof text[which], "descriptor");
    else
        snprintf(text[which], sizeof text[which], "%s", ename(err));
    return text[which];
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("fresh_restart SECRET WORK");
    const char *work = argv[2];
    char f[4096], go[4096];
    snprintf(f, sizeof f, "%s/d/tmpF", work);
    snprintf(go, sizeof go, "%s/go", work);
    int r = write_file(go, "go\n");
    if (r < 0)
        blocked("write %s: %s", go, ename(-r));
    int fd = open(f, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int e1 = errno;
    if (fd >= 0 && is_secret_fd(fd))
        escaped("read the outsider's file through the create's descriptor");
    int rd = open(f, O_RDONLY | O_CLOEXEC);
    int e2 = errno;
    if (rd >= 0 && is_secret_fd(rd))
        escaped("read the outsider's file after the create");
    const char *first = result(fd, e1), *second = result(rd, e2);
    blocked("create %s, then open %s", first, second);
}
