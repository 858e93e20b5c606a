/* landlock_run.c: a sandbox of the user's own, made with Landlock -- an unprivileged
 * process confining itself, which nothing in /proc shows (no status line, no namespace).
 *
 *   landlock_run DIR... -- COMMAND ARGS...   COMMAND runs where files may be written or made
 *                                            only beneath the DIRs (every other access as
 *                                            before); no_new_privs is set, as Landlock needs
 *
 * Prints "SKIPPED: ..." and exits 0 where the kernel has no Landlock.
 */
#include "attack.h"
#include <linux/landlock.h>
#include <sys/prctl.h>

#define WRITES (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
                LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | \
                LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
                LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_REMOVE_DIR)

int main(int argc, char **argv) {
    int at = 1;
    while (at < argc && strcmp(argv[at], "--") != 0)
        at++;
    if (at >= argc - 1)
        usage("landlock_run DIR... -- COMMAND ARGS...");
    struct landlock_ruleset_attr attr = {.handled_access_fs = WRITES};
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0)
        skipped("landlock_create_ruleset: %s", ename(errno));
    for (int i = 1; i < at; i++) {
        struct landlock_path_beneath_attr beneath = {.allowed_access = WRITES};
        beneath.parent_fd = open(argv[i], O_PATH | O_CLOEXEC);
        if (beneath.parent_fd < 0 ||
            syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) < 0) {
            fprintf(stderr, "landlock_run: %s: %s\n", argv[i], ename(errno));
            return 2;
        }
        close(beneath.parent_fd);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
        fprintf(stderr, "landlock_run: restrict: %s\n", ename(errno));
        return 2;
    }
    close(ruleset);
    execvp(argv[at + 1], argv + at + 1);
    fprintf(stderr, "landlock_run: %s: %s\n", argv[at + 1], ename(errno));
    return 127;
}
