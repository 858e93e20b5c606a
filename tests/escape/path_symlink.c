/* path_symlink: read the secret through symbolic links, given or made by the attacker.
 *
 *   path_symlink MODE SECRET WORK [LINK]
 *
 * MODE: given       open LINK (a symlink to the secret the test made)
 *       given_dir   open LINK/secret.txt (LINK: a symlink to the secret's directory)
 *       own_file    symlink(SECRET, WORK/l) then open WORK/l
 *       own_dir     symlink(SECD, WORK/d) then open WORK/d/secret.txt
 *       own_rel     a relative link: WORK/r -> ../secd/secret.txt (WORK and SECD are siblings)
 *       own_chain   WORK/c1 -> WORK/c2 -> WORK/c3 -> SECRET
 *       own_dotdot  WORK/s -> SECD/sub, then open WORK/s/../secret.txt (the kernel's ".." is
 *                   physical: it goes to SECD, where a lexical ".." would go to WORK)
 *       own_proc    WORK/p -> /proc/self/root/SECRET (a link into /proc/self: resolved by
 *                   the tracer it would mean the tracer)
 * Class 1 (path spellings).
 */
#include "attack.h"

#include <libgen.h>

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_symlink MODE SECRET WORK [LINK]");
    const char *mode = argv[1], *secret = argv[2], *work = argv[3];
    char secd[4096], tmp[4096], l[4096], t[4096];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    if (!strcmp(mode, "given")) {
        if (argc < 5) usage("given needs LINK");
        try_open("the given link", argv[4]);
    } else if (!strcmp(mode, "given_dir")) {
        if (argc < 5) usage("given_dir needs LINK");
        snprintf(l, sizeof l, "%s/secret.txt", argv[4]);
        try_open("LINK/secret.txt", l);
    } else if (!strcmp(mode, "own_file")) {
        snprintf(l, sizeof l, "%s/l", work);
        if (symlink(secret, l) < 0) tally("symlink", -1, errno);
        try_open("own link to the file", l);
    } else if (!strcmp(mode, "own_dir")) {
        snprintf(l, sizeof l, "%s/d", work);
        if (symlink(secd, l) < 0) tally("symlink", -1, errno);
        snprintf(l, sizeof l, "%s/d/secret.txt", work);
        try_open("own link to the directory", l);
    } else if (!strcmp(mode, "own_rel")) {
        snprintf(l, sizeof l, "%s/r", work);
        char dname[256], base[256];
        snprintf(tmp, sizeof tmp, "%s", secd);
        snprintf(dname, sizeof dname, "%s", basename(tmp));
        snprintf(tmp, sizeof tmp, "%s", secret);
        snprintf(base, sizeof base, "%s", basename(tmp));
        snprintf(t, sizeof t, "../%s/%s", dname, base);
        if (symlink(t, l) < 0) tally("symlink", -1, errno);
        try_open("own relative link", l);
        if (chdir(work) == 0)
            try_open("own relative link, relative", "r");
    } else if (!strcmp(mode, "own_chain")) {
        snprintf(l, sizeof l, "%s/c3", work);
        if (symlink(secret, l) < 0) tally("symlink c3", -1, errno);
        snprintf(l, sizeof l, "%s/c2", work);
        if (symlink("c3", l) < 0) tally("symlink c2", -1, errno);
        snprintf(t, sizeof t, "%s/c2", work);
        snprintf(l, sizeof l, "%s/c1", work);
        if (symlink(t, l) < 0) tally("symlink c1", -1, errno);
        try_open("chain of three links", l);
    } else if (!strcmp(mode, "own_dotdot")) {
        snprintf(t, sizeof t, "%s/sub", secd);
        snprintf(l, sizeof l, "%s/s", work);
        if (symlink(t, l) < 0) tally("symlink", -1, errno);
        snprintf(l, sizeof l, "%s/s/../secret.txt", work);
        try_open("WORK/s/../secret.txt (s -> SECD/sub)", l);
    } else if (!strcmp(mode, "own_proc")) {
        snprintf(t, sizeof t, "/proc/self/root%s", secret);
        snprintf(l, sizeof l, "%s/p", work);
        if (symlink(t, l) < 0) tally("symlink", -1, errno);
        try_open("own link to /proc/self/root/SECRET", l);
        snprintf(l, sizeof l, "%s/q", work);
        if (symlink("/proc/self", l) < 0) tally("symlink", -1, errno);
        snprintf(l, sizeof l, "%s/q/root%s", work, secret);
        try_open("own link to /proc/self, then root/SECRET", l);
    } else {
        usage("MODE: given given_dir own_file own_dir own_rel own_chain own_dotdot own_proc");
    }
    tally_done();
}
