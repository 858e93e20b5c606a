/* root_views.c: a tracee whose root (chroot) is not the tracer's (red team 24).
 *
 *   root_views loader HOW JAIL PROGRAM
 *        chroot(JAIL) -- as root (HOW "root"), or in a user namespace of its own (HOW
 *        "user": no privilege needed) --, the working directory left outside it, and exec
 *        PROGRAM (a path relative to that directory: a program outside the jail, which has a
 *        table of its own).  The kernel looks PROGRAM's ELF interpreter up in the task's root:
 *        JAIL/lib64/ld-linux-x86-64.so.2, the tree's (root_loader.c), runs first, with the
 *        program's table.  ESCAPED (said by that loader) when it read the secret.
 *   root_views bind HOW LOADER PROGRAM
 *        the same loader by another door: in a mount namespace of its own (HOW "root", or
 *        "user": with a user namespace), bind LOADER (the tree's) over the system's
 *        /lib64/ld-linux-x86-64.so.2 and exec PROGRAM -- its name unchanged, its loader not.
 *   root_views preload HOW JAIL PROGRAM
 *        with the system's own loader, the very file the program names: in a mount
 *        namespace of its own, bind JAIL/etc over /etc and exec PROGRAM by its own name; the
 *        loader reads /etc/ld.so.preload there -- the tree's -- and loads the tree's
 *        library (root_preload.c) first.
 *   root_views shebang JAIL
 *        chroot(JAIL), exec /work/s.sh, whose "#!" line names a program inside the jail that
 *        a rule refuses to exec (JAIL/secd/payload: this program, static).
 *   root_views payload     (as that interpreter) says it ran: ESCAPED.
 */
#include "attack.h"

#include <sched.h>
#include <sys/mount.h>

static void must_write(const char *path, const char *text) {
    int err = write_file(path, text);
    if (err < 0) skipped("%s: %s", path, ename(-err));
}

static void own_user(const char *how) {
    if (strcmp(how, "user") == 0) {
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
}

static void own_root(const char *how, const char *jail) {
    own_user(how);
    if (chroot(jail) < 0) skipped("chroot: %s", ename(errno));
}

static void bind_loader(const char *how, const char *planted, const char *program) {
    own_user(how);
    if (unshare(CLONE_NEWNS) < 0) skipped("unshare(CLONE_NEWNS): %s", ename(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("private mounts: %s", ename(errno));
    if (mount(planted, "/lib64/ld-linux-x86-64.so.2", NULL, MS_BIND, NULL) < 0)
        blocked("bind over the loader: %s", ename(errno));
    char *argv[] = {(char *)program, NULL};
    execv(program, argv);
    blocked("exec of %s refused: %s", program, ename(errno));
}

static void loader(const char *how, const char *jail, const char *program) {
    own_root(how, jail);
    char *argv[] = {(char *)program, NULL};
    execv(program, argv);
    blocked("exec of %s refused: %s", program, ename(errno));
}

static void preload(const char *how, const char *jail, const char *program) {
    own_user(how);
    if (unshare(CLONE_NEWNS) < 0) skipped("unshare(CLONE_NEWNS): %s", ename(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("private mounts: %s", ename(errno));
    char etc[4200];
    snprintf(etc, sizeof etc, "%s/etc", jail);
    if (mount(etc, "/etc", NULL, MS_BIND, NULL) < 0) blocked("bind over /etc: %s", ename(errno));
    char *argv[] = {(char *)program, NULL};
    execv(program, argv);
    blocked("exec of %s refused: %s", program, ename(errno));
}

static void shebang(const char *jail) {
    own_root("root", jail);
    if (chdir("/") < 0) blocked("chdir: %s", ename(errno));
    char *argv[] = {"/work/s.sh", NULL};
    execv("/work/s.sh", argv);
    blocked("exec of the script refused: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "payload") == 0) escaped("the refused interpreter ran");
    if (argc >= 2 && strstr(argv[1], "s.sh")) escaped("the refused interpreter ran for %s", argv[1]);
    if (argc == 5 && strcmp(argv[1], "loader") == 0) loader(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "bind") == 0) bind_loader(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "preload") == 0) preload(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "shebang") == 0) shebang(argv[2]);
    fprintf(stderr, "usage: root_views loader HOW JAIL PROGRAM | bind HOW LOADER PROGRAM | preload HOW JAIL PROGRAM | shebang JAIL\n");
    return 2;
}
