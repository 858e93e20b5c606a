/* fuzz_race: a stochastic race fuzzer of interleavings (red team 51).
 *
 *   fuzz_race SEED ROOT MILLISECONDS [TASKS]
 *
 * ROOT holds secd/secret.txt (the denied file), pubd/secret.txt (a decoy of the same name, and
 * a directory name of the same length) and work/ (the attacker's).  SEED picks TASKS tasks
 * (2..6; default from the seed), each of one kind:
 *
 *   thread  a thread of this process
 *   vm      a process sharing this one's memory (clone CLONE_VM, no thread group; half of
 *           them share the descriptor table too)
 *   vfork   a thread that vforks children, each running a few steps and then _exit or exec
 *   fs      a process sharing only the file-system context (clone CLONE_FS: cwd and root)
 *   fork    an unrelated process of the tree (shares only the MAP_SHARED page)
 *   mt      a forked process of two threads, either of which may exec cat in place (the
 *           exec of a thread that is not the leader: the kernel kills its sibling mid-call
 *           and the exec'ing thread takes the leader's pid)
 *
 * and each task loops a random mix of steps until MILLISECONDS have passed: path calls on
 * names that sometimes lead to the denied file (open, openat, openat2, execve of cat, stat,
 * readlink, linkat, renameat2 RENAME_EXCHANGE, symlinkat, bind mounts as root in a mount
 * namespace of the run's own, chdir/fchdir, dup2 over a directory descriptor in use, close),
 * rewrites of argument memory (path buffers, open_how structs, iovecs), and signals (SIGSTOP
 * and SIGCONT of a sibling process, SIGKILL of a process task, wherever it is).  The same seed
 * gives the same tasks and the same draws of each task; the interleaving is the scheduler's.
 *
 * Output: a descriptor a step opened is read, and what it holds goes to stdout (through a
 * writev whose iovec another task may be rewriting); exec'd cats print to stdout.  The secret's
 * content in the output is an escape (the driver greps stdout for SECRET_MAGIC); so is a write
 * that lands in secd (the driver compares secd's tree before and after).  The last line is
 * "DONE steps=N" from the main process, which no step kills or stops for good.
 */
#include "attack.h"

#include <linux/openat2.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/uio.h>

#define MAX_TASKS 6
#define NBUF 6
#define NHOW 3
#define DIRFD0 100 /* descriptors 100..103: directories, dup2'ed over and closed by steps */
#define NDIRFD 4

enum kind { K_THREAD, K_VM, K_VFORK, K_FS, K_FORK, K_MT, K_KINDS };
static const char *kind_name[] = {"thread", "vm", "vfork", "fs", "fork", "mt"};

struct shared {
    char buf[NBUF][512];       /* path buffers: absolute (0..2), relative to ROOT (3..5) */
    struct open_how how[NHOW]; /* openat2's arguments, rewritten */
    struct iovec iov[2];       /* the output's iovec, rewritten */
    char out[2][600];
    volatile int stop;
    volatile pid_t pid[MAX_TASKS]; /* a process task's pid (0: none, or a thread) */
    volatile long steps;
    volatile long leaks;
    volatile long refused, again; /* opens that failed EACCES (a rule's errno), EAGAIN */
    int mount_ok;
};

static struct shared *S;
static char ROOT[256];
static size_t rootlen;
static int ntasks;
static enum kind kinds[MAX_TASKS];
static unsigned long long seed;
static pid_t main_pid;

static unsigned long long rng_next(unsigned long long *s) {
    unsigned long long x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}
#define R(n) ((int)(rng_next(rng) % (unsigned long long)(n)))

static void say(const char *text) {
    ssize_t n = write(1, text, strlen(text));
    (void)n;
}

/* What a descriptor holds goes to stdout (the secret, if that is what it is). */
static void show_fd(int fd, const char *step, unsigned long long *rng) {
    char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
        buf[n] = 0;
        int leak = memmem(buf, (size_t)n, SECRET_MAGIC, strlen(SECRET_MAGIC)) != NULL;
        if (leak)
            __atomic_add_fetch(&S->leaks, 1, __ATOMIC_SEQ_CST);
        if (leak || R(64) == 0) {
            char line[400];
            snprintf(line, sizeof line, "read %s: %.*s\n", step, (int)strcspn(buf, "\n"), buf);
            int k = R(2);
            snprintf(S->out[k], sizeof S->out[k], "%s", line);
            S->iov[0].iov_base = S->out[k];
            S->iov[0].iov_len = strlen(S->out[k]);
            if (writev(1, S->iov, 1) < 0 || leak)
                say(line); /* the leak reaches the output whatever the iovec became */
        }
    }
    if (R(3) == 0) { /* and a write through it, where it may write */
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && (flags & O_ACCMODE) != O_RDONLY) {
            n = write(fd, "FUZZW\n", 6);
            (void)n;
        }
    }
    close(fd);
}

/* An open's result: shown when it opened, counted when it failed by refusal or EAGAIN. */
static void opened(int fd, const char *step_name, unsigned long long *rng) {
    if (fd >= 0)
        show_fd(fd, step_name, rng);
    else if (errno == EACCES)
        __atomic_add_fetch(&S->refused, 1, __ATOMIC_RELAXED);
    else if (errno == EAGAIN)
        __atomic_add_fetch(&S->again, 1, __ATOMIC_RELAXED);
}

static void abs_path(char *out, size_t size, const char *rel) {
    snprintf(out, size, "%s/%s", ROOT, rel);
}

/* The relative names the steps use (from ROOT, from work, from a directory descriptor). */
static const char *rel_names[] = {
    "pubd/secret.txt", "secd/secret.txt", "work/l0/secret.txt", "work/l1/secret.txt",
    "work/f0", "work/f1", "work/h0", "work/m/secret.txt", "work/d0/secret.txt",
};
static const char *fd_names[] = {
    "secret.txt", "../secd/secret.txt", "../pubd/secret.txt", "l0/secret.txt", "f0",
    "m/secret.txt", "../work/l1/secret.txt", "d0/../../secd/secret.txt",
};
static const char *dir_names[] = {"work", "pubd", "secd", "work/l0", "work/l1", "work/m",
                                  "work/d0", "."};
static const char *link_targets[] = {"../pubd", "../secd", "../pubd/secret.txt",
                                     "../secd/secret.txt", "../../pubd", "../../secd"};

static const char *pick_path(unsigned long long *rng, char *scratch, size_t size) {
    int i = R(NBUF + 3);
    if (i < NBUF)
        return S->buf[i];
    abs_path(scratch, size, rel_names[R(sizeof rel_names / sizeof *rel_names)]);
    return scratch;
}

static void reopen_dirfd(int slot, const char *rel) {
    char p[512];
    abs_path(p, sizeof p, rel);
    int fd = open(p, O_RDONLY | O_DIRECTORY | (slot & 1 ? O_PATH : 0));
    if (fd >= 0 && fd != DIRFD0 + slot) {
        dup2(fd, DIRFD0 + slot);
        close(fd);
    }
}

static void mutate(unsigned long long *rng) {
    switch (R(4)) {
    case 0:
    case 1: { /* flip pubd <-> secd in a path buffer, in place (same length) */
        char *b = S->buf[R(NBUF)];
        char *at = strstr(b, R(2) ? "pubd" : "secd");
        if (at)
            memcpy(at, R(2) ? "secd" : "pubd", 4);
        break;
    }
    case 2: { /* an open_how */
        struct open_how *h = &S->how[R(NHOW)];
        static const unsigned long long fl[] = {O_RDONLY, O_RDWR, O_WRONLY | O_APPEND,
                                                O_PATH, O_RDONLY | O_NOFOLLOW};
        static const unsigned long long rs[] = {0, RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS,
                                                RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};
        if (R(2))
            h->flags = fl[R(5)];
        else
            h->resolve = rs[R(5)];
        break;
    }
    default: /* the output's iovec */
        S->iov[0].iov_base = S->out[R(2)];
        S->iov[0].iov_len = R(2) ? 1 : strlen(S->out[0]);
        break;
    }
}

static void do_exec(const char *path, int in_place) {
    char *const argv[] = {"cat", (char *)path, NULL};
    char *const envp[] = {NULL};
    if (in_place) {
        execve("/bin/cat", argv, envp);
        _exit(0);
    }
    /* the raw call, not fork(): glibc's fork takes locks (and rewrites the tid in the thread
     * block) that a CLONE_VM task shares with the main process, and may be killed holding */
    pid_t c = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        execve("/bin/cat", argv, envp);
        _exit(127);
    }
    if (c > 0)
        waitpid(c, NULL, 0);
}

static int step(unsigned long long *rng, int slot, int separate_process, int in_vfork) {
    char scratch[512], scratch2[512];
    const char *p;
    int fd;
    __atomic_add_fetch(&S->steps, 1, __ATOMIC_RELAXED);
    switch (R(22)) {
    case 0:
    case 1:
        p = pick_path(rng, scratch, sizeof scratch);
        fd = open(p, R(4) ? O_RDONLY : O_RDWR);
        opened(fd, "open", rng);
        break;
    case 2:
    case 3:
        fd = openat(DIRFD0 + R(NDIRFD), fd_names[R(sizeof fd_names / sizeof *fd_names)],
                    R(5) ? O_RDONLY : O_RDWR);
        opened(fd, "openat", rng);
        break;
    case 4: {
        int i = R(NBUF);
        int dfd = i >= 3 ? (R(2) ? AT_FDCWD : DIRFD0 + R(NDIRFD)) : AT_FDCWD;
        fd = (int)syscall(SYS_openat2, dfd, S->buf[i], &S->how[R(NHOW)], sizeof(struct open_how));
        opened(fd, "openat2", rng);
        break;
    }
    case 5:
        if (in_vfork) /* a vfork child: exec in place */
            do_exec(S->buf[R(NBUF)], 1);
        else if (R(4) == 0)
            do_exec(pick_path(rng, scratch, sizeof scratch), separate_process && R(8) == 0);
        break;
    case 6: {
        struct stat st;
        p = pick_path(rng, scratch, sizeof scratch);
        if (R(2))
            stat(p, &st);
        else
            fstatat(DIRFD0 + R(NDIRFD), fd_names[R(8)], &st, R(2) ? AT_SYMLINK_NOFOLLOW : 0);
        break;
    }
    case 7: {
        char link[512];
        abs_path(scratch, sizeof scratch, R(2) ? "work/l0" : "work/f0");
        ssize_t n = readlink(scratch, link, sizeof link);
        (void)n;
        break;
    }
    case 8: /* a hard link of what a name leads to, then open the link */
        p = pick_path(rng, scratch, sizeof scratch);
        abs_path(scratch2, sizeof scratch2, "work/h0");
        unlink(scratch2);
        if (linkat(AT_FDCWD, p, AT_FDCWD, scratch2, R(2) ? AT_SYMLINK_FOLLOW : 0) == 0) {
            fd = open(scratch2, O_RDONLY);
            opened(fd, "linkat", rng);
        }
        break;
    case 9:
    case 10: { /* exchange two names */
        static const char *pairs[][2] = {{"work/l0", "work/l1"}, {"work/f0", "work/f1"},
                                         {"pubd", "secd"}, {"work/d0", "work/d1"},
                                         {"work/l0", "work/d0"}};
        int k = R(5);
        if (k == 2 && R(4))
            k = 0; /* the top directories now and then */
        abs_path(scratch, sizeof scratch, pairs[k][0]);
        abs_path(scratch2, sizeof scratch2, pairs[k][1]);
        syscall(SYS_renameat2, AT_FDCWD, scratch, AT_FDCWD, scratch2, RENAME_EXCHANGE);
        break;
    }
    case 11: { /* a new symlink moved over one in use */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s/work/t%d-%d", ROOT, slot, (int)getpid());
        unlink(tmp);
        const char *target = link_targets[R(6)];
        if (symlinkat(target, AT_FDCWD, tmp) == 0) {
            abs_path(scratch, sizeof scratch, R(2) ? "work/l0" : (R(2) ? "work/l1" : "work/f0"));
            if (rename(tmp, scratch) < 0)
                unlink(tmp);
        }
        break;
    }
    case 12:
        if (S->mount_ok) {
            abs_path(scratch2, sizeof scratch2, "work/m");
            if (R(2)) {
                abs_path(scratch, sizeof scratch, R(2) ? "pubd" : "secd");
                mount(scratch, scratch2, NULL, MS_BIND, NULL);
            } else {
                umount2(scratch2, MNT_DETACH);
            }
        }
        break;
    case 13:
    case 14: { /* move (cwd shared with CLONE_FS siblings and threads), then a relative open */
        int r = R(4);
        if (r == 0)
            fchdir(DIRFD0 + R(NDIRFD));
        else if (r == 1) {
            abs_path(scratch, sizeof scratch, dir_names[R(8)]);
            chdir(scratch);
        }
        fd = open(R(2) ? "secret.txt" : "../secd/secret.txt", O_RDONLY);
        opened(fd, "cwd", rng);
        break;
    }
    case 15: /* dup2 a directory over a descriptor a sibling may be using */
        if (R(3))
            dup2(DIRFD0 + R(NDIRFD), DIRFD0 + R(NDIRFD));
        else
            reopen_dirfd(R(NDIRFD), dir_names[R(8)]);
        break;
    case 16:
        if (R(2))
            close(DIRFD0 + R(NDIRFD));
        else
            reopen_dirfd(R(NDIRFD), dir_names[R(8)]);
        break;
    case 17:
    case 18:
        mutate(rng);
        mutate(rng);
        break;
    case 19: { /* stop a sibling process for a moment */
        int t = R(ntasks);
        pid_t victim = S->pid[t];
        if (!separate_process && R(2) == 0)
            victim = 0;
        if (separate_process && R(4) == 0)
            victim = main_pid; /* the whole thread group: the warden resumes it if we die */
        if (victim > 0 && victim != getpid()) {
            kill(victim, SIGSTOP);
            usleep(R(2000));
            kill(victim, SIGCONT);
        }
        break;
    }
    case 20: { /* SIGKILL a process task, wherever it is */
        if (R(3))
            break;
        int t = R(ntasks);
        pid_t victim = S->pid[t];
        if (victim > 0 && victim != getpid() && victim != main_pid)
            kill(victim, SIGKILL);
        break;
    }
    default: { /* a write by a name that may lead into secd */
        abs_path(scratch, sizeof scratch, R(2) ? "pubd/new.txt" : "work/l0/new.txt");
        if (R(3) == 0)
            memcpy(scratch + rootlen + 1, "secd", 4);
        fd = open(scratch, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ssize_t n = write(fd, "FUZZW\n", 6);
            (void)n;
            close(fd);
        }
        break;
    }
    }
    return 0;
}

struct task_arg {
    int slot;
    unsigned long long rng;
    int separate;
    char *stack;
};
static struct task_arg args[MAX_TASKS];

static void task_loop(struct task_arg *a) {
    unsigned long long *rng = &a->rng;
    while (!S->stop) {
        if (kinds[a->slot] == K_VFORK) {
            int n = 1 + R(3);
            unsigned long long child_rng = rng_next(rng);
            pid_t c = vfork();
            if (c == 0) {
                for (int i = 0; i < n; i++)
                    step(&child_rng, a->slot, 1, 1);
                _exit(0);
            }
            if (c > 0)
                waitpid(c, NULL, 0);
        } else {
            step(rng, a->slot, a->separate, 0);
        }
    }
}

static void *thread_fn(void *arg) {
    task_loop(arg);
    return NULL;
}

static int clone_fn(void *arg) {
    task_loop(arg);
    _exit(0);
}

#define STACK (1 << 20)

static void start_task(int slot) {
    struct task_arg *a = &args[slot];
    a->slot = slot;
    a->separate = kinds[slot] != K_THREAD && kinds[slot] != K_VFORK;
    pthread_t th;
    pid_t pid = -1;
    switch (kinds[slot]) {
    case K_THREAD:
    case K_VFORK:
        pthread_create(&th, NULL, thread_fn, a);
        pthread_detach(th);
        return;
    case K_VM:
        if (!a->stack)
            a->stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        pid = clone(clone_fn, a->stack + STACK, CLONE_VM | SIGCHLD | (slot & 1 ? CLONE_FILES : 0), a);
        break;
    case K_FS:
        if (!a->stack)
            a->stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        pid = clone(clone_fn, a->stack + STACK, CLONE_FS | SIGCHLD, a);
        break;
    default:
        pid = fork();
        if (pid == 0) {
            if (kinds[slot] == K_MT) { /* a second thread, with draws of its own */
                static struct task_arg twin;
                twin = *a;
                twin.rng = a->rng * 6364136223846793005ull + 1442695040888963407ull;
                pthread_create(&th, NULL, thread_fn, &twin);
            }
            task_loop(a);
            _exit(0);
        }
        break;
    }
    if (pid > 0)
        S->pid[slot] = pid;
}

static void setup_scene(void) {
    char p[512], q[512];
    abs_path(p, sizeof p, "work/l0");
    symlink("../pubd", p);
    abs_path(p, sizeof p, "work/l1");
    symlink("../secd", p);
    abs_path(p, sizeof p, "work/f0");
    symlink("../pubd/secret.txt", p);
    abs_path(p, sizeof p, "work/f1");
    symlink("../secd/secret.txt", p);
    abs_path(p, sizeof p, "work/m");
    mkdir(p, 0755);
    abs_path(p, sizeof p, "work/d0");
    mkdir(p, 0755);
    abs_path(p, sizeof p, "work/d1");
    mkdir(p, 0755);
    abs_path(q, sizeof q, "work/d0/secret.txt");
    write_file(q, "public, harmless\n");
    for (int i = 0; i < NBUF; i++) {
        const char *rel = i % 3 == 0 ? "pubd/secret.txt" : i % 3 == 1 ? "work/l0/secret.txt"
                                                                       : "work/d0/../../pubd/secret.txt";
        if (i < 3)
            abs_path(S->buf[i], sizeof S->buf[i], rel);
        else
            snprintf(S->buf[i], sizeof S->buf[i], "%s%s", i == 3 ? "../" : "../../",
                     i == 5 ? "pubd/secret.txt" : rel); /* from work or work/d0, and elsewhere */
    }
    for (int i = 0; i < NHOW; i++)
        S->how[i] = (struct open_how){.flags = O_RDONLY};
    S->iov[0].iov_base = S->out[0];
    S->iov[0].iov_len = 0;
    for (int i = 0; i < NDIRFD; i++)
        reopen_dirfd(i, i == 2 ? "work/d0" : dir_names[i == 3 ? 0 : i]);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("fuzz_race SEED ROOT MILLISECONDS [TASKS]");
    seed = strtoull(argv[1], NULL, 0);
    snprintf(ROOT, sizeof ROOT, "%s", argv[2]);
    rootlen = strlen(ROOT);
    long ms = strtol(argv[3], NULL, 0);
    unsigned long long s0 = seed * 0x9E3779B97F4A7C15ull + 1, *rng = &s0;
    for (int i = 0; i < 4; i++)
        rng_next(rng);
    ntasks = argc > 4 ? atoi(argv[4]) : 2 + R(MAX_TASKS - 1);
    if (ntasks < 1 || ntasks > MAX_TASKS)
        usage("TASKS is 1..6");
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (S == MAP_FAILED)
        skipped("mmap: %s", ename(errno));
    main_pid = getpid();
    char kinds_text[128] = "";
    for (int i = 0; i < ntasks; i++) {
        kinds[i] = (enum kind)R(K_KINDS);
        args[i].rng = seed * 1000003ull + (unsigned long long)i * 7919 + 17;
        strcat(kinds_text, kind_name[kinds[i]]);
        strcat(kinds_text, i + 1 < ntasks ? "," : "");
    }
    if (getuid() == 0 && !getenv("FUZZ_NO_MOUNT") && unshare(CLONE_NEWNS) == 0 &&
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
        S->mount_ok = 1;
    setup_scene();
    char p[512];
    abs_path(p, sizeof p, "work");
    if (chdir(p) < 0)
        skipped("chdir %s: %s", p, ename(errno));
    printf("note: seed=%llu tasks=%s mount=%d\n", seed, kinds_text, S->mount_ok);
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);

    /* the warden: resumes the main thread group, which a task may have stopped and then died */
    pid_t warden = fork();
    if (warden == 0) {
        while (!S->stop) {
            usleep(20000);
            kill(main_pid, SIGCONT);
        }
        _exit(0);
    }

    for (int i = 0; i < ntasks; i++)
        start_task(i);
    double until = now_s() + ms / 1000.0;
    while (now_s() < until) {
        usleep(5000);
        int status;
        pid_t gone;
        while ((gone = waitpid(-1, &status, WNOHANG | __WALL)) > 0)
            for (int i = 0; i < ntasks; i++)
                if (S->pid[i] == gone) { /* killed, or exec'd and done: a new one */
                    S->pid[i] = 0;
                    start_task(i);
                }
        for (int i = 0; i < ntasks; i++)
            if (S->pid[i] > 0)
                kill(S->pid[i], SIGCONT);
    }
    S->stop = 1;
    /* the process tasks end on their own; one stuck in a stop or a call is resumed, then killed */
    double grace = now_s() + 2;
    int left;
    do {
        left = 0;
        for (int i = 0; i < ntasks; i++) {
            if (S->pid[i] <= 0)
                continue;
            kill(S->pid[i], SIGCONT);
            if (waitpid(S->pid[i], NULL, WNOHANG | __WALL) == S->pid[i])
                S->pid[i] = 0;
            else
                left++;
        }
        if (left)
            usleep(10000);
    } while (left && now_s() < grace);
    for (int i = 0; i < ntasks; i++)
        if (S->pid[i] > 0) {
            kill(S->pid[i], SIGKILL);
            waitpid(S->pid[i], NULL, __WALL);
        }
    waitpid(warden, NULL, 0);
    while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
        ;
    char done[128];
    snprintf(done, sizeof done, "DONE steps=%ld leaks=%ld refused=%ld again=%ld stragglers=%d\n",
             S->steps, S->leaks, S->refused, S->again, left);
    say(done);
    _exit(0); /* not exit(): threads may still be in a step */
}
