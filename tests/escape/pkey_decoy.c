/* pkey_decoy: paths in pages whose protection key the calling thread's PKRU disables.
 *
 *   pkey_decoy THREADS DECOY SECRET
 *
 * On a CPU with protection keys (x86 PKU) the kernel's copy of a path from user memory is
 * made in the calling thread's context and obeys its PKRU: a page whose key has
 * access-disable set gives EFAULT.  A tracer reading the same bytes with process_vm_readv or
 * /proc/PID/mem (foreign accesses, which ignore keys) reads them: it would decide on a path
 * the kernel never reads -- and, holding arguments for a tree of several tasks, copy it where
 * the kernel then does read it.
 *
 * Pages: 0 key k (access disabled), 1 key k2 (write disabled only: reads allowed), 2 key 0,
 * readable, whose last bytes run into page 3, key k (disabled).  One line "LABEL: RESULT" per
 * call (ok, or the errno's name), then "DONE".  THREADS=1: first a second thread, started
 * with the main thread's PKRU (key k disabled), allows key k for itself only and makes calls
 * on page 0 (PKRU is per thread: for it, the kernel reads the page, for the main thread not);
 * then the main thread's calls run while another thread exists (a tracer holds them).
 * Last, a forked child makes the main thread's calls again ("forked/": its copy of the address
 * space keeps the keys, and it starts with the forking thread's PKRU).
 * Labels "refused:..." name the calls on the secret that the kernel reads (a rule refuses
 * them under systrace).  SKIPPED when pkey_alloc fails (no PKU, or the kernel does not use it).
 *
 * Class 6 (memory is read differently from the kernel): protection keys.
 */
#include "attack.h"

#include <sys/mman.h>

static long page;
static char *region;
static const char *decoy_path, *secret_path;
static int key, key_write_disabled;

static void result(const char *label, long rc, int err) {
    printf("%s: %s\n", label, rc < 0 ? ename(err) : "ok");
    fflush(stdout);
}

static void path_calls(const char *label, const char *path) {
    char name[128];
    struct stat st;
    char *argv[] = {"x", NULL};
    snprintf(name, sizeof name, "%s/open", label);
    long r = syscall(SYS_open, path, O_RDONLY);
    int err = errno;
    if (r >= 0)
        close((int)r);
    result(name, r, err);
    snprintf(name, sizeof name, "%s/stat", label);
    r = syscall(SYS_stat, path, &st);
    result(name, r, errno);
    snprintf(name, sizeof name, "%s/execve", label);
    r = syscall(SYS_execve, path, argv, environ); /* never a program: it cannot succeed */
    result(name, r, errno);
}

/* the calls of one thread; ``prefix`` names it */
static void calls(const char *prefix) {
    char label[128];
    char *disabled = region, *write_disabled = region + page, *runs = region + 3 * page - 6;
    snprintf(label, sizeof label, "%sdecoy_in_disabled_key", prefix);
    path_calls(label, disabled);
    snprintf(label, sizeof label, "%ssecret_in_disabled_key", prefix);
    path_calls(label, disabled + 2048);
    snprintf(label, sizeof label, "%sdecoy_in_write_disabled_key", prefix);
    path_calls(label, write_disabled);
    snprintf(label, sizeof label, "%srefused:secret_in_write_disabled_key", prefix);
    path_calls(label, write_disabled + 2048);
    snprintf(label, sizeof label, "%sruns_into_disabled_key", prefix);
    path_calls(label, runs);
}

static void *idle(void *arg) {
    char c;
    (void)read(*(int *)arg, &c, 1); /* until main is done */
    return NULL;
}

static void *allowed_thread(void *arg) {
    (void)arg;
    /* this thread's PKRU only: the main thread's still disables the key */
    if (pkey_set(key, 0) != 0) {
        printf("note: pkey_set: %s\n", ename(errno));
        return NULL;
    }
    char label[128];
    snprintf(label, sizeof label, "allowed_thread/refused:secret_in_disabled_key");
    path_calls(label, region + 2048);
    snprintf(label, sizeof label, "allowed_thread/decoy_in_disabled_key");
    path_calls(label, region);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("pkey_decoy THREADS DECOY SECRET");
    int threads = atoi(argv[1]);
    decoy_path = argv[2];
    secret_path = argv[3];
    page = sysconf(_SC_PAGESIZE);
    region = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        skipped("mmap: %s", ename(errno));
    memset(region, 0, 4 * page);
    strcpy(region, decoy_path);
    strcpy(region + 2048, secret_path);
    strcpy(region + page, decoy_path);
    strcpy(region + page + 2048, secret_path);
    memcpy(region + 3 * page - 6, "/dev/n", 6); /* "ull" and the NUL are in page 3 */
    memcpy(region + 3 * page, "ull", 4);

    key = pkey_alloc(0, 0);
    if (key < 0)
        skipped("pkey_alloc: %s (no protection keys here)", ename(errno));
    key_write_disabled = pkey_alloc(0, PKEY_DISABLE_WRITE);
    if (key_write_disabled < 0)
        skipped("pkey_alloc: %s", ename(errno));
    if (pkey_mprotect(region, page, PROT_READ | PROT_WRITE, key) != 0 ||
        pkey_mprotect(region + page, page, PROT_READ | PROT_WRITE, key_write_disabled) != 0 ||
        pkey_mprotect(region + 3 * page, page, PROT_READ | PROT_WRITE, key) != 0)
        skipped("pkey_mprotect: %s", ename(errno));

    /* from here the kernel may not read pages 0 and 3 for this thread (the write-disabled
     * key still reads) */
    if (pkey_set(key, PKEY_DISABLE_ACCESS) != 0)
        skipped("pkey_set: %s", ename(errno));
    pthread_t thread;
    int hold[2];
    if (threads) {
        /* a thread starts with its creator's PKRU (disabled) and allows the key for itself
         * only; meanwhile this one waits in pthread_join */
        if (pthread_create(&thread, NULL, allowed_thread, NULL) != 0)
            skipped("pthread_create failed");
        pthread_join(thread, NULL);
        /* a second thread lives on during this one's calls (a tracer holds them) */
        if (pipe(hold) != 0 || pthread_create(&thread, NULL, idle, &hold[0]) != 0)
            skipped("second thread failed");
    }
    calls("");
    /* a fork's copy of the address space keeps the keys, and the child the thread's PKRU */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        calls("forked/");
        fflush(stdout);
        _exit(0);
    }
    if (child > 0)
        waitpid(child, NULL, 0);
    if (threads) {
        close(hold[1]);
        pthread_join(thread, NULL);
    }
    printf("DONE\n");
    return 0;
}
