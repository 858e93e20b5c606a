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
        pid_t pid = fork();
        if (pid < 0)
            blocked("fork: %s", ename(errno));
        if (pid == 0) {
            execl(out, out, "payload", (char *)NULL);
            printf("note: exec %s: %s\n", out, ename(errno));
            _exit(1);
        }
        int status;
        waitpid(pid, &status, 0);
        const char *marker = getenv("ESC_MARKER");
        if (marker && exists(marker))
            escaped("ran a program its own name may not run, through %s", out);
        blocked("the exchanged program did not run");
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
