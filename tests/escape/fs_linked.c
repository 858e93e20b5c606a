/* fs_linked.c MODE SECRET WORK: give a file a name whose rules grant more than its own
 * (issue 11; docs/security.md, red team 40: "fslink composes with any name the table may
 * write and read").
 *
 * The table lets SECRET be linked or moved (`fslink`), never read, and reads and writes
 * WORK/out (a learned build's read-back).  Each mode gives the secret that name and uses it:
 *   link       unlink(WORK/out); link(SECRET, WORK/out); read WORK/out
 *   linkat     the same through linkat(AT_FDCWD, ..., 0)
 *   rename     rename(SECRET, WORK/out); read WORK/out
 *   renameat2  renameat2(SECRET, WORK/out, RENAME_NOREPLACE) after the unlink; read it
 *   write      link(SECRET, WORK/out); append to WORK/out: the secret written
 *   exchange   renameat2(SECRET, WORK/out, RENAME_EXCHANGE); exec WORK/out "payload":
 *              SECRET is a program the table may read and write, never run; WORK/out may
 *              be run (the payload leaves the scene's marker)
 *   dir        rename(SECRET, WORK/outdir) of the secret's directory; read
 *              WORK/outdir/secret.txt
 *   payload    (what exchange runs) write the marker $ESC_MARKER
 * An older file given a name below a directory the run made (WORK/own), which then moves
 * under WORK/outdir (whose rules read everything below; nothing but fresh rules grants
 * anything below WORK/own -- issue 11's "an older file linked into a directory of the
 * run's own travels with it", fslink42):
 *   ownlink    mkdir own; link(SECRET, own/x); rename(own, outdir); read outdir/x
 *   ownmove    mkdir own; rename(SECRET, own/x); rename(own, outdir); read outdir/x
 *   ownnest    mkdir own, own/a; link(SECRET, own/a/x); rename(own/a, own/b) (the run's
 *              own directory moved within its own); rename(own, outdir); read outdir/b/x
 *   ownswap    (SECRET a program the table may read and write, never run; outdir/x may
 *              be run) mkdir own; make own/x; renameat2(SECRET, own/x, RENAME_EXCHANGE);
 *              rename(own, outdir); exec outdir/x "payload"
 *   owntree    (SECRET a directory holding secret.txt) mkdir own; rename(SECRET, own/d);
 *              rename(own, outdir); read outdir/d/secret.txt
 *   ownrmdir   (SECRET a directory holding secret.txt) mkdir own; rename(SECRET, own/d);
 *              rmdir(own/d) -- ENOTEMPTY, it stays --; rename(own, outdir); read
 *              outdir/d/secret.txt (review 23: a removal that fails forgot the note)
 *   ownunlink  the same with unlink(own/d): EISDIR
 *   ownfd      (SECRET the table may read, never write) mkdir own; fd = open(SECRET,
 *              O_PATH); linkat(fd, "", own/x, AT_EMPTY_PATH); rename(own, outdir); append
 *              to outdir/x (review 23: the old name a descriptor's)
 *   ownproc    the same through linkat("/proc/self/fd/N", own/x, AT_SYMLINK_FOLLOW)
 *
 * ESCAPED when the secret was read, written or run through its new name; BLOCKED with the
 * failing step's errno otherwise.
 */
#include "attack.h"

#include <linux/fs.h>

static void read_through(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", path, ename(errno));
    if (is_secret_fd(fd))
        escaped("read the secret through %s", path);
    blocked("%s is not the secret", path);
}

static void write_through(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        blocked("open %s for writing: %s", path, ename(errno));
    if (write(fd, "PWNED\n", 6) != 6)
        blocked("write %s: %s", path, ename(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_ino == env_ull("ESC_SECRET_INO"))
        escaped("wrote the secret through %s", path);
    blocked("%s is not the secret", path);
}

static void run_through(const char *path) {
    pid_t pid = fork();
    if (pid < 0)
        blocked("fork: %s", ename(errno));
    if (pid == 0) {
        execl(path, path, "payload", (char *)NULL);
        printf("note: exec %s: %s\n", path, ename(errno));
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    const char *marker = getenv("ESC_MARKER");
    if (marker && exists(marker))
        escaped("ran a program its own name may not run, through %s", path);
    blocked("the exchanged program did not run");
}

static int renameat2_(const char *old, const char *new, unsigned flags) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, old, AT_FDCWD, new, flags);
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "payload")) {
        const char *marker = getenv("ESC_MARKER");
        if (!marker || write_file(marker, PAYLOAD_MAGIC "\n") < 0)
            blocked("payload: marker: %s", ename(errno));
        puts("note: payload ran");
        return 0;
    }
    if (argc != 4)
        usage("fs_linked MODE SECRET WORK");
    const char *mode = argv[1], *secret = argv[2];
    char out[4096];
    snprintf(out, sizeof out, "%s/out", argv[3]);
    if (!strcmp(mode, "link") || !strcmp(mode, "linkat") || !strcmp(mode, "write")) {
        unlink(out);
        int rc = strcmp(mode, "linkat") ? link(secret, out)
                                        : linkat(AT_FDCWD, secret, AT_FDCWD, out, 0);
        if (rc < 0)
            blocked("%s %s to %s: %s", strcmp(mode, "linkat") ? "link" : "linkat", secret, out,
                    ename(errno));
        if (!strcmp(mode, "write")) {
            int fd = open(out, O_WRONLY | O_APPEND);
            if (fd < 0)
                blocked("open %s for writing: %s", out, ename(errno));
            if (write(fd, "PWNED\n", 6) != 6)
                blocked("write %s: %s", out, ename(errno));
            struct stat st;
            if (fstat(fd, &st) == 0 && st.st_ino == env_ull("ESC_SECRET_INO"))
                escaped("wrote the secret through %s", out);
            blocked("%s is not the secret", out);
        }
        read_through(out);
    }
    if (!strcmp(mode, "rename") || !strcmp(mode, "renameat2")) {
        unlink(out);
        int rc = !strcmp(mode, "rename") ? rename(secret, out)
                                         : renameat2_(secret, out, RENAME_NOREPLACE);
        if (rc < 0)
            blocked("%s %s to %s: %s", mode, secret, out, ename(errno));
        read_through(out);
    }
    if (!strcmp(mode, "exchange")) {
        if (renameat2_(secret, out, RENAME_EXCHANGE) < 0) {
            if (errno == EINVAL || errno == ENOSYS)
                skipped("renameat2 RENAME_EXCHANGE: %s", ename(errno));
            blocked("exchange %s and %s: %s", secret, out, ename(errno));
        }
        run_through(out);
    }
    if (!strncmp(mode, "own", 3)) {
        char own[4096], dir[4096], here[4200], inside[4200];
        snprintf(own, sizeof own, "%s/own", argv[3]);
        snprintf(dir, sizeof dir, "%s/outdir", argv[3]);
        if (mkdir(own, 0755) < 0)
            blocked("mkdir %s: %s", own, ename(errno));
        const char *tail = "/x";
        int rc;
        if (!strcmp(mode, "ownlink")) {
            snprintf(here, sizeof here, "%s/x", own);
            rc = link(secret, here);
        } else if (!strcmp(mode, "ownmove")) {
            snprintf(here, sizeof here, "%s/x", own);
            rc = rename(secret, here);
        } else if (!strcmp(mode, "ownnest")) {
            char a[4200], b[4200];
            snprintf(a, sizeof a, "%s/a", own);
            snprintf(b, sizeof b, "%s/b", own);
            if (mkdir(a, 0755) < 0)
                blocked("mkdir %s: %s", a, ename(errno));
            snprintf(here, sizeof here, "%s/x", a);
            if (link(secret, here) < 0)
                blocked("link %s to %s: %s", secret, here, ename(errno));
            rc = rename(a, b);
            tail = "/b/x";
        } else if (!strcmp(mode, "ownswap")) {
            snprintf(here, sizeof here, "%s/x", own);
            if (write_file(here, "the run's own\n") < 0)
                blocked("make %s: %s", here, ename(errno));
            rc = renameat2_(secret, here, RENAME_EXCHANGE);
            if (rc < 0 && (errno == EINVAL || errno == ENOSYS))
                skipped("renameat2 RENAME_EXCHANGE: %s", ename(errno));
        } else if (!strcmp(mode, "ownfd") || !strcmp(mode, "ownproc")) {
            snprintf(here, sizeof here, "%s/x", own);
            int fd = open(secret, O_PATH);
            if (fd < 0)
                blocked("open %s O_PATH: %s", secret, ename(errno));
            if (!strcmp(mode, "ownfd")) {
                rc = linkat(fd, "", AT_FDCWD, here, AT_EMPTY_PATH);
            } else {
                char magic[64];
                snprintf(magic, sizeof magic, "/proc/self/fd/%d", fd);
                rc = linkat(AT_FDCWD, magic, AT_FDCWD, here, AT_SYMLINK_FOLLOW);
            }
        } else if (!strcmp(mode, "ownrmdir") || !strcmp(mode, "ownunlink")) {
            snprintf(here, sizeof here, "%s/d", own);
            rc = rename(secret, here);
            tail = "/d/secret.txt";
            if (rc == 0) {
                int gone = !strcmp(mode, "ownrmdir") ? rmdir(here) : unlink(here);
                printf("note: remove %s: %s\n", here, gone < 0 ? ename(errno) : "removed");
            }
        } else if (!strcmp(mode, "owntree")) {
            snprintf(here, sizeof here, "%s/d", own);
            rc = rename(secret, here);
            tail = "/d/secret.txt";
        } else {
            usage("fs_linked MODE SECRET WORK");
        }
        if (rc < 0)
            blocked("give %s a name below %s: %s", secret, own, ename(errno));
        if (rename(own, dir) < 0)
            blocked("rename %s to %s: %s", own, dir, ename(errno));
        snprintf(inside, sizeof inside, "%s%s", dir, tail);
        if (!strcmp(mode, "ownswap"))
            run_through(inside);
        if (!strcmp(mode, "ownfd") || !strcmp(mode, "ownproc"))
            write_through(inside);
        read_through(inside);
    }
    if (!strcmp(mode, "dir")) {
        char dir[4096], inside[4200];
        snprintf(dir, sizeof dir, "%s/outdir", argv[3]);
        if (rename(secret, dir) < 0)
            blocked("rename %s to %s: %s", secret, dir, ename(errno));
        snprintf(inside, sizeof inside, "%s/secret.txt", dir);
        read_through(inside);
    }
    usage("fs_linked MODE SECRET WORK");
}
