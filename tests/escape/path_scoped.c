/* path_scoped: read the secret through openat2's scoped lookups, which re-root or confine
 * the path to the dirfd (a resolver that resolved them as plain paths would name another file).
 *
 *   path_scoped SECRET WORK
 *
 * RESOLVE_IN_ROOT with dirfd SECD: "/secret.txt", "/../../secret.txt" ("/" and ".." stop at
 * the dirfd); with dirfd SECD's parent: WORK/abs, a symlink to "/secd/secret.txt" (absolute
 * links start at the dirfd too: named from the real root it is nothing).  RESOLVE_BENEATH
 * with dirfd the parent: "secd/../secd/secret.txt" and WORK/rel, a symlink to
 * "../secd/secret.txt"; RESOLVE_NO_XDEV and both with it.
 * Class 1 (path spellings).  The policy refuses fsread of SECRET's canonical path.
 */
#include "attack.h"

#include <libgen.h>
#include <linux/openat2.h>
#include "../progs/openat2_retry.h"

static void try_how(int dirfd, const char *label, const char *path, unsigned long long resolve) {
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = resolve};
    int fd = (int)openat2_retrying(dirfd, path, &how);
    if (fd < 0 && errno == ENOSYS)
        skipped("no openat2");
    tally(label, fd, errno);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("path_scoped SECRET WORK");
    const char *secret = argv[1], *work = argv[2];
    char secd[4096], parent[4096], tmp[4096], dname[256], link[8192], text[8192];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", secd);
    snprintf(dname, sizeof dname, "%s", basename(tmp));
    snprintf(tmp, sizeof tmp, "%s", secd);
    snprintf(parent, sizeof parent, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", secret);
    const char *base = basename(tmp);
    snprintf(tmp, sizeof tmp, "%s", work);
    const char *wname = basename(tmp);

    int sfd = open(secd, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0 || pfd < 0)
        blocked("cannot open the directories: %s", ename(errno));
    char p[8192];
    snprintf(p, sizeof p, "/%s", base);
    try_how(sfd, "IN_ROOT SECD /secret.txt", p, RESOLVE_IN_ROOT);
    snprintf(p, sizeof p, "/../../%s", base);
    try_how(sfd, "IN_ROOT SECD /../../secret.txt", p, RESOLVE_IN_ROOT | RESOLVE_NO_XDEV);

    snprintf(link, sizeof link, "%s/abs", work);
    snprintf(text, sizeof text, "/%s/%s", dname, base);
    if (symlink(text, link) == 0) {
        snprintf(p, sizeof p, "%s/abs", wname);
        try_how(pfd, "IN_ROOT parent work/abs -> /secd/secret.txt", p, RESOLVE_IN_ROOT);
    }
    snprintf(link, sizeof link, "%s/rel", work);
    snprintf(text, sizeof text, "../%s/%s", dname, base);
    if (symlink(text, link) == 0) {
        snprintf(p, sizeof p, "%s/rel", wname);
        try_how(pfd, "BENEATH parent work/rel -> ../secd/secret.txt", p, RESOLVE_BENEATH);
        try_how(pfd, "BENEATH|NO_XDEV parent work/rel", p, RESOLVE_BENEATH | RESOLVE_NO_XDEV);
    }
    snprintf(p, sizeof p, "%s/../%s/%s", dname, dname, base);
    try_how(pfd, "BENEATH parent secd/../secd/secret.txt", p, RESOLVE_BENEATH);
    snprintf(p, sizeof p, "%s/%s", dname, base);
    try_how(pfd, "NO_XDEV parent secd/secret.txt", p, RESOLVE_NO_XDEV);
    tally_done();
}
