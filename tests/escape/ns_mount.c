/* ns_mount: reach the secret under a name no rule mentions, through a new view of the file
 * system: a mount namespace of our own (unprivileged, through a user namespace, or as root),
 * then a mount that shows the secret's directory somewhere else, or a new root.
 *
 *   ns_mount MODE HOW SECD WORK
 *
 * HOW: user   unshare(CLONE_NEWUSER|CLONE_NEWNS) first (an unprivileged program's way)
 *      root   unshare(CLONE_NEWNS) only (a root program's way)
 * (mounts are made private first, so nothing propagates out of the test's namespace)
 *
 * MODE: bind     mount --bind SECD WORK/b, read WORK/b/secret.txt
 *       rbind    the same with MS_REC
 *       move     mount --move SECD WORK/m (SECD must already be a mount point)
 *       tree     open_tree(SECD, OPEN_TREE_CLONE): openat(tree, "secret.txt"), then
 *                move_mount(tree -> WORK/t) and read WORK/t/secret.txt
 *       overlay  mount -t overlay -o lowerdir=SECD, read the secret through the overlay
 *       overlay2 the same through the new mount API (fsopen, fsconfig, fsmount, move_mount)
 *       clone    the namespaces made by clone(2) for a child, which binds and reads
 *       clone3   the same made by clone3(2) (its flags in a struct clone_args)
 *       chroot   chroot(SECD/..) and read /secd/secret.txt; chroot(WORK) keeping the cwd
 *                outside the new root and read ../secd/secret.txt from there
 *       pivot    a tmpfs as the new root, the old one under it: pivot_root, then read the
 *                secret through /old/...
 *       procfs   a new pid namespace and a procfs of it: the secret through /proc/1/root,
 *                and /proc/1/mem opened for writing
 *       memfile  /proc/self/mem bound on a file of ours, then opened for writing: our own
 *                memory (the tracer's read-only copies of checked arguments in it) writable
 *                under a name no rule and no engine check knows
 *       cover    (HOW here: in the current namespace) bind a file of our own over
 *                SECD/secret.txt: every reader there then reads ours
 *       procfd   (HOW here) bind a directory of our own over /proc/self/fd, where a link
 *                "N" says our descriptor N (SECD) is PUBD: a tracer reading /proc for the
 *                start of openat(N, "secret.txt") would decide on PUBD's file
 *       setns    (HOW here) join our own UTS namespace again: ESCAPED when the call ran
 * ESCAPED when the secret was read (or process memory opened for writing, or the secret
 * replaced for every reader).
 * Class 10 (new views of the file system).
 */
#include "attack.h"

#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mount.h>

static const char *secd, *work, *how;
static char secret[4096];

/* Our own mount namespace, whose mounts propagate nowhere. */
static void enter(int extra) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    int flags = CLONE_NEWNS | extra | (!strcmp(how, "user") ? CLONE_NEWUSER : 0);
    if (unshare(flags) < 0) {
        if (errno == EINVAL || errno == ENOSPC)
            skipped("unshare: %s", ename(errno));
        blocked("unshare: %s", ename(errno));
    }
    if (flags & CLONE_NEWUSER)
        map_own_ids(uid, gid);
}

static void private_mounts(void) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        blocked("making mounts private: %s", ename(errno));
}

static void at(char *out, const char *dir, const char *name) {
    snprintf(out, 4096, "%s/%s", dir, name);
    mkdir(out, 0755);
}

/* read PATH, and tally it (ESCAPED at once when it is the secret) */
static void read_through(const char *label, const char *dir, const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    try_open(label, path);
}

static void mounted(const char *what, int rc) {
    if (rc < 0) {
        tally(what, -1, errno);
        tally_done();
    }
}

static void child_binds(int by_clone3) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    long pid;
    if (by_clone3) {
        struct clone_args args = {.flags = CLONE_NEWUSER | CLONE_NEWNS, .exit_signal = SIGCHLD};
        pid = syscall(SYS_clone3, &args, sizeof args);
    } else {
        pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    }
    if (pid < 0)
        blocked("%s(CLONE_NEWUSER|CLONE_NEWNS): %s", by_clone3 ? "clone3" : "clone",
                ename(errno));
    if (pid == 0) {
        char b[4096];
        map_own_ids(uid, gid);
        private_mounts();
        at(b, work, "b");
        mounted("mount --bind in the child", mount(secd, b, NULL, MS_BIND, NULL));
        read_through("the child's bind", b, "secret.txt");
        tally_done();
    }
    int status;
    waitpid(pid, &status, 0); /* the child said what happened */
    exit(0);
}

static void new_procfs(void) {
    enter(CLONE_NEWPID);
    pid_t pid = fork(); /* pid 1 of the new pid namespace */
    if (pid < 0)
        blocked("fork: %s", ename(errno));
    if (pid > 0) {
        int status;
        waitpid(pid, &status, 0);
        exit(0);
    }
    char p[4096], root[8192];
    private_mounts();
    at(p, work, "p");
    mounted("mount -t proc", mount("proc", p, "proc", 0, NULL));
    snprintf(root, sizeof root, "%s/1/root%s", p, secret);
    try_open("/proc/1/root of the new procfs", root);
    snprintf(root, sizeof root, "%s/self/root%s", p, secret);
    try_open("/proc/self/root of the new procfs", root);
    snprintf(root, sizeof root, "%s/1/mem", p);
    int fd = open(root, O_RDWR | O_CLOEXEC);
    if (fd >= 0)
        escaped("opened %s for writing: process memory", root);
    tally("/proc/1/mem for writing", -1, errno);
    tally_done();
}

static void chroots(void) {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s/..", secd);
    if (strcmp(how, "root"))
        enter(0);
    if (chdir(parent) < 0)
        blocked("chdir: %s", ename(errno));
    /* a new root below the cwd: ".." from the cwd is not stopped by it */
    if (chroot(work) == 0)
        try_open("chroot(WORK) with the cwd outside it", "secd/secret.txt");
    else
        tally("chroot(WORK)", -1, errno);
    if (chroot(".") == 0)
        try_open("chroot(SECD/..) then /secd/secret.txt", "/secd/secret.txt");
    else
        tally("chroot(SECD/..)", -1, errno);
    tally_done();
}

static void pivot(void) {
    char nr[4096], old[4096], path[8192];
    enter(0);
    private_mounts();
    at(nr, work, "newroot");
    mounted("mount -t tmpfs (the new root)", mount("none", nr, "tmpfs", 0, NULL));
    at(old, nr, "old");
    mounted("pivot_root", syscall(SYS_pivot_root, nr, old));
    if (chdir("/") < 0)
        note("chdir: %s", ename(errno));
    snprintf(path, sizeof path, "/old%s", secret);
    try_open("the old root after pivot_root", path);
    tally_done();
}

static void tree(void) {
    char t[4096];
    enter(0);
    private_mounts();
    int fd = syscall(SYS_open_tree, AT_FDCWD, secd, OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
    mounted("open_tree(OPEN_TREE_CLONE)", fd);
    at(t, work, "t");
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, t, MOVE_MOUNT_F_EMPTY_PATH) == 0)
        read_through("the tree moved to WORK/t", t, "secret.txt");
    else
        tally("move_mount", -1, errno);
    try_open_at(fd, "openat in the tree", "secret.txt", O_RDONLY);
    tally_done();
}

static void overlay_api(const char *o, const char *upper, const char *wk) {
    int fs = syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    mounted("fsopen(overlay)", fs);
    mounted("fsconfig(lowerdir)", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir",
                                          secd, 0));
    mounted("fsconfig(upperdir)", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir",
                                          upper, 0));
    mounted("fsconfig(workdir)", syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir",
                                         wk, 0));
    mounted("fsconfig(CREATE)", syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    int mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
    mounted("fsmount", mnt);
    mounted("move_mount", syscall(SYS_move_mount, mnt, "", AT_FDCWD, o,
                                  MOVE_MOUNT_F_EMPTY_PATH));
}

static void cover(void) {
    char fake[4096], buf[64] = "";
    snprintf(fake, sizeof fake, "%s/fake", work);
    if (write_file(fake, "FORGED\n") < 0)
        blocked("writing %s: %s", fake, ename(errno));
    mounted("mount --bind over the secret", mount(fake, secret, NULL, MS_BIND, NULL));
    int fd = open(secret, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = 0;
    if (!strncmp(buf, "FORGED", 6))
        escaped("%s now reads FORGED for every reader", secret);
    blocked("%s still reads %.20s", secret, buf);
}

static void procfd(void) {
    char fake[4096], link[4096], fds[64], pubd[4096], name[16];
    int dir = open(secd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        blocked("open SECD: %s", ename(errno));
    snprintf(pubd, sizeof pubd, "%s/../pubd", secd);
    snprintf(fake, sizeof fake, "%s/fakefd", work);
    mkdir(fake, 0755);
    snprintf(name, sizeof name, "%d", dir);
    snprintf(link, sizeof link, "%s/%s", fake, name);
    if (symlink(pubd, link) < 0)
        blocked("symlink: %s", ename(errno));
    snprintf(fds, sizeof fds, "/proc/%d/fd", getpid());
    mounted("mount --bind over /proc/PID/fd", mount(fake, fds, NULL, MS_BIND, NULL));
    try_open_at(dir, "openat(SECD's descriptor, secret.txt)", "secret.txt", O_RDONLY);
    tally_done();
}

static void join(void) {
    int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    if (setns(fd, CLONE_NEWUTS) == 0)
        escaped("setns ran");
    blocked("setns: %s", ename(errno));
}

int main(int argc, char **argv) {
    if (argc < 5)
        usage("ns_mount MODE HOW SECD WORK");
    const char *mode = argv[1];
    how = argv[2];
    secd = argv[3];
    work = argv[4];
    snprintf(secret, sizeof secret, "%s/secret.txt", secd);
    char dir[4096], opts[8192];
    if (!strcmp(mode, "clone") || !strcmp(mode, "clone3"))
        child_binds(!strcmp(mode, "clone3"));
    if (!strcmp(mode, "procfs"))
        new_procfs();
    if (!strcmp(mode, "chroot"))
        chroots();
    if (!strcmp(mode, "pivot"))
        pivot();
    if (!strcmp(mode, "tree"))
        tree();
    if (!strcmp(mode, "cover"))
        cover();
    if (!strcmp(mode, "setns"))
        join();
    if (!strcmp(mode, "procfd"))
        procfd();
    enter(0);
    private_mounts();
    if (!strcmp(mode, "bind") || !strcmp(mode, "rbind")) {
        at(dir, work, "b");
        mounted("mount --bind", mount(secd, dir, NULL,
                                      MS_BIND | (!strcmp(mode, "rbind") ? MS_REC : 0), NULL));
    } else if (!strcmp(mode, "memfile")) {
        at(dir, work, "m");
        char file[8192];
        snprintf(file, sizeof file, "%s/data", dir);
        close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        mounted("mount --bind /proc/self/mem", mount("/proc/self/mem", file, NULL, MS_BIND,
                                                     NULL));
        int fd = open(file, O_RDWR | O_CLOEXEC);
        if (fd >= 0)
            escaped("opened %s for writing: our own memory", file);
        tally("open for writing", -1, errno);
        tally_done();
    } else if (!strcmp(mode, "move")) {
        at(dir, work, "m");
        mounted("mount --move", mount(secd, dir, NULL, MS_MOVE, NULL));
    } else if (!strcmp(mode, "overlay") || !strcmp(mode, "overlay2")) {
        char upper[4096], wk[4096];
        at(dir, work, "o");
        at(upper, work, "u");
        at(wk, work, "w");
        if (!strcmp(mode, "overlay2")) {
            overlay_api(dir, upper, wk);
        } else {
            snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", secd, upper, wk);
            mounted("mount -t overlay", mount("overlay", dir, "overlay", 0, opts));
        }
    } else {
        usage("unknown MODE");
    }
    read_through(mode, dir, "secret.txt");
    tally_done();
}
