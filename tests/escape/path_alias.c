/* path_alias: give the secret another name (or move it), then read it by that name.
 *
 *   path_alias MODE SECRET WORK
 *
 * MODE: link           link(SECRET, WORK/hard)
 *       linkat_follow  symlink(SECRET, WORK/s), then linkat(WORK/s, WORK/hard, AT_SYMLINK_FOLLOW)
 *       rename         rename(SECRET, WORK/moved)
 *       rename_parent  rename(SECD, WORK/moved-dir) then WORK/moved-dir/secret.txt
 * Class 1 (path spellings: a hard link it makes; a path-based rule follows names, not inodes).
 */
#include "attack.h"

#include <libgen.h>

int main(int argc, char **argv) {
    if (argc < 4)
        usage("path_alias MODE SECRET WORK");
    const char *mode = argv[1], *secret = argv[2], *work = argv[3];
    char secd[4096], tmp[4096], a[4096], b[4096];
    snprintf(tmp, sizeof tmp, "%s", secret);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    if (!strcmp(mode, "link")) {
        snprintf(a, sizeof a, "%s/hard", work);
        if (link(secret, a) < 0)
            tally("link", -1, errno);
        try_open("hard link made by link()", a);
    } else if (!strcmp(mode, "linkat_follow")) {
        snprintf(a, sizeof a, "%s/s", work);
        snprintf(b, sizeof b, "%s/hard", work);
        if (symlink(secret, a) < 0)
            tally("symlink", -1, errno);
        if (linkat(AT_FDCWD, a, AT_FDCWD, b, AT_SYMLINK_FOLLOW) < 0)
            tally("linkat(AT_SYMLINK_FOLLOW)", -1, errno);
        try_open("hard link made through a symlink", b);
    } else if (!strcmp(mode, "rename")) {
        snprintf(a, sizeof a, "%s/moved", work);
        if (rename(secret, a) < 0)
            tally("rename", -1, errno);
        try_open("the secret renamed", a);
    } else if (!strcmp(mode, "rename_parent")) {
        snprintf(a, sizeof a, "%s/moved-dir", work);
        if (rename(secd, a) < 0)
            tally("rename(SECD)", -1, errno);
        snprintf(b, sizeof b, "%s/moved-dir/secret.txt", work);
        try_open("the secret's directory renamed", b);
    } else {
        usage("MODE: link linkat_follow rename rename_parent");
    }
    tally_done();
}
