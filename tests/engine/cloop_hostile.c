/* cloop_hostile DIR SEED COUNT one|threads go: raw path calls and execs with hostile register
 * values, for the native stop loop's decoders (red team 85, issue 11: no input a traced
 * program can produce may kill its tree through an internal error).
 *
 * A seeded PRNG (xorshift64*) picks, COUNT times, a call of the ones the native loop decodes
 * (the path calls, exec) and its registers: path pointers at valid strings, at strings that
 * run into a PROT_NONE page unterminated or end on a page's last byte, of lengths about the
 * loop's own limit (MAX_RAW 1000) and PATH_MAX, at NULL, page zero, the guard page, kernel
 * addresses; components ".", "..", "//", symlinks, a symlink loop, names that are missing,
 * /proc/self/fd/N, bytes >= 0x80; dirfds of every kind (a directory, a removed directory, a
 * pipe, a socket, a memfd, an O_PATH symlink, closed numbers, AT_FDCWD with garbage in the
 * high half); flags with random bits (no O_CREAT, O_TRUNC, O_TMPFILE: nothing is made or
 * emptied); open_how structs of odd sizes; execve (in a child, vfork or fork) of DIR/../bin/twin, a
 * copy of this program with a table of its own (the loop reads the environment then), with
 * argv and envp vectors
 * that run into the guard page, are longer than the loop's table, hold strings past the
 * guard, loader variables, pointers to nowhere.  Each call's result is folded into a digest
 * printed at the end ("done N DIGEST"), with each exec child's status; "threads" runs a
 * second thread doing the same with another seed (the loop holds each path in the scratch
 * slot then).  The calls change nothing: they are reads and lookups (opens for reading,
 * with nothing made or emptied), and execs of nothing but this program.  Under systrace the
 * program must finish as natively: systrace's status is the program's, and it says nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define ARENA_PAGES 64

static const char *dir;
static const char *self;
static int fds[16];
static int nfds;

struct state {
    uint64_t x;
    unsigned char *arena;  /* ARENA_PAGES pages, then a PROT_NONE guard page */
    unsigned char *guard;
    uint64_t digest;
};

static uint64_t next(struct state *s) {
    s->x ^= s->x >> 12;
    s->x ^= s->x << 25;
    s->x ^= s->x >> 27;
    return s->x * 2685821657736338717ULL;
}

static uint64_t below(struct state *s, uint64_t n) { return n ? next(s) % n : 0; }

static void fold(struct state *s, long v) {
    s->digest = (s->digest ^ (uint64_t)v) * 1099511628211ULL;
}

static const char *const parts[] = {
    ".", "..", "", "deny", "work", "f", "x", "missing", "loop", "up", "down", "ddir",
    "proc", "\xff\xfe", "g.g", "sub", "/proc/self/fd/3", "/proc/self/cwd", "/dev/tty",
    "/dev/null", "/proc/self/root", "...", "deny/x"};
#define NPARTS (sizeof parts / sizeof *parts)

/* A path written at the arena's end or start: random components, or long runs. */
static char *make_path(struct state *s) {
    static const size_t lengths[] = {998, 999, 1000, 1001, 1002, 2000, 4094, 4095, 4096,
                                     4097, 8192};
    size_t room = (size_t)ARENA_PAGES * PAGE - 64;
    char buf[3 * PAGE];
    size_t n = 0;
    int kind = (int)below(s, 10);
    if (kind < 6) {
        if (below(s, 2)) {
            size_t dl = strlen(dir);
            memcpy(buf, dir, dl);
            n = dl;
        }
        int k = (int)below(s, 8);
        for (int i = 0; i < k && n < sizeof buf - 64; i++) {
            const char *p = parts[below(s, NPARTS)];
            if (n || below(s, 2)) buf[n++] = '/';
            if (below(s, 8) == 0) buf[n++] = '/';
            size_t pl = strlen(p);
            memcpy(buf + n, p, pl);
            n += pl;
        }
        if (below(s, 6) == 0) buf[n++] = '/';
    } else {
        size_t want = lengths[below(s, sizeof lengths / sizeof *lengths)];
        if (below(s, 3) == 0) want += below(s, 40);
        if (want > sizeof buf - 1) want = sizeof buf - 1;
        if (below(s, 2)) {
            size_t dl = strlen(dir);
            memcpy(buf, dir, dl);
            n = dl;
        }
        while (n < want) {
            if (kind == 9) {
                buf[n++] = '/';
            } else if (kind == 8) {
                const char *p = below(s, 2) ? "/./" : "/../";
                size_t pl = strlen(p);
                if (n + pl > want) break;
                memcpy(buf + n, p, pl);
                n += pl;
            } else {
                buf[n] = n % 200 == 0 ? '/' : 'a' + (char)(n % 26);
                n++;
            }
        }
    }
    buf[n] = 0;
    unsigned char *at;
    int placement = (int)below(s, 4);
    if (placement == 0 && n <= room) {
        /* unterminated: its last byte the arena's last, the guard next */
        at = s->guard - n;
        memcpy(at, buf, n);
    } else if (placement == 1 && n + 1 <= room) {
        /* its NUL on the arena's last byte */
        at = s->guard - n - 1;
        memcpy(at, buf, n + 1);
    } else {
        size_t off = below(s, PAGE);
        at = s->arena + off;
        memcpy(at, buf, n + 1);
    }
    return (char *)at;
}

static uint64_t make_pointer(struct state *s) {
    switch (below(s, 16)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return (uint64_t)(uintptr_t)s->guard;
    case 3: return (uint64_t)(uintptr_t)s->guard - 1 - below(s, 3);
    case 4: return 0xffff800000000000ULL;
    case 5: return ~0ULL - below(s, 8);
    case 6: return 0xffffffffff600000ULL;  /* vsyscall */
    case 7: return (uint64_t)(uintptr_t)s->guard + PAGE * 4;  /* beyond */
    default: return (uint64_t)(uintptr_t)make_path(s);
    }
}

static uint64_t make_dirfd(struct state *s) {
    uint64_t high = below(s, 4) == 0 ? (next(s) << 32) : 0;
    switch (below(s, 6)) {
    case 0: return high | (uint32_t)-100;  /* AT_FDCWD */
    case 1: return high | (uint32_t)fds[below(s, (uint64_t)nfds)];
    case 2: return high | (uint32_t)(-1 - (int)below(s, 200));
    case 3: return high | (uint32_t)below(s, 64);
    case 4: return (uint32_t)next(s);
    default: return (uint64_t)-100;
    }
}

static uint64_t make_flags(struct state *s) {
    volatile uint64_t f = below(s, 3) ? below(s, 0x400000) : next(s);
    /* nothing made, nothing emptied */
    f &= ~(uint64_t)(O_CREAT | O_TRUNC | O_TMPFILE | O_WRONLY | O_RDWR);
    if (below(s, 3) == 0) f |= next(s) << 32;
    return f;
}

static long raw(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                uint64_t f) {
    long r = syscall(nr, a, b, c, d, e, f);
    return r < 0 ? -errno : r;
}

static void close_new(long r) {
    if (r > 2 && r < 1024) {
        int ok = 1;
        for (int i = 0; i < nfds; i++)
            if (fds[i] == r) ok = 0;
        if (ok) close((int)r);
    }
}

/* A vector (argv or envp) of hostile pointers, or a pointer that is no vector. */
static uint64_t make_vector(struct state *s, int env) {
    int kind = (int)below(s, 8);
    if (kind == 0) return make_pointer(s);
    size_t n = kind == 1 ? 4096 + below(s, 16) : kind == 2 ? 4090 + below(s, 10) : below(s, 12);
    uint64_t *v;
    size_t bytes = 8 * (n + 1);
    size_t space = (size_t)ARENA_PAGES * PAGE / 2;
    if (bytes > space) n = space / 8 - 1, bytes = 8 * (n + 1);
    /* the table in the arena's second half, ending at the guard or at an odd place */
    if (below(s, 2))
        v = (uint64_t *)(void *)(s->guard - bytes + (below(s, 2) ? 8 : 0));
    else
        v = (uint64_t *)(void *)(s->arena + (size_t)ARENA_PAGES * PAGE / 2 + below(s, 64));
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char *)&v[i] + 8 > s->guard) return (uint64_t)(uintptr_t)v;
        if (env && below(s, 3) == 0) {
            static const char *const names[] = {"LD_PRELOAD=/x", "PATH=/usr/bin", "A=b",
                                                "BASH_ENV=/x", "PYTHONPATH=/", "=", "",
                                                "LD_LIBRARY_PATH", "BASH_FUNC_f%%=() { :; }"};
            const char *e = names[below(s, sizeof names / sizeof *names)];
            size_t el = strlen(e);
            char *at = (char *)s->arena + PAGE + below(s, PAGE);
            memcpy(at, e, el + 1);
            v[i] = (uint64_t)(uintptr_t)at;
        } else if (below(s, 4) == 0) {
            v[i] = make_pointer(s);
        } else {
            size_t len = below(s, 3) == 0 ? 4000 + below(s, 9000) : below(s, 64);
            if (len > (size_t)ARENA_PAGES * PAGE / 2 - 8) len = 64;
            char *at = (char *)s->arena + below(s, (size_t)ARENA_PAGES * PAGE / 2 - len - 8);
            memset(at, 'A' + (int)below(s, 26), len);
            if (env && len > 2) at[1] = '=';
            at[len] = 0;
            v[i] = (uint64_t)(uintptr_t)at;
        }
    }
    if ((unsigned char *)&v[n] + 8 <= s->guard) v[n] = below(s, 16) ? 0 : next(s);
    return (uint64_t)(uintptr_t)v;
}

static void one(struct state *s, int may_exec) {
    static const long calls[] = {
        SYS_open, SYS_openat, SYS_openat2, SYS_stat, SYS_lstat, SYS_newfstatat, SYS_statx,
        SYS_access, SYS_faccessat, SYS_faccessat2, SYS_readlink, SYS_readlinkat, SYS_chdir,
        SYS_statfs, SYS_getxattr, SYS_lgetxattr, SYS_listxattr, SYS_execve, SYS_execveat};
    long nr = calls[below(s, sizeof calls / sizeof *calls)];
    uint64_t p = make_pointer(s), d = make_dirfd(s), fl = make_flags(s);
    char out[256];
    uint64_t o = (uint64_t)(uintptr_t)out;
    long r;
    switch (nr) {
    case SYS_open: r = raw(nr, p, fl, 0, 0, 0, 0); close_new(r); break;
    case SYS_openat: r = raw(nr, d, p, fl, 0, 0, 0); close_new(r); break;
    case SYS_openat2: {
        uint64_t how[8] = {fl & ~(uint64_t)0 >> 32, 0, below(s, 2) ? below(s, 0x40) : next(s)};
        if (below(s, 4) == 0) how[3] = next(s);  /* a nonzero tail */
        unsigned char *at = s->guard - sizeof how - (below(s, 2) ? 0 : 8);
        memcpy(at, how, sizeof how);
        static const uint64_t sizes[] = {0, 8, 23, 24, 25, 32, 64, 4096, 1 << 20};
        uint64_t size = below(s, 4) ? 24 : sizes[below(s, sizeof sizes / sizeof *sizes)];
        uint64_t howp = below(s, 8) ? (uint64_t)(uintptr_t)at : make_pointer(s);
        r = raw(nr, d, p, howp, size, 0, 0);
        close_new(r);
        break;
    }
    case SYS_stat: case SYS_lstat: case SYS_statfs:
        r = raw(nr, p, below(s, 8) ? o : make_pointer(s), 0, 0, 0, 0); break;
    case SYS_newfstatat: r = raw(nr, d, p, o, fl & 0x7fff, 0, 0); break;
    case SYS_statx: r = raw(nr, d, p, fl & 0xffff, next(s), o, 0); break;
    case SYS_access: r = raw(nr, p, below(s, 8), 0, 0, 0, 0); break;
    case SYS_faccessat: case SYS_faccessat2: r = raw(nr, d, p, below(s, 8), fl & 0x7fff, 0, 0); break;
    case SYS_readlink: r = raw(nr, p, o, below(s, 300), 0, 0, 0); break;
    case SYS_readlinkat: r = raw(nr, d, p, o, below(s, 300), 0, 0); break;
    case SYS_chdir: r = raw(nr, p, 0, 0, 0, 0, 0); if (chdir(dir) < 0) r ^= 1; break;
    case SYS_getxattr: case SYS_lgetxattr:
        r = raw(nr, p, (uint64_t)(uintptr_t)"user.x", o, sizeof out, 0, 0); break;
    case SYS_listxattr: r = raw(nr, p, o, sizeof out, 0, 0, 0); break;
    default: {  /* execve, execveat: in a child */
        if (!may_exec) { r = 0; break; }
        int to_self = below(s, 2);
        uint64_t path = to_self ? (uint64_t)(uintptr_t)self : p;
        uint64_t argv = make_vector(s, 0), envp = make_vector(s, 1);
        if (to_self && below(s, 2)) {
            /* a well-formed argv: the child exits at once */
            static char *exit_argv[] = {"cloop_hostile", "exit", NULL};
            argv = (uint64_t)(uintptr_t)exit_argv;
        }
        /* (vfork half the time: the native loop reads the environment of a vfork child's
         * exec only -- exec_entry; the child makes the call and _exits, nothing else) */
        pid_t child = below(s, 2) ? vfork() : fork();
        if (child == 0) {
            long e = nr == SYS_execve
                         ? syscall(SYS_execve, path, argv, envp, 0, 0, 0)
                         : syscall(SYS_execveat, d, path, argv, envp, fl & 0x1100, 0);
            _exit(e < 0 ? 1 : 0);
        }
        int status = 0;
        if (child > 0) waitpid(child, &status, 0);
        r = child < 0 ? -1 : status;
        break;
    }
    }
    /* (the digest: what the kernel said, not what it wrote; a removed cwd aside) */
    fold(s, nr);
    fold(s, r < 0 ? r : r > 2 && nr != SYS_execve && nr != SYS_execveat ? 1 : r);
}

static struct state make_state(uint64_t seed) {
    struct state s = {seed * 0x9E3779B97F4A7C15ULL + 1, NULL, NULL, 14695981039346656037ULL};
    s.arena = mmap(NULL, (size_t)(ARENA_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s.arena == MAP_FAILED) exit(70);
    s.guard = s.arena + (size_t)ARENA_PAGES * PAGE;
    if (mprotect(s.guard, PAGE, PROT_NONE) < 0) exit(70);
    memset(s.arena, 'q', (size_t)ARENA_PAGES * PAGE);
    return s;
}

static long count;
static uint64_t seed;

static void *other(void *arg) {
    (void)arg;
    struct state s = make_state(seed ^ 0x5555);
    for (long i = 0; i < count; i++) one(&s, 0);
    return NULL;
}

int main(int argc, char **argv) {
    /* (an exec of this program with a random argv: it does nothing) */
    if (argc != 6 || strcmp(argv[5], "go") != 0) return 0;
    dir = argv[1];
    /* the exec target: DIR/../bin/twin, a copy of this program that the policy gives a table of
     * its own (an exec entering another table: the loop reads its environment) */
    static char twin[4096];
    snprintf(twin, sizeof twin, "%s/../bin/twin", dir);
    char *canonical = realpath(twin, NULL);  /* (no "..": a spelling the loop decides) */
    self = canonical ? canonical : twin;
    seed = strtoull(argv[2], NULL, 0);
    count = strtol(argv[3], NULL, 0);
    if (chdir(dir) < 0) return 71;
    int p[2];
    if (pipe(p) == 0) { fds[nfds++] = p[0]; fds[nfds++] = p[1]; }
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (sock >= 0) fds[nfds++] = sock;
    int m = memfd_create("m", 0);
    if (m >= 0) fds[nfds++] = m;
    int wd = open(dir, O_RDONLY | O_DIRECTORY);
    if (wd >= 0) fds[nfds++] = wd;
    int deny = openat(wd, "deny", O_RDONLY | O_DIRECTORY);
    if (deny >= 0) fds[nfds++] = deny;
    mkdirat(wd, "gone", 0755);
    int gone = openat(wd, "gone", O_RDONLY | O_DIRECTORY);
    unlinkat(wd, "gone", AT_REMOVEDIR);
    if (gone >= 0) fds[nfds++] = gone;
    int lnk = openat(wd, "up", O_PATH | O_NOFOLLOW);
    if (lnk >= 0) fds[nfds++] = lnk;
    int file = openat(wd, "work/f", O_RDONLY);
    if (file >= 0) fds[nfds++] = file;
    int proc = open("/proc/self", O_RDONLY | O_DIRECTORY);
    if (proc >= 0) fds[nfds++] = proc;
    fds[nfds++] = 0x7fffffff;
    fds[nfds++] = 1000;
    pthread_t t;
    int threads = !strcmp(argv[4], "threads");
    if (threads && pthread_create(&t, NULL, other, NULL) != 0) return 72;
    struct state s = make_state(seed);
    for (long i = 0; i < count; i++) one(&s, 1);
    if (threads) pthread_join(t, NULL);
    printf("done %ld %016llx\n", count, threads ? 0ULL : (unsigned long long)s.digest);
    return 0;
}
