/* race_meta: swap a directory for a symlink between the check and the call, for calls other
 * than open (Garfinkel 2003: "races in metadata calls").
 *
 *   race_meta MODE PROTECTED WORK [ITERATIONS [SECONDS]]
 *
 * PROTECTED is a directory the policy refuses to write (it holds a file "target", mode 0644,
 * content "original").  WORK/d is a real directory holding its own "target"; WORK/alt is a
 * symlink to PROTECTED; a thread swaps the two names (RENAME_EXCHANGE) while we operate on
 * WORK/d/target -- permitted whenever the check sees the real directory.
 *
 * MODE: chmod   chmod(WORK/d/target, 0606): ESCAPED when PROTECTED/target's mode changes
 *       mkdir   mkdir(WORK/d/newdir-N): ESCAPED when a PROTECTED/newdir-N appears
 *       open    open(WORK/d/target, O_WRONLY|O_APPEND) + write: ESCAPED when PROTECTED/target
 *               changes (opens are held with RESOLVE_NO_SYMLINKS: the control case)
 * Class 2 (races between check and use).
 */
#include "race.h"

#include <dirent.h>
#include <linux/fs.h>

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

static int protected_changed(const char *prot, const char *mode, char *why, size_t n) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/target", prot);
    if (!strcmp(mode, "chmod") && stat(p, &st) == 0 && (st.st_mode & 07777) != 0644) {
        snprintf(why, n, "PROTECTED/target is now mode %o", st.st_mode & 07777);
        return 1;
    }
    if (!strcmp(mode, "open") && stat(p, &st) == 0 && st.st_size != 9) {
        snprintf(why, n, "PROTECTED/target was written (%ld bytes)", (long)st.st_size);
        return 1;
    }
    if (!strcmp(mode, "mkdir")) {
        DIR *dir = opendir(prot);
        struct dirent *e;
        while (dir && (e = readdir(dir)))
            if (!strncmp(e->d_name, "newdir-", 7)) {
                snprintf(why, n, "PROTECTED/%s was made", e->d_name);
                closedir(dir);
                return 1;
            }
        if (dir)
            closedir(dir);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("race_meta MODE PROTECTED WORK [ITERATIONS [SECONDS]]");
    const char *mode = argv[1], *prot = argv[2], *work = argv[3];
    struct budget budget;
    budget_args(&budget, argc, argv, 4);
    char path[4096], newdir[4096], why[512] = "";
    snprintf(d, sizeof d, "%s/d", work);
    snprintf(alt, sizeof alt, "%s/alt", work);
    mkdir(d, 0755);
    snprintf(path, sizeof path, "%s/d/target", work);
    write_file(path, "original\n");
    symlink(prot, alt);
    if (strcmp(mode, "chmod") && strcmp(mode, "mkdir") && strcmp(mode, "open"))
        usage("MODE: chmod mkdir open");

    pthread_t th;
    pthread_create(&th, NULL, swapper, NULL);
    wait_for_peer(&flips);
    budget.start = now_s();
    long ok = 0, failed = 0;
    int hit = 0;
    while (budget_left(&budget) && !hit) {
        int rc;
        if (!strcmp(mode, "chmod")) {
            rc = chmod(path, 0606);
        } else if (!strcmp(mode, "mkdir")) {
            snprintf(newdir, sizeof newdir, "%s/d/newdir-%ld", work, budget.done);
            rc = mkdir(newdir, 0755);
        } else {
            rc = open(path, O_WRONLY | O_APPEND);
            if (rc >= 0) {
                write(rc, "X", 1);
                close(rc);
            }
        }
        if (rc < 0)
            failed++;
        else
            ok++;
        if ((budget.done & 63) == 0)
            hit = protected_changed(prot, mode, why, sizeof why);
    }
    stop = 1;
    pthread_join(th, NULL);
    hit = hit || protected_changed(prot, mode, why, sizeof why);
    note("%ld tries: %ld succeeded, %ld failed", budget.done - 1, ok, failed);
    if (hit)
        escaped("%s", why);
    blocked("PROTECTED is untouched");
}
