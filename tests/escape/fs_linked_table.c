/* fs_linked_table.c MODE SECRET WORK READER: give a file, under the caller's table, a name
 * whose rules grant more than its own in ANOTHER program's table, then run that program on
 * the new name (red team 49: the linked-access check compared the two names in the linker's
 * table only).
 *
 * The caller's table lets SECRET be linked or moved (`fslink`) and WORK/out be made, and
 * grants the caller nothing of either (so by its own rules the file gains nothing by its
 * new name).  READER -- a copy of this program at a path that has a table of its own -- may
 * read WORK/** and not the secret.  Each mode gives the secret a name below WORK and execs
 * READER on it:
 *   link       link(SECRET, WORK/out); exec READER read WORK/out
 *   rename     rename(SECRET, WORK/out); exec READER read WORK/out
 *   dir        rename(dirname(SECRET), WORK/outdir) (SECRET's directory moved); exec READER
 *              read WORK/outdir/BASENAME(SECRET)
 *   bind       in a mount namespace of our own (as root), mount --bind SECRET WORK/out (an
 *              existing file); exec READER read WORK/out (the lead: a mount names a file
 *              anew as a link does, and the reader's table decides it by that name)
 *   userbind   the same in a user and mount namespace of our own (unprivileged)
 *   hostbind   (root) the same in the mount namespace it was started in (the tracer's, a
 *              private copy the test made): every process sees the bind
 *   hostoverlay  (root) likewise an overlay on WORK/outdir whose lower layers are SECRET's
 *              directory and WORK/outdir; exec READER read WORK/outdir/BASENAME(SECRET)
 *              (review 27: an overlay shows its layers' files as a bind its source)
 *   nslink     (root) a child binds the scene (WORK/..) on WORK/../view in a mount namespace
 *              of its own and links VIEW/secd/NAME to VIEW/work/out, names the tracer's
 *              view does not have; the parent execs READER read WORK/out
 *   hostlink   (root) the same bind and link in the mount namespace it was started in (the
 *              tracer's): VIEW/work/out is a name the tracer's view has, and so is WORK/out
 *              (review 29)
 *   hostimage  (root) likewise mount dirname(SECRET)/secret.img, an erofs image in a
 *              regular file holding the secret as secret.txt, on WORK/outdir; exec READER
 *              read WORK/outdir/secret.txt (mounts29: an image's files are its bytes)
 *   read       (what READER runs) open PATH; ESCAPED when it is the secret
 *
 * ESCAPED when the reader read the secret through its new name; BLOCKED with the failing
 * step's errno otherwise.
 */
#include "attack.h"

#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>

static void read_through(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd))
        escaped("the reader read the secret through %s", path);
    blocked("%s is not the secret", path);
}

static void run_reader(const char *reader, const char *path) {
    fflush(stdout);
    execl(reader, reader, "read", path, (char *)NULL);
    blocked("exec %s: %s", reader, ename(errno));
}

/* (with no environment: in a mount namespace of the program's own, the variables of the
 * run's start that name paths name them in another view, and an exec into another table
 * carrying them is refused before any mount matters) */
static void run_reader_bare(const char *reader, const char *path) {
    char *const none[] = {NULL};
    fflush(stdout);
    execle(reader, reader, "read", path, (char *)NULL, none);
    blocked("exec %s: %s", reader, ename(errno));
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        read_through(argv[2]);
    if (argc != 5)
        blocked("usage: %s MODE SECRET WORK READER", argv[0]);
    const char *mode = argv[1], *secret = argv[2], *work = argv[3], *reader = argv[4];
    char target[PATH_MAX];
    if (strcmp(mode, "link") == 0 || strcmp(mode, "rename") == 0) {
        snprintf(target, sizeof target, "%s/out", work);
        int rc = mode[0] == 'l' ? link(secret, target) : rename(secret, target);
        if (rc != 0)
            blocked("%s %s %s: %s", mode, secret, target, ename(errno));
        run_reader(reader, target);
    }
    if (strcmp(mode, "hostbind") == 0) {
        /* (as root, in the mount namespace we were started in: the tracer's) */
        snprintf(target, sizeof target, "%s/out", work);
        if (mount(secret, target, NULL, MS_BIND, NULL) < 0)
            blocked("mount --bind %s %s: %s", secret, target, ename(errno));
        run_reader(reader, target);
    }
    if (strcmp(mode, "hostoverlay") == 0) {
        char name[PATH_MAX], layer[PATH_MAX], options[PATH_MAX * 3], path[PATH_MAX * 2];
        snprintf(name, sizeof name, "%s", secret);
        snprintf(layer, sizeof layer, "%s", dirname(name));
        snprintf(name, sizeof name, "%s", secret);
        snprintf(target, sizeof target, "%s/outdir", work);
        snprintf(options, sizeof options, "lowerdir=%s:%s", layer, target);
        if (mount("overlay", target, "overlay", 0, options) < 0) {
            if (errno == ENODEV)
                skipped("overlay: %s", ename(errno));
            blocked("mount overlay %s: %s", target, ename(errno));
        }
        snprintf(path, sizeof path, "%s/%s", target, basename(name));
        run_reader(reader, path);
    }
    if (strcmp(mode, "hostimage") == 0) {
        char name[PATH_MAX], image[PATH_MAX * 2], path[PATH_MAX * 2];
        snprintf(name, sizeof name, "%s", secret);
        snprintf(image, sizeof image, "%s/secret.img", dirname(name));
        snprintf(target, sizeof target, "%s/outdir", work);
        if (mount(image, target, "erofs", 0, NULL) < 0) {
            if (errno == ENODEV || errno == ENOTBLK)
                skipped("erofs on a file: %s", ename(errno));
            blocked("mount image %s: %s", target, ename(errno));
        }
        snprintf(path, sizeof path, "%s/secret.txt", target);
        run_reader(reader, path);
    }
    if (strcmp(mode, "bind") == 0 || strcmp(mode, "userbind") == 0) {
        /* (a mount namespace of our own -- of a user namespace of our own for userbind --,
         * private, the secret bound on WORK/out, the reader run there) */
        uid_t uid = getuid();
        gid_t gid = getgid();
        int user = mode[0] == 'u';
        if (unshare(CLONE_NEWNS | (user ? CLONE_NEWUSER : 0)) < 0) {
            if (errno == EINVAL || errno == ENOSPC)
                skipped("unshare: %s", ename(errno));
            blocked("unshare: %s", ename(errno));
        }
        if (user) {
            map_own_ids(uid, gid);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            blocked("making mounts private: %s", ename(errno));
        snprintf(target, sizeof target, "%s/out", work);
        if (mount(secret, target, NULL, MS_BIND, NULL) < 0)
            blocked("mount --bind %s %s: %s", secret, target, ename(errno));
        run_reader_bare(reader, target);
    }
    if (strcmp(mode, "nslink") == 0 || strcmp(mode, "hostlink") == 0) {
        /* (review 29) a child, in a private mount namespace of its own, binds the directory
         * above SECRET's and WORK (the scene) on WORK/../view, a directory no table reads
         * (the bind gives nothing away), and links VIEW/secd/NAME to VIEW/work/out: one
         * mount (a link across mounts is EXDEV), and names that are no files in the
         * tracer's view.  The parent, in the tracer's view, runs READER on WORK/out, a hard
         * link of the secret every process sees. */
        char one[PATH_MAX], other[PATH_MAX], scene[PATH_MAX], view[PATH_MAX];
        char source[PATH_MAX * 3], made[PATH_MAX * 3];
        snprintf(one, sizeof one, "%s", secret);
        snprintf(other, sizeof other, "%s", secret);
        char *secd = dirname(one);
        snprintf(scene, sizeof scene, "%s/..", work);
        snprintf(view, sizeof view, "%s/../view", work);
        snprintf(source, sizeof source, "%s/%s/%s", view, basename(secd), basename(other));
        snprintf(other, sizeof other, "%s", work);
        snprintf(made, sizeof made, "%s/%s/out", view, basename(other));
        snprintf(target, sizeof target, "%s/out", work);
        fflush(stdout);
        if (strcmp(mode, "hostlink") == 0) {
            /* (as root, in the mount namespace we were started in: the tracer's) */
            if (mount(scene, view, NULL, MS_BIND, NULL) < 0)
                blocked("mount --bind %s %s: %s", scene, view, ename(errno));
            if (link(source, made) != 0)
                blocked("link %s %s: %s", source, made, ename(errno));
            run_reader(reader, target);
        }
        pid_t child = fork();
        if (child < 0)
            blocked("fork: %s", ename(errno));
        if (child == 0) {
            if (unshare(CLONE_NEWNS) < 0) {
                if (errno == EINVAL || errno == ENOSPC)
                    skipped("unshare: %s", ename(errno));
                blocked("unshare: %s", ename(errno));
            }
            if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                blocked("making mounts private: %s", ename(errno));
            if (mount(scene, view, NULL, MS_BIND, NULL) < 0)
                blocked("mount --bind %s %s: %s", scene, view, ename(errno));
            if (link(source, made) != 0)
                blocked("link %s %s: %s", source, made, ename(errno));
            _exit(0);
        }
        int status;
        if (waitpid(child, &status, 0) != child)
            blocked("waitpid: %s", ename(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);  /* (the child said why) */
        run_reader(reader, target);
    }
    if (strcmp(mode, "dir") == 0) {
        char one[PATH_MAX], other[PATH_MAX], moved[PATH_MAX];
        snprintf(one, sizeof one, "%s", secret);
        snprintf(other, sizeof other, "%s", secret);
        const char *directory = dirname(one), *name = basename(other);
        snprintf(moved, sizeof moved, "%s/outdir", work);
        if (rename(directory, moved) != 0)
            blocked("rename %s %s: %s", directory, moved, ename(errno));
        snprintf(target, sizeof target, "%s/%s", moved, name);
        run_reader(reader, target);
    }
    blocked("unknown mode %s", mode);
}
