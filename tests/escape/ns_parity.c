/* ns_parity: the harmless uses of namespaces, mounts and chroot, step by step, each step's
 * result on a line of its own -- the same lines natively and under systrace when no rule is
 * about what they touch.
 *
 *   ns_parity MODE HOW DIR [PROGRAM]
 *
 * HOW: user (unshare(CLONE_NEWUSER|CLONE_NEWNS)) or root (unshare(CLONE_NEWNS)); mounts are
 * made private first.
 * MODE: tmpfs    a tmpfs on DIR/t: files made, read, renamed, removed in it; then umount
 *       bind     DIR/src bound on DIR/b (and read through it), then umount
 *       api      the same tmpfs through the new mount API (fsopen, fsconfig, fsmount,
 *                move_mount), and a copy of DIR/src by open_tree + move_mount (its path "",
 *                then NULL)
 *       chroot   chroot(DIR) and exec PROGRAM (a static binary inside DIR)
 *       pivot    a tmpfs as new root, pivot_root, the old root detached, a file made in
 *                the new root
 *       pivotdot a tmpfs as new root, pivot_root(".", ".") from inside it and the old root,
 *                stacked on "/", unmounted by umount2(".", MNT_DETACH) (runc's and crun's
 *                way), a file made in the new root
 *       flags    unshare with each namespace flag, and clone(2) and clone3(2) with them in a
 *                child
 *       children children made in new user and mount namespaces by clone (fork-like and
 *                CLONE_VFORK) and by clone3 (fork-like, CLONE_VFORK, and with no exit signal),
 *                each mounting a tmpfs over /proc -- its own namespace's, propagated nowhere
 *                -- as its first mount, and making a file there (HOW is not read: a mount
 *                namespace without a user namespace would share /proc's mount with ours)
 */
#include "attack.h"

#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mount.h>

static const char *how, *dir;

static void step(const char *what, long rc) {
    printf("%s: %s\n", what, rc < 0 ? ename(errno) : "ok");
    fflush(stdout);
}

static void writef(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0)
            printf("write %s: %s\n", path, ename(errno));
        close(fd);
    }
}

/* In a new user namespace: be root in it (mapped to who we were). */
static void map_ids(uid_t uid, gid_t gid) {
    char text[64];
    writef("/proc/self/setgroups", "deny");
    snprintf(text, sizeof text, "0 %u 1", uid);
    writef("/proc/self/uid_map", text);
    snprintf(text, sizeof text, "0 %u 1", gid);
    writef("/proc/self/gid_map", text);
}

static void enter(int extra) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    int user = !strcmp(how, "user");
    step("unshare", unshare(CLONE_NEWNS | extra | (user ? CLONE_NEWUSER : 0)));
    if (user)
        map_ids(uid, gid);
    step("private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
}

static char *at(const char *name) {
    static char paths[8][4096];
    static int next;
    char *out = paths[next++ % 8];
    snprintf(out, 4096, "%s/%s", dir, name);
    return out;
}

static void read_back(const char *what, const char *path) {
    char buf[256] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        step(what, -1);
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("%s: read \"%s\"\n", what, buf);
}

static void files_in(const char *where) {
    char a[4096], b[4096], d[4096];
    snprintf(a, sizeof a, "%s/a", where);
    snprintf(b, sizeof b, "%s/b", where);
    snprintf(d, sizeof d, "%s/d", where);
    int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    step("create", fd);
    if (fd >= 0) {
        step("write", write(fd, "in the tmpfs\n", 13));
        close(fd);
    }
    read_back("read", a);
    step("mkdir", mkdir(d, 0755));
    step("rename", rename(a, b));
    step("unlink", unlink(b));
    step("rmdir", rmdir(d));
}

static void tmpfs(void) {
    enter(0);
    mkdir(at("t"), 0755);
    step("mount tmpfs", mount("none", at("t"), "tmpfs", 0, "size=1M,mode=0755"));
    files_in(at("t"));
    step("umount", umount2(at("t"), 0));
    step("gone after umount", access(at("t/a"), F_OK) == 0 ? 0 : -1);
    /* a mount that follows no symlink: a link on it is ELOOP, whoever looks it up */
    step("mount nosymfollow", mount("none", at("t"), "tmpfs", MS_NOSYMFOLLOW, NULL));
    step("file", write_file(at("t/f"), "f\n"));
    step("symlink", symlink("f", at("t/l")));
    step("open through the link", open(at("t/l"), O_RDONLY | O_CLOEXEC));
    step("umount", umount2(at("t"), MNT_DETACH));
}

static void bind_mount(void) {
    enter(0);
    mkdir(at("b"), 0755);
    step("bind", mount(at("src"), at("b"), NULL, MS_BIND, NULL));
    read_back("read through the bind", at("b/file"));
    step("remount read-only", mount(NULL, at("b"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
                                    NULL));
    step("write refused by the kernel", open(at("b/new"), O_WRONLY | O_CREAT, 0644));
    step("umount", umount2(at("b"), MNT_DETACH));
}

static void api(void) {
    enter(0);
    mkdir(at("t"), 0755);
    int fs = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    step("fsopen", fs);
    step("fsconfig size", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "1M", 0));
    step("fsconfig create", syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    int mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    step("fsmount", mnt);
    step("move_mount", syscall(SYS_move_mount, mnt, "", AT_FDCWD, at("t"),
                               MOVE_MOUNT_F_EMPTY_PATH));
    files_in(at("t"));
    step("umount", umount2(at("t"), 0));
    int tree = syscall(SYS_open_tree, AT_FDCWD, at("src"), OPEN_TREE_CLONE | O_CLOEXEC);
    step("open_tree", tree);
    step("move_mount of the tree", syscall(SYS_move_mount, tree, "", AT_FDCWD, at("t"),
                                           MOVE_MOUNT_F_EMPTY_PATH));
    read_back("read through the tree", at("t/file"));
    step("umount", umount2(at("t"), 0));
    /* a NULL path with MOVE_MOUNT_F_EMPTY_PATH is an empty one (getname_maybe_null) */
    tree = syscall(SYS_open_tree, AT_FDCWD, at("src"), OPEN_TREE_CLONE | O_CLOEXEC);
    step("move_mount of a tree by a NULL path", syscall(SYS_move_mount, tree, NULL, AT_FDCWD,
                                                        at("t"), MOVE_MOUNT_F_EMPTY_PATH));
    step("umount", umount2(at("t"), 0));
}

static void chroots(const char *program) {
    if (strcmp(how, "root"))
        enter(0);
    step("chroot", chroot(dir));
    step("chdir", chdir("/"));
    fflush(stdout);
    char *argv[] = {(char *)program, NULL};
    execv(program, argv);
    step("exec", -1);
}

static void pivot(void) {
    enter(0);
    mkdir(at("newroot"), 0755);
    step("mount the new root", mount("none", at("newroot"), "tmpfs", 0, NULL));
    mkdir(at("newroot/old"), 0755);
    step("pivot_root", syscall(SYS_pivot_root, at("newroot"), at("newroot/old")));
    step("chdir", chdir("/"));
    step("umount the old root", umount2("/old", MNT_DETACH));
    step("rmdir", rmdir("/old"));
    files_in("");
}

static void pivot_dot(void) {
    enter(0);
    mkdir(at("newroot"), 0755);
    step("mount the new root", mount("none", at("newroot"), "tmpfs", 0, NULL));
    step("chdir into it", chdir(at("newroot")));
    step("pivot_root . .", syscall(SYS_pivot_root, ".", "."));
    step("umount the old root", umount2(".", MNT_DETACH));
    step("chdir", chdir("/"));
    files_in("");
}

static void flags(void) {
    static const struct {
        int flag;
        const char *name;
    } all[] = {{CLONE_NEWUTS, "uts"}, {CLONE_NEWIPC, "ipc"}, {CLONE_NEWNET, "net"},
               {CLONE_NEWPID, "pid"}, {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWTIME, "time"},
               {CLONE_NEWNS, "mnt"}};
    int user = strcmp(how, "user") ? 0 : CLONE_NEWUSER;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char what[64];
            snprintf(what, sizeof what, "unshare %s", all[i].name);
            step(what, unshare(all[i].flag | user));
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        for (int by_clone3 = 0; by_clone3 < 2; by_clone3++) {
            const char *call = by_clone3 ? "clone3" : "clone";
            long child;
            if (by_clone3) {
                struct clone_args args = {.flags = all[i].flag | user, .exit_signal = SIGCHLD};
                child = syscall(SYS_clone3, &args, sizeof args);
            } else if (all[i].flag == CLONE_NEWTIME) {
                continue; /* (its bit is clone(2)'s exit signal) */
            } else {
                child = syscall(SYS_clone, all[i].flag | user | SIGCHLD, 0, 0, 0, 0);
            }
            if (child == 0) {
                printf("%s %s: ok, pid 1: %d\n", call, all[i].name, getpid() == 1);
                fflush(stdout);
                _exit(0);
            }
            if (child < 0)
                printf("%s %s: %s\n", call, all[i].name, ename(errno));
            else
                waitpid(child, NULL, 0);
            fflush(stdout);
        }
    }
}

/* A child in new user and mount namespaces: a tmpfs over /proc (the tracer's own would be
 * refused: it reads /proc), a file made and read there. */
static void in_new_namespaces(const char *made_by, uid_t uid, gid_t gid) {
    char what[128];
    map_ids(uid, gid);
    snprintf(what, sizeof what, "%s: tmpfs over its /proc", made_by);
    step(what, mount("none", "/proc", "tmpfs", 0, "mode=0755"));
    snprintf(what, sizeof what, "%s: a file there", made_by);
    step(what, write_file("/proc/made", "in the child's /proc\n"));
    read_back(made_by, "/proc/made");
    fflush(stdout);
    _exit(0);
}

static void children(void) {
    static const struct {
        const char *name;
        int clone3, flags, exit_signal;
    } ways[] = {{"clone", 0, 0, SIGCHLD},
                {"clone CLONE_VFORK", 0, CLONE_VFORK, SIGCHLD},
                {"clone3", 1, 0, SIGCHLD},
                {"clone3 CLONE_VFORK", 1, CLONE_VFORK, SIGCHLD},
                {"clone3 with no exit signal", 1, 0, 0}};
    uid_t uid = getuid();
    gid_t gid = getgid();
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        int flags = CLONE_NEWUSER | CLONE_NEWNS | ways[i].flags;
        long child;
        if (ways[i].clone3) {
            struct clone_args args = {.flags = flags, .exit_signal = ways[i].exit_signal};
            child = syscall(SYS_clone3, &args, sizeof args);
        } else {
            child = syscall(SYS_clone, flags | ways[i].exit_signal, 0, 0, 0, 0);
        }
        if (child == 0)
            in_new_namespaces(ways[i].name, uid, gid);
        if (child > 0)
            waitpid(child, NULL, __WALL); /* (its lines first) */
        step(ways[i].name, child);
    }
    step("our /proc is the kernel's", access("/proc/self/status", F_OK));
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("ns_parity MODE HOW DIR [PROGRAM]");
    const char *mode = argv[1];
    how = argv[2];
    dir = argv[3];
    idle_thread_if_asked();
    if (!strcmp(mode, "tmpfs"))
        tmpfs();
    else if (!strcmp(mode, "bind"))
        bind_mount();
    else if (!strcmp(mode, "api"))
        api();
    else if (!strcmp(mode, "chroot"))
        chroots(argc > 4 ? argv[4] : "/hello");
    else if (!strcmp(mode, "pivot"))
        pivot();
    else if (!strcmp(mode, "pivotdot"))
        pivot_dot();
    else if (!strcmp(mode, "flags"))
        flags();
    else if (!strcmp(mode, "children"))
        children();
    else
        usage("unknown MODE");
    printf("done\n");
    return 0;
}
