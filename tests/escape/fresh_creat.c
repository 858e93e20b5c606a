/* fresh_creat.c MODE SECRET WORK: reach, through a fresh rule's grant of what the run makes, a
 * file an OUTSIDER made at a name between the decision on the run's create -- the name was
 * absent then -- and the kernel's open (notes37).
 *
 * An open with O_CREAT and no O_EXCL opens whatever is at the name when the kernel looks it
 * up.  A fresh rule covers a name that names nothing when the call is decided, and the
 * engine noted the name as made when such an open succeeded: an outsider (the test, a
 * process outside the traced tree) that makes WORK/tmpF in between had its file opened by the
 * run's create and noted as the run's own.  The test's policy delays the run's first call
 * naming WORK/tmpF after its decision (an inject rule's delay), and the outsider makes the
 * file once the run's log shows that decision: the window hit every time.  The run makes
 * WORK/go, makes the call, waits (10 s at most) for WORK/ready (the outsider's file is
 * there), then:
 *
 *   wronly  open(WORK/tmpF, O_WRONLY|O_CREAT): the descriptor cannot read; then
 *           open(WORK/tmpF, O_RDONLY) reads it (the name noted as the run's)
 *   creat   creat(WORK/tmpF, 0600) (the kernel's O_CREAT|O_WRONLY|O_TRUNC: it empties the
 *           file it opens -- here ESCAPED once the reopen is let read what is there: the
 *           outsider writes its file again after the truncate)
 *   rdwr    open(WORK/tmpF, O_RDWR|O_CREAT): the descriptor itself reads the outsider's
 *           file (the decision's own window: the fresh read rule let the open read because
 *           the name named nothing)
 *
 * $ESC_OUTSIDER_FIRST (the native control, which has no decision to wait for): the run waits
 * for WORK/ready before its call, so the outsider's file is there when the kernel opens.
 *
 * ESCAPED when the secret's magic is read; BLOCKED with the errno otherwise.
 */
#include "attack.h"

static void wait_for_outsider(const char *work) {
    char ready[4096];
    snprintf(ready, sizeof ready, "%s/ready", work);
    struct timespec nap = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && !exists(ready); i++)
        nanosleep(&nap, NULL);
    if (!exists(ready))
        blocked("no outsider came (%s)", ready);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("fresh_creat wronly|creat|rdwr SECRET WORK");
    const char *mode = argv[1], *work = argv[3];
    char f[4096], go[4096];
    snprintf(f, sizeof f, "%s/tmpF", work);
    snprintf(go, sizeof go, "%s/go", work);
    int r = write_file(go, "go\n");
    if (r < 0)
        blocked("write %s: %s", go, ename(-r));
    if (getenv("ESC_OUTSIDER_FIRST"))
        wait_for_outsider(work);
    int fd;
    if (!strcmp(mode, "wronly"))
        fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    else if (!strcmp(mode, "creat"))
        fd = creat(f, 0600);
    else if (!strcmp(mode, "rdwr"))
        fd = open(f, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    else
        usage("fresh_creat wronly|creat|rdwr SECRET WORK");
    if (fd < 0)
        blocked("the create of %s (%s): %s", f, mode, ename(errno));
    note("the create of %s (%s): descriptor %d", f, mode, fd);
    wait_for_outsider(work);
    if (!strcmp(mode, "rdwr")) {
        if (is_secret_fd(fd))
            escaped("read the outsider's %s through the run's own create's descriptor", f);
        blocked("the create's descriptor of %s reads no secret", f);
    }
    close(fd);
    if (!strcmp(mode, "creat")) {
        /* the outsider writes again what the truncate emptied (the test waits for WORK/again) */
        char again[4096], twice[4096];
        snprintf(again, sizeof again, "%s/again", work);
        snprintf(twice, sizeof twice, "%s/ready2", work);
        if ((r = write_file(again, "again\n")) < 0)
            blocked("write %s: %s", again, ename(-r));
        struct timespec nap = {0, 10 * 1000 * 1000};
        for (int i = 0; i < 1000 && !exists(twice); i++)
            nanosleep(&nap, NULL);
    }
    int rd = open(f, O_RDONLY | O_CLOEXEC);
    if (rd < 0)
        blocked("open of %s for reading after the create (%s): %s", f, mode, ename(errno));
    if (is_secret_fd(rd))
        escaped("read the outsider's %s, noted as the run's own create (%s)", f, mode);
    blocked("%s opened after the create (%s): no secret in it", f, mode);
}
