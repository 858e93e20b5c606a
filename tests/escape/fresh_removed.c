/* fresh_removed.c MODE SECRET WORK: read a file that is not the run's own through a fresh
 * rule's grant of a removed file the run made, reopened through /proc/self/fd.
 *
 * A descriptor's removed file (/proc names it "NAME (deleted)") counts as one the run made
 * when it is a file of the run's own that a call of the run removed while holding it
 * (Decoder.removed_own: the tracer notes it at the removal by its identity, whose handle
 * carries the inode's generation; held open where the file system gives none).  Each
 * mode leaves a descriptor of the secret, or of an outsider's file, removed at a name the
 * fresh rule's glob (WORK/tmp*) matches, and reopens it for reading:
 *
 *   own       the run's own file: mkstemp-like, written, removed, reopened (must run)
 *   rename    the secret renamed over a name the run made (WORK/tmpA), then removed
 *   exchange  the secret exchanged (RENAME_EXCHANGE) with a name the run made, then removed
 *   link      the secret linked to WORK/tmpL, opened there, both names removed
 *   race      (review 33) the secret linked to WORK/tmpA, opened there for writing, that name
 *             removed (/proc: "WORK/tmpA (deleted)", the secret still at its own name); then
 *             the run's own file made at WORK/tmpA, held and removed -- the same /proc text;
 *             a thread dup2()s the two onto descriptor 100 in turn while the main thread
 *             reopens /proc/self/fd/100 for reading (the check sees the run's own, the
 *             kernel follows the link again: the secret)
 *   stale     (review 33) an O_CREAT|O_EXCL open of WORK/tmpD/f that fails (EMFILE: no
 *             descriptor free, nothing made) -- noted as made at its entry all the same --;
 *             then the secret linked into another directory the run made, WORK/tmpE/f, and
 *             tmpE renamed over the empty tmpD: the secret is at the name noted; opened
 *             there for reading (not through a descriptor: no removal at all)
 *   xdev      (review 33) SECRET on another mount than WORK (the test mounts a tmpfs inside
 *             WORK): the run's own WORK/tmpA renamed over the secret's name -- the kernel's
 *             EXDEV, nothing moves, but the new name was noted as made at the call's entry
 *             --, then the secret opened there for reading
 *   reuse     the run's own file removed and closed (freed natively: its inode number free
 *             for the next file); the run writes that number to WORK/freed.txt, an outsider
 *             (the test) makes files WORK/tmpZ* holding the secret until one has it and
 *             makes WORK/ready; the run opens that one for writing, removes it and reopens
 *
 * ESCAPED when the reopened descriptor reads the secret; BLOCKED with the failing step's
 * errno otherwise.
 */
#include "race.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static void reopen_and_judge(int fd, const char *what) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    note("reopening %s (%s)", proc, fd_name(fd));
    int r = open(proc, O_RDONLY | O_CLOEXEC);
    if (r < 0)
        blocked("reopen of %s through %s: %s", what, proc, ename(errno));
    if (is_secret_fd(r))
        escaped("read the secret through %s (%s)", proc, what);
    char buf[64] = {0};
    ssize_t n = pread(r, buf, sizeof buf - 1, 0);
    printf("OWN: %s\n", n > 0 ? buf : "");
    blocked("%s reopened: no secret in it", what);
}

static int make_own(const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        blocked("create %s: %s", path, ename(errno));
    if (write(fd, "own contents\n", 13) != 13)
        blocked("write %s: %s", path, ename(errno));
    return fd;
}

static int race_own, race_secret;
static volatile int race_stop;
static volatile long race_swaps;

static void *race_swapper(void *arg) {
    (void)arg;
    while (!race_stop) {
        dup2(race_own, 100);
        for (volatile int i = 0; i < 500; i++)
            ;  /* each state lasts a while: natively some opens see either */
        dup2(race_secret, 100);
        for (volatile int i = 0; i < 500; i++)
            ;
        race_swaps++;
    }
    return NULL;
}

static void race(const char *secret, const char *a) {
    if (link(secret, a) < 0)
        blocked("link %s to %s: %s", secret, a, ename(errno));
    race_secret = open(a, O_WRONLY | O_CLOEXEC);
    if (race_secret < 0)
        blocked("open %s for writing: %s", a, ename(errno));
    if (unlink(a) < 0)
        blocked("unlink %s (the secret's link): %s", a, ename(errno));
    race_own = make_own(a);
    if (unlink(a) < 0)
        blocked("unlink %s (the run's own): %s", a, ename(errno));
    note("the secret: %s", fd_name(race_secret));
    note("the run's own: %s", fd_name(race_own));
    pthread_t thread;
    if (pthread_create(&thread, NULL, race_swapper, NULL) != 0)
        blocked("pthread_create failed");
    wait_for_peer(&race_swaps);
    struct budget budget = {20000, 20.0, 0, 0};
    long got = 0, own = 0, refused = 0;
    while (budget_left(&budget) && !got) {
        int r = open("/proc/self/fd/100", O_RDONLY | O_CLOEXEC);
        if (r < 0) {
            refused++;
            continue;
        }
        if (is_secret_fd(r))
            got++;
        else
            own++;
        close(r);
    }
    race_stop = 1;
    pthread_join(thread, NULL);
    note("%ld tries: %ld secret, %ld own, %ld refused; %ld swaps", budget.done, got, own,
         refused, race_swaps);
    if (got)
        escaped("read the secret through /proc/self/fd/100 (swapped after the check)");
    printf("OWN: %ld\n", own);
    blocked("%ld reopens of the run's own, %ld refused, none the secret", own, refused);
}

int main(int argc, char **argv) {
    if (argc != 4)
        usage("fresh_removed own|rename|exchange|link|race|stale|xdev|reuse SECRET WORK");
    const char *mode = argv[1], *secret = argv[2], *work = argv[3];
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/tmpA", work);
    if (!strcmp(mode, "own")) {
        int fd = make_own(a);
        if (unlink(a) < 0)
            blocked("unlink %s: %s", a, ename(errno));
        reopen_and_judge(fd, "the run's own removed file");
    }
    if (!strcmp(mode, "rename") || !strcmp(mode, "exchange")) {
        int s = open(secret, O_WRONLY | O_CLOEXEC);
        if (s < 0)
            blocked("open %s for writing: %s", secret, ename(errno));
        int own = make_own(a);
        (void)own;
        if (!strcmp(mode, "rename") ? rename(secret, a) < 0 :
                syscall(SYS_renameat2, AT_FDCWD, secret, AT_FDCWD, a, RENAME_EXCHANGE) < 0)
            blocked("%s %s onto %s: %s", mode, secret, a, ename(errno));
        if (unlink(a) < 0)
            blocked("unlink %s: %s", a, ename(errno));
        reopen_and_judge(s, "the secret, removed at a name the run made");
    }
    if (!strcmp(mode, "link")) {
        snprintf(b, sizeof b, "%s/tmpL", work);
        if (link(secret, b) < 0)
            blocked("link %s to %s: %s", secret, b, ename(errno));
        int s = open(b, O_WRONLY | O_CLOEXEC);
        if (s < 0)
            blocked("open %s for writing: %s", b, ename(errno));
        if (unlink(b) < 0 || unlink(secret) < 0)
            blocked("unlink: %s", ename(errno));
        reopen_and_judge(s, "the secret, linked and removed");
    }
    if (!strcmp(mode, "race"))
        race(secret, a);
    if (!strcmp(mode, "xdev")) {
        int own = make_own(a);
        (void)own;
        int r = rename(a, secret);
        note("rename %s over %s: %s", a, secret, r < 0 ? ename(errno) : "done");
        if (r == 0)
            blocked("the rename was not across mounts");
        r = open(secret, O_RDONLY | O_CLOEXEC);
        if (r < 0)
            blocked("open of %s for reading: %s", secret, ename(errno));
        if (is_secret_fd(r))
            escaped("read the secret at %s, a name a failed rename gave the run", secret);
        blocked("%s opened: no secret in it", secret);
    }
    if (!strcmp(mode, "stale")) {
        char d[4096], e[4096];
        snprintf(d, sizeof d, "%s/tmpD", work);
        snprintf(e, sizeof e, "%s/tmpE", work);
        snprintf(a, sizeof a, "%s/f", d);
        snprintf(b, sizeof b, "%s/f", e);
        if (mkdir(d, 0700) < 0 || mkdir(e, 0700) < 0)
            blocked("mkdir: %s", ename(errno));
        struct rlimit was, none = {3, 0};
        if (getrlimit(RLIMIT_NOFILE, &was) < 0)
            blocked("getrlimit: %s", ename(errno));
        none.rlim_max = was.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &none) < 0)
            blocked("setrlimit: %s", ename(errno));
        int fd = open(a, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int failed = errno;
        if (setrlimit(RLIMIT_NOFILE, &was) < 0)
            blocked("setrlimit back: %s", ename(errno));
        note("create %s with no descriptor free: %s", a, fd < 0 ? ename(failed) : "made");
        if (fd >= 0)
            blocked("the create did not fail");
        if (link(secret, b) < 0)
            blocked("link %s to %s: %s", secret, b, ename(errno));
        if (rename(e, d) < 0)
            blocked("rename %s over %s: %s", e, d, ename(errno));
        int r = open(a, O_RDONLY | O_CLOEXEC);
        if (r < 0)
            blocked("open of %s for reading: %s", a, ename(errno));
        if (is_secret_fd(r))
            escaped("read the secret at %s, a name whose create failed", a);
        blocked("%s opened: no secret in it", a);
    }
    if (!strcmp(mode, "reuse")) {
        int fd = make_own(a);
        struct stat st;
        if (fstat(fd, &st) < 0 || unlink(a) < 0)
            blocked("stat or unlink %s: %s", a, ename(errno));
        close(fd);
        snprintf(b, sizeof b, "%s/freed.txt", work);  /* (the test's: no new inode here) */
        int f = open(b, O_WRONLY | O_TRUNC | O_CLOEXEC);
        char text[32];
        int len = snprintf(text, sizeof text, "%lu\n", (unsigned long)st.st_ino);
        if (f < 0 || write(f, text, (size_t)len) != len)
            blocked("write %s: %s", b, ename(errno));
        close(f);
        snprintf(b, sizeof b, "%s/ready", work);
        for (int i = 0; i < 2000 && !exists(b); i++)
            usleep(10000);
        if (!exists(b))
            blocked("no outsider's files");
        DIR *d = opendir(work);
        if (!d)
            blocked("opendir %s: %s", work, ename(errno));
        char found[4096] = "";
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "tmpZ", 4))
                continue;
            if (!found[0] || e->d_ino == st.st_ino)
                snprintf(found, sizeof found, "%s/%s", work, e->d_name);
            if (e->d_ino == st.st_ino)
                break;
        }
        closedir(d);
        if (!found[0])
            blocked("no outsider's file in %s", work);
        struct stat at;
        int reused = stat(found, &at) == 0 && at.st_ino == st.st_ino;
        note("outsider's file %s, the run's freed inode %lu: %s", found,
             (unsigned long)st.st_ino, reused ? "reused" : "not reused");
        int s = open(found, O_WRONLY | O_CLOEXEC);
        if (s < 0)
            blocked("open %s for writing: %s", found, ename(errno));
        if (unlink(found) < 0)
            blocked("unlink %s: %s", found, ename(errno));
        reopen_and_judge(s, reused ? "an outsider's file at the run's freed inode number"
                                   : "an outsider's file");
    }
    usage("fresh_removed own|rename|exchange|link|race|stale|xdev|reuse SECRET WORK");
}
