/* fresh_failed.c MODE SECRET WORK [SECONDS]: read a file an outsider put at a name whose
 * create by the run FAILED, through a fresh rule's grant of what the run made (notes35).
 *
 * The engine keeps the names the run made (Decoder.made): a fresh rule's paths that are not
 * absent are permitted only when one is there.  Noted at a call's entry, a create that then
 * failed left its name noted with nothing made at it: a file an outsider makes there later
 * counted as the run's own.  Each mode makes a create of WORK/tmpF fail, then makes
 * WORK/go and waits (10 s at most) for WORK/ready: the outsider (the test, a process outside
 * the traced tree) has then put a file holding the secret's magic at WORK/tmpF.  The run
 * opens WORK/tmpF for reading:
 *
 *   emfile  open(O_RDWR|O_CREAT|O_EXCL) with no descriptor free (RLIMIT_NOFILE 3): EMFILE
 *   mknod   mknod(S_IFMT|0600): the kernel's EINVAL (may_mknod, before the lookup)
 *   eisdir  (review 33's left one) the outsider's directory WORK/tmpF, one of whose entries
 *           is named by the secret's magic, is there first; the run's own WORK/tmpA renamed
 *           over it: EISDIR, nothing moves; the run then lists WORK/tmpF
 *   skipped (review 35) a seccomp filter of the run's own answers mknod and mknodat with
 *           SECCOMP_RET_ERRNO and errno 0: the call returns 0 and never runs; then (with
 *           $ESC_WAIT_TRACER, for systrace --attach, whose calls stop at their entry before
 *           the kernel runs the task's filters) mknod(WORK/tmpF, S_IFREG): 0, nothing made
 *   recheck (review 35) with a second thread, a filter of the run's own lets mknodat run only
 *           with the program's own pointer to WORK/tmpF, else SECCOMP_RET_ERRNO with errno 0;
 *           mknod(WORK/tmpF, S_IFREG) with that pointer -- or, $ESC_COPY set (the native
 *           control), a copy's: the tracer's held call points at its copy, and the kernel's
 *           recheck after SECCOMP_RET_TRACE runs the filter on it
 *   thread  (notes37) as skipped, but the filter is a second thread's own, installed before
 *           the tracer attaches (no TSYNC: the main thread has none); after the attach the
 *           main thread makes WORK/tmpA (O_EXCL) -- whose exit has the tracer ask whether its
 *           process is under a filter of its own, read from the main thread's count --, then
 *           the thread makes mknod(WORK/tmpF, S_IFREG): 0, nothing made
 *   race    no outsider: a thread of the run links SECRET to WORK/tmpF and removes that link
 *           in a loop while the main thread tries open(WORK/tmpF, O_WRONLY|O_CREAT|O_EXCL)
 *           and then reads WORK/tmpF, for SECONDS (default 5): a create decided while the
 *           name was absent whose kernel call met the secret (EEXIST), or a note of it
 *           applied after the thread's link, would make the secret the run's own
 *
 * ESCAPED when the open reads the secret's magic; BLOCKED with its errno otherwise.
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <stddef.h>

static const char *race_secret, *race_name;
static volatile int race_stop;

static void *race_linker(void *arg) {
    (void)arg;
    while (!race_stop) {
        if (link(race_secret, race_name) == 0)
            unlink(race_name);
    }
    return NULL;
}

static const char *skip_name;
static volatile int skip_ready, skip_go, skip_done, skip_errno;
static volatile long skip_result;

/* mode thread: a filter of this thread's own answering mknod and mknodat with errno 0 */
static void *skip_thread(void *arg) {
    (void)arg;
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mknodat, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mknod, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        skip_errno = errno;
        skip_result = -2;
        skip_ready = 1;
        return NULL;
    }
    skip_ready = 1;
    while (!skip_go)
        ; /* (no call meanwhile: the main thread's are the tracer's first after the attach) */
    skip_result = mknod(skip_name, S_IFREG | 0600, 0);
    skip_errno = errno;
    skip_done = 1;
    return NULL;
}

static void judge(const char *path, const char *how) {
    int r = open(path, O_RDONLY | O_CLOEXEC);
    if (r < 0)
        blocked("open of %s for reading after %s: %s", path, how, ename(errno));
    if (is_secret_fd(r))
        escaped("read the outsider's file at %s, whose create had failed (%s)", path, how);
    blocked("%s opened after %s: no secret in it", path, how);
}

static void list_and_judge(const char *path) {
    DIR *d = opendir(path);
    if (!d)
        blocked("listing of %s after eisdir: %s", path, ename(errno));
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, SECRET_MAGIC))
            escaped("listed the outsider's directory %s: %s", path, e->d_name);
    blocked("%s listed after eisdir: no secret in it", path);
}

static void wait_for_outsider(const char *work) {
    char go[4096], ready[4096];
    snprintf(go, sizeof go, "%s/go", work);
    snprintf(ready, sizeof ready, "%s/ready", work);
    int r = write_file(go, "go\n");
    if (r < 0)
        blocked("write %s: %s", go, ename(-r));
    struct timespec nap = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && !exists(ready); i++)
        nanosleep(&nap, NULL);
    if (!exists(ready))
        blocked("no outsider came (%s)", ready);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("fresh_failed emfile|mknod|skipped|thread|recheck|eisdir|race SECRET WORK [SECONDS]");
    const char *mode = argv[1], *secret = argv[2], *work = argv[3];
    char f[4096];
    snprintf(f, sizeof f, "%s/tmpF", work);
    if (!strcmp(mode, "emfile")) {
        struct rlimit was, none = {3, 0};
        if (getrlimit(RLIMIT_NOFILE, &was) < 0)
            blocked("getrlimit: %s", ename(errno));
        none.rlim_max = was.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &none) < 0)
            blocked("setrlimit: %s", ename(errno));
        int fd = open(f, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int failed = errno;
        if (setrlimit(RLIMIT_NOFILE, &was) < 0)
            blocked("setrlimit back: %s", ename(errno));
        if (fd >= 0)
            blocked("the create of %s ran (no EMFILE)", f);
        note("create of %s: %s", f, ename(failed));
    } else if (!strcmp(mode, "mknod")) {
        if (mknod(f, S_IFMT | 0600, 0) == 0)
            blocked("mknod %s of type S_IFMT ran", f);
        note("mknod of %s: %s", f, ename(errno));
    } else if (!strcmp(mode, "skipped")) {
        struct sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mknodat, 1, 0),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mknod, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {sizeof code / sizeof code[0], code};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
            blocked("installing the filter: %s", ename(errno));
        wait_for_tracer();
        if (mknod(f, S_IFREG | 0600, 0) < 0)
            blocked("mknod %s: %s (not skipped)", f, ename(errno));
        if (exists(f))
            blocked("mknod of %s ran (the filter did not skip it)", f);
        note("mknod of %s: 0, skipped by the run's own filter", f);
    } else if (!strcmp(mode, "thread")) {
        skip_name = f;
        pthread_t t;
        if (pthread_create(&t, NULL, skip_thread, NULL) != 0)
            blocked("pthread_create failed");
        struct timespec nap = {0, 1000 * 1000};
        while (!skip_ready)
            nanosleep(&nap, NULL);
        if (skip_result == -2)
            blocked("installing the thread's filter: %s", ename(skip_errno));
        wait_for_tracer();
        char a[4096];
        snprintf(a, sizeof a, "%s/tmpA", work);
        int fd = open(a, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            blocked("create %s: %s", a, ename(errno));
        close(fd);
        skip_go = 1;
        pthread_join(t, NULL);
        if (skip_result < 0)
            blocked("mknod %s: %s (not skipped)", f, ename(skip_errno));
        if (exists(f))
            blocked("mknod of %s ran (the thread's filter did not skip it)", f);
        note("mknod of %s by a thread: 0, skipped by the run's own filter", f);
    } else if (!strcmp(mode, "recheck")) {
        /* the filter lets mknodat run only with the program's own pointer to the name */
        const char *name = getenv("ESC_COPY") ? strdup(f) : f;
        uint64_t own = (uint64_t)(uintptr_t)f;
        struct sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mknodat, 0, 5),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)own, 0, 2),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(own >> 32), 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {sizeof code / sizeof code[0], code};
        pthread_t t; /* a second task: the tracer holds the call (its name copied) */
        if (pthread_create(&t, NULL, idle_loop, NULL) != 0)
            blocked("pthread_create failed");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
            blocked("installing the filter: %s", ename(errno));
        if (mknod(name, S_IFREG | 0600, 0) < 0)
            blocked("mknod %s: %s", f, ename(errno));
        if (exists(f))
            blocked("mknod of %s ran (its pointer was the program's own)", f);
        note("mknod of %s: 0, skipped by the run's own filter (another pointer)", f);
    } else if (!strcmp(mode, "eisdir")) {
        char a[4096];
        snprintf(a, sizeof a, "%s/tmpA", work);
        wait_for_outsider(work);
        int fd = open(a, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            blocked("create %s: %s", a, ename(errno));
        if (rename(a, f) == 0)
            blocked("rename of %s over the directory %s ran", a, f);
        note("rename of %s over %s: %s", a, f, ename(errno));
        list_and_judge(f);
    } else if (!strcmp(mode, "race")) {
        double seconds = argc > 4 ? atof(argv[4]) : 5.0;
        race_secret = secret;
        race_name = f;
        pthread_t t;
        if (pthread_create(&t, NULL, race_linker, NULL) != 0)
            blocked("pthread_create failed");
        double end = now_s() + seconds;
        long tries = 0, own = 0, refused = 0, secret_seen = 0;
        while (now_s() < end) {
            tries++;
            int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            int r = open(f, O_RDONLY | O_CLOEXEC);
            if (r >= 0) {
                if (is_secret_fd(r)) {
                    race_stop = 1;
                    escaped("read the secret linked at %s after %ld tries", f, tries);
                }
                close(r);
            } else if (errno == EACCES) {
                refused++;
            }
            if (fd >= 0) {
                own++;
                close(fd);
                unlink(f);
            }
        }
        race_stop = 1;
        pthread_join(t, NULL);
        (void)secret_seen;
        printf("TRIES: %ld own %ld refused %ld\n", tries, own, refused);
        blocked("%ld tries, the secret never read at %s", tries, f);
    } else {
        usage("fresh_failed emfile|mknod|skipped|thread|recheck|eisdir|race SECRET WORK [SECONDS]");
    }
    wait_for_outsider(work);
    judge(f, mode);
}
