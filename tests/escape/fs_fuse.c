/* fs_fuse.c: reach the secret through a FUSE file system that answers the program otherwise
 * than the tracer (red team 44).
 *
 *   fs_fuse MODE MNT WORK
 *
 * MNT is served by fs_fuse_server (outside the traced tree): "d" is a symlink to the secret's
 * directory when this program looks it up, an empty directory when anyone else (the tracer)
 * does.  The tracer resolves MNT/d/secret.txt to a missing file below MNT and permits it; the
 * kernel, looking the same name up for the program, follows the symlink.
 *
 *   open    one task: open MNT/d/secret.txt and read it
 *   topen   the same with a second thread alive (the open is then held)
 *   link    one task: link MNT/d/secret.txt to WORK/stolen, then read WORK/stolen
 *   tlink   the same with a second thread alive (link is frozen and re-checked)
 *   rename  a second thread alive: rename MNT/d/secret.txt to WORK/stolen, read it
 *   chmod   a second thread alive: chmod MNT/d/secret.txt 0604 (a change of the secret)
 *   connect one task: connect to the unix socket MNT/d/sock (a listener in the secret's
 *           directory, which a unix rule refuses)
 *   xattr   one task: getxattr MNT/d/secret.txt "user.secret" (the secret's extended
 *           attribute, which the test set; a read of the secret's by a call not frozen:
 *           held, the kernel still looks its name up again -- review 24)
 *   stat    one task: stat MNT/d/secret.txt, a missing name to the tracer: success is the
 *           secret's metadata (its inode compared with ESC_SECRET_INO)
 *   fopen   one task under a seccomp filter of its own (allowing everything): open
 *   ftopen  the same with a second thread alive (a held open keeps its own call then)
 */
#include "attack.h"
#include "fuse_attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/xattr.h>

static void own_filter(void) {
    struct sock_filter insns[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        skipped("seccomp: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 4)
        usage("fs_fuse [f]open|[f]topen|link|tlink|rename|chmod|connect|xattr|stat MNT WORK");
    const char *mode = argv[1], *mnt = argv[2], *work = argv[3];
    char path[4096], stolen[4096];
    snprintf(path, sizeof path, "%s/d/secret.txt", mnt);
    snprintf(stolen, sizeof stolen, "%s/stolen", work);
    if (mode[0] == 'f') {
        own_filter();
        mode++;
    }
    int threaded = mode[0] == 't' || !strcmp(mode, "rename") || !strcmp(mode, "chmod");
    if (threaded)
        second_thread();
    if (!strcmp(mode, "open") || !strcmp(mode, "topen"))
        open_secret(path);
    if (!strcmp(mode, "link") || !strcmp(mode, "tlink"))
        link_secret(path, stolen);
    if (!strcmp(mode, "connect")) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s/d/sock", mnt);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0)
            skipped("socket: %s", ename(errno));
        if (connect(s, (struct sockaddr *)&sun, sizeof sun) != 0)
            blocked("connect %s: %s", sun.sun_path, ename(errno));
        escaped("connected to %s, the refused socket", sun.sun_path);
    }
    if (!strcmp(mode, "xattr")) {
        char value[256];
        ssize_t n = getxattr(path, "user.secret", value, sizeof value - 1);
        if (n < 0)
            blocked("getxattr %s: %s", path, ename(errno));
        value[n] = 0;
        escaped("read the secret's attribute through %s: %s", path, value);
    }
    if (!strcmp(mode, "stat")) {
        struct stat st;
        const char *ino = getenv("ESC_SECRET_INO");
        if (!ino)
            usage("stat needs ESC_SECRET_INO");
        if (stat(path, &st) != 0)
            blocked("stat %s: %s", path, ename(errno));
        if (st.st_ino == strtoull(ino, NULL, 10))
            escaped("stat of %s is the secret's (inode %s, %lld bytes)", path, ino,
                    (long long)st.st_size);
        blocked("stat %s: not the secret", path);
    }
    if (!strcmp(mode, "rename")) {
        if (rename(path, stolen) != 0)
            blocked("rename %s: %s", path, ename(errno));
        read_stolen(stolen, "rename");
    }
    if (!strcmp(mode, "chmod")) {
        struct stat before, after;
        char secret_path[4096];
        const char *secd = getenv("ESC_SECD");
        if (!secd)
            usage("chmod needs ESC_SECD");
        snprintf(secret_path, sizeof secret_path, "%s/secret.txt", secd);
        if (stat(secret_path, &before) != 0)
            note("stat of the secret refused (%s): comparing by the call's result", ename(errno));
        if (chmod(path, 0604) != 0)
            blocked("chmod %s: %s", path, ename(errno));
        if (stat(secret_path, &after) == 0 && (after.st_mode & 07777) == 0604)
            escaped("chmod through %s changed the secret's mode to 0604", path);
        escaped("chmod %s succeeded (no file below the mount has that name)", path);
    }
    usage("unknown mode");
}
