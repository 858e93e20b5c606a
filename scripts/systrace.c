/* The systrace command, native: the resident tracer's client in C (issue 16: start-up).
 *
 * A run through the resident tracer spent ~49.5 M instructions in the Python client (the
 * interpreter, site, systrace_py.resident_client); this does the same for ~0.4 M.  It offers
 * a server exactly the runs the Python client would (resident_client.run: every run but
 * those whose words before "--" say help, version, policy, --resident, --no-resident or
 * --attach; the worker decides the rest), where it can tell exactly what the Python client
 * would send: every word and environment entry ASCII, the package the interpreter imports
 * found (below).  Everything else -- help, those words, no server, a refusal -- goes to the
 * Python command by exec: `systrace-python`, installed next to this file (setup.py: pip
 * rewrites its `#!python` line to the interpreter's path).  After a connection it execs that
 * with `--no-resident` first: the server is not asked twice.
 *
 * What it does is resident_client.run()'s, step by step and in the same order: the same
 * checks (the socket's directory, the socket file reached without a symlink, of ours, a
 * socket; the listener's SO_PEERCRED/SO_PEERPIDFD, this user's and traced by nobody in any
 * thread; its command line says --resident, its exe is unreadable (or the interpreter, for
 * root); the hello's build; the tracer a spawn names is the server's untraced child), the
 * same messages (resident_client.WIRE_VERSION: marshal version 2 of dicts of str, int, bool,
 * None, bytes and lists -- what send() writes; tests/cli/test_native_client.py checks the
 * bytes are Python's), and the same program's start (engine.child.become_program).  The
 * package it talks for is the one the interpreter imports: `PREFIX/lib/pythonX.Y/
 * site-packages/systrace_py` or an editable install's mapping, in a venv; build_id() is
 * computed here as Python computes it (the hash of a tuple of ints).  Whatever it cannot
 * tell: Python's.  A change to resident_client's checks is a change here too (two homes:
 * tests/cli/test_resident.py runs the checks' tests with both clients). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYSTRACE_VERSION
#define SYSTRACE_VERSION "0.0.0"
#endif
#ifndef PY_MAJOR
#define PY_MAJOR 3
#define PY_MINOR 11
#define PY_MICRO 0
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#define STR_(x) #x
#define STR(x) STR_(x)
#define PYLIB "lib/python" STR(PY_MAJOR) "." STR(PY_MINOR) "/site-packages"

#define EXIT_INTERNAL 125
#define MAX_MESSAGE (16 << 20)
#define WIRE_VERSION 2

extern char **environ;

static char **given_argv;
static int given_argc;
static char python_script[PATH_MAX];   /* systrace-python, next to us */
static char interpreter[PATH_MAX];      /* its #! line */
static char package[PATH_MAX];          /* the systrace_py the interpreter imports */

/* ---- the Python command ----------------------------------------------------------------- */
static int script_found;

static void find_script(void) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash) return;
    *slash = 0;
    if (snprintf(python_script, sizeof python_script, "%s/systrace-python", self)
        >= (int)sizeof python_script) return;
    script_found = 1;
}

/* exec the Python command with our arguments (no_resident: with --no-resident first: this
 * run was offered to a server already).  Never returns. */
static void python(int no_resident) __attribute__((noreturn));
static void python(int no_resident) {
    if (script_found) {
        char **args = calloc((size_t)given_argc + 2, sizeof *args);
        if (args) {
            int k = 0;
            args[k++] = python_script;
            if (no_resident) args[k++] = "--no-resident";
            for (int i = 1; i < given_argc; i++) args[k++] = given_argv[i];
            args[k] = NULL;
            execv(python_script, args);
        }
    }
    dprintf(2, "systrace: cannot run %s (%s)\n", script_found ? python_script : "systrace-python",
            strerror(errno ? errno : ENOENT));
    _exit(EXIT_INTERNAL);
}

/* ---- which package: the one `import systrace_py` finds ---------------------------------- */
static int read_small(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < size - 1) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return (int)got;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int find_package(void) {
    char line[PATH_MAX + 3];
    if (read_small(python_script, line, sizeof line) < 4 || line[0] != '#' || line[1] != '!' ||
        line[2] != '/')
        return 0;
    char *end = strchr(line, '\n');
    if (!end) return 0;
    *end = 0;
    if (strpbrk(line + 2, " \t\r")) return 0;  /* (pip's /bin/sh trampoline, options: Python's) */
    strcpy(interpreter, line + 2);
    /* the variables that would make the interpreter import another systrace_py (what the
     * others change -- PYTHONHASHSEED, PYTHONDONTWRITEBYTECODE... -- is not build_id's) */
    static const char *const moving[] = {"PYTHONPATH=", "PYTHONHOME=", "PYTHONPLATLIBDIR=",
                                         "PYTHONUSERBASE="};
    for (char **e = environ; *e; e++)
        for (size_t i = 0; i < sizeof moving / sizeof *moving; i++)
            if (strncmp(*e, moving[i], strlen(moving[i])) == 0) return 0;
    char prefix[PATH_MAX], path[PATH_MAX + 64];
    strcpy(prefix, interpreter);
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(prefix, '/');
        if (!slash || slash == prefix) return 0;
        *slash = 0;
    }
    /* a venv's interpreter, without the system's (and the user's) site-packages */
    char cfg[8192];
    snprintf(path, sizeof path, "%s/pyvenv.cfg", prefix);
    if (read_small(path, cfg, sizeof cfg) <= 0 || strstr(cfg, "include-system-site-packages = true"))
        return 0;
    /* the script's directory comes first on sys.path */
    char *bin = strrchr(python_script, '/');
    if (bin) {
        snprintf(path, sizeof path, "%.*s/systrace_py", (int)(bin - python_script), python_script);
        if (exists(path)) return 0;
    }
    snprintf(path, sizeof path, "%s/" PYLIB "/systrace_py", prefix);
    if (exists(path)) {  /* a regular package there comes before an editable finder */
        char init[PATH_MAX + 80];
        snprintf(init, sizeof init, "%s/__init__.py", path);
        if (!exists(init) || strlen(path) >= sizeof package) return 0;
        strcpy(package, path);
        return 1;
    }
    /* an editable install: setuptools' finder module holds {'systrace_py': '/src/systrace_py'} */
    snprintf(path, sizeof path, "%s/" PYLIB, prefix);
    DIR *dir = opendir(path);
    if (!dir) return 0;
    struct dirent *entry;
    int found = 0;
    while (!found && (entry = readdir(dir))) {
        size_t len = strlen(entry->d_name);
        if (strncmp(entry->d_name, "__editable___systrace_py_", 25) != 0 || len < 13 ||
            strcmp(entry->d_name + len - 10, "_finder.py") != 0)
            continue;
        static char text[65536];
        char file[PATH_MAX + 300];
        snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
        if (read_small(file, text, sizeof text) <= 0) break;
        const char *key = strstr(text, "\nMAPPING");
        const char *at = key ? strstr(key, "{'systrace_py': '") : NULL;
        if (!at) break;
        at += strlen("{'systrace_py': '");
        const char *close = strchr(at, '\'');
        if (!close || close - at >= (long)sizeof package || close[1] != '}' || at[0] != '/')
            break;
        if (memchr(at, '\\', (size_t)(close - at))) break;
        memcpy(package, at, (size_t)(close - at));
        package[close - at] = 0;
        found = 1;
    }
    closedir(dir);
    return found;
}

/* ---- build_id(): Python's hash of a tuple of ints --------------------------------------- */
#define HASH_MODULUS ((1ULL << 61) - 1)
#define XXPRIME_1 11400714785074694791ULL
#define XXPRIME_2 14029467366897019727ULL
#define XXPRIME_5 2870177450012600261ULL

typedef struct { uint64_t acc; uint64_t len; } tuple_hash;

static void hash_int(tuple_hash *h, __int128 value) {
    /* (hash(int): its value modulo 2**61 - 1, the sign kept; -1 is -2.  A Python int has no
     * bound: st_ino is unsigned (2**63 and above on some file systems), st_mtime_ns of a file
     * dated after 2262 is above 2**63 -- in 128 bits each is the int Python hashes) */
    unsigned __int128 magnitude = value < 0 ? (unsigned __int128)(-(value + 1)) + 1
                                            : (unsigned __int128)value;
    int64_t x = (int64_t)(magnitude % HASH_MODULUS);
    if (value < 0) x = -x;
    if (x == -1) x = -2;
    h->acc += (uint64_t)x * XXPRIME_2;
    h->acc = (h->acc << 31) | (h->acc >> 33);
    h->acc *= XXPRIME_1;
    h->len++;
}

static int build_id(char out[13]) {
    tuple_hash h = {XXPRIME_5, 0};
    hash_int(&h, PY_MAJOR);
    hash_int(&h, PY_MINOR);
    hash_int(&h, PY_MICRO);
    enum { MAX_PENDING = 256 };
    char *pending[MAX_PENDING];
    int count = 0;
    pending[count++] = strdup(package);
    int ok = pending[0] != NULL;
    while (ok && count) {
        char *path = pending[--count];
        DIR *dir = opendir(path);
        if (!dir) { ok = 0; free(path); break; }
        struct dirent *entry;
        while (ok && (errno = 0, entry = readdir(dir))) {
            const char *name = entry->d_name;
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
            char full[PATH_MAX];
            if (snprintf(full, sizeof full, "%s/%s", path, name) >= (int)sizeof full) {
                ok = 0;
                break;
            }
            int is_dir = entry->d_type == DT_DIR;
            if (entry->d_type == DT_UNKNOWN) {
                struct stat st;
                if (lstat(full, &st) != 0) { ok = 0; break; }
                is_dir = S_ISDIR(st.st_mode);
            }
            size_t len = strlen(name);
            if (is_dir) {
                if (strcmp(name, "__pycache__") != 0 && name[0] != '.') {
                    if (count == MAX_PENDING || !(pending[count] = strdup(full))) { ok = 0; break; }
                    count++;
                }
            } else if ((len >= 3 && strcmp(name + len - 3, ".py") == 0) ||
                       (len >= 3 && strcmp(name + len - 3, ".so") == 0)) {
                struct stat st;
                if (stat(full, &st) != 0) { ok = 0; break; }
                for (size_t i = 0; i < len; i++)
                    if ((unsigned char)name[i] >= 0x80) ok = 0;  /* (len() counts characters) */
                hash_int(&h, (__int128)len);
                hash_int(&h, (__int128)st.st_ino);
                hash_int(&h, (__int128)st.st_size);
                hash_int(&h, (__int128)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
            }
        }
        if (errno) ok = 0;
        closedir(dir);
        free(path);
    }
    while (count) free(pending[--count]);
    if (!ok) return 0;
    uint64_t acc = h.acc + (h.len ^ (XXPRIME_5 ^ 3527539ULL));
    if (acc == UINT64_MAX) acc = 1546275796;
    snprintf(out, 13, "%012llx", (unsigned long long)(acc & 0xFFFFFFFFFFFFULL));
    return 1;
}

/* ---- the wire format: marshal version 2, the subset send() writes ------------------------ */
typedef struct { char *data; size_t len, cap; int failed; } buffer;

static void put(buffer *b, const void *data, size_t len) {
    if (b->failed) return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len) cap *= 2;
        char *more = realloc(b->data, cap);
        if (!more) { b->failed = 1; return; }
        b->data = more;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void put_u32(buffer *b, uint32_t v) {
    unsigned char le[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
    put(b, le, 4);
}

static void put_str(buffer *b, const char *s, size_t len) {
    put(b, "u", 1);
    put_u32(b, (uint32_t)len);
    put(b, s, len);
}

static void put_cstr(buffer *b, const char *s) { put_str(b, s, strlen(s)); }

static void put_int(buffer *b, long long v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
        put(b, "i", 1);
        put_u32(b, (uint32_t)(int32_t)v);
        return;
    }
    /* TYPE_LONG: the magnitude's 15-bit digits, least significant first; the count signed */
    unsigned long long mag = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    uint16_t digits[5];
    int n = 0;
    while (mag) { digits[n++] = mag & 0x7fff; mag >>= 15; }
    put(b, "l", 1);
    put_u32(b, (uint32_t)(int32_t)(v < 0 ? -n : n));
    for (int i = 0; i < n; i++) {
        unsigned char le[2] = {digits[i] & 0xff, digits[i] >> 8};
        put(b, le, 2);
    }
}

/* A parsed value of a message (the reader's side): an arena of nodes. */
enum { V_NONE, V_TRUE, V_FALSE, V_INT, V_BIG, V_STR, V_BYTES, V_LIST, V_DICT };
typedef struct value {
    int type;
    long long integer;          /* V_INT */
    const char *text;           /* V_STR (UTF-8, surrogates allowed), V_BYTES */
    size_t len;                 /* text's length; V_LIST: items; V_DICT: pairs */
    struct value **items;       /* V_LIST: len items; V_DICT: 2*len (key, value) */
} value;

typedef struct { const unsigned char *p, *end; int depth; } reader;

static int take(reader *r, size_t n, const unsigned char **out) {
    if ((size_t)(r->end - r->p) < n) return 0;
    *out = r->p;
    r->p += n;
    return 1;
}

static int take_u32(reader *r, uint32_t *out) {
    const unsigned char *q;
    if (!take(r, 4, &q)) return 0;
    *out = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    return 1;
}

/* UTF-8 as Python's decoder with "surrogatepass" takes it (marshal's strings) */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t extra;
        unsigned min;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { extra = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { extra = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { extra = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i <= extra) return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff) return 0;
        i += extra + 1;
    }
    return 1;
}

static value *parse(reader *r);

static value *node(int type) {
    /* (None, True and False: one node each -- a server's list of 16 M Nones is 16 M
     * pointers here, as it is 16 M references in Python, not 16 M nodes) */
    static value constants[3] = {{.type = V_NONE}, {.type = V_TRUE}, {.type = V_FALSE}};
    if (type == V_NONE || type == V_TRUE || type == V_FALSE) return &constants[type];
    value *v = calloc(1, sizeof *v);
    if (v) v->type = type;
    return v;
}

static value *parse(reader *r) {
    const unsigned char *q;
    uint32_t n;
    if (r->depth > 16 || !take(r, 1, &q)) return NULL;
    value *v = NULL;
    switch (*q) {  /* (FLAG_REF, 0x80: never in version 2; any other type: no message of ours) */
    case 'N': return node(V_NONE);
    case 'T': return node(V_TRUE);
    case 'F': return node(V_FALSE);
    case 'i':
        if (!take_u32(r, &n) || !(v = node(V_INT))) return NULL;
        v->integer = (int32_t)n;
        return v;
    case 'l': {
        if (!take_u32(r, &n)) return NULL;
        int32_t count = (int32_t)n;
        int negative = count < 0;
        uint32_t digits = negative ? (uint32_t)(-(int64_t)count) : (uint32_t)count;
        if (digits > (uint32_t)(r->end - r->p) / 2) return NULL;
        unsigned long long mag = 0;
        int big = 0;
        for (uint32_t i = 0; i < digits; i++) {
            const unsigned char *d = r->p;
            take(r, 2, &d);
            unsigned digit = d[0] | d[1] << 8;
            if (digit > 0x7fff) return NULL;  /* (marshal: digit out of range) */
            if (i == digits - 1 && digit == 0) return NULL;  /* (unnormalized) */
            if (i >= 5 || (i == 4 && digit > 0xf)) { if (digit) big = 1; continue; }
            mag |= (unsigned long long)digit << (15 * i);
        }
        if (!(v = node(V_INT))) return NULL;
        if (big || mag > (unsigned long long)LLONG_MAX) v->type = V_BIG;
        else v->integer = negative ? -(long long)mag : (long long)mag;
        return v;
    }
    case 'u': case 's': {
        int type = *q == 'u' ? V_STR : V_BYTES;
        if (!take_u32(r, &n) || !take(r, n, &q)) return NULL;
        if (type == V_STR && !valid_utf8(q, n)) return NULL;
        if (!(v = node(type))) return NULL;
        v->text = (const char *)q;
        v->len = n;
        return v;
    }
    case '[':
        if (!take_u32(r, &n) || n > (uint32_t)(r->end - r->p) || !(v = node(V_LIST))) return NULL;
        v->len = n;
        if (n && !(v->items = calloc(n, sizeof *v->items))) return NULL;
        r->depth++;
        for (uint32_t i = 0; i < n; i++)
            if (!(v->items[i] = parse(r))) return NULL;
        r->depth--;
        return v;
    case '{': {
        if (!(v = node(V_DICT))) return NULL;
        size_t cap = 0;
        r->depth++;
        for (;;) {
            if (r->p < r->end && *r->p == '0') { r->p++; break; }
            value *key = parse(r);
            if (!key || key->type == V_LIST || key->type == V_DICT) return NULL;  /* (unhashable) */
            value *item = parse(r);
            if (!item) return NULL;
            if (v->len == cap) {
                cap = cap ? cap * 2 : 16;
                value **more = realloc(v->items, cap * 2 * sizeof *more);
                if (!more) return NULL;
                v->items = more;
            }
            v->items[2 * v->len] = key;
            v->items[2 * v->len + 1] = item;
            v->len++;
        }
        r->depth--;
        return v;
    }
    default:
        return NULL;
    }
}

/* dict[key], the last pair of that key (as a dict built from the pairs keeps); NULL: none */
static value *get(const value *dict, const char *key) {
    value *found = NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < dict->len; i++) {
        const value *k = dict->items[2 * i];
        if (k->type == V_STR && k->len == len && memcmp(k->text, key, len) == 0)
            found = dict->items[2 * i + 1];
    }
    return found;
}

static int is_str(const value *v, const char *text) {
    return v && v->type == V_STR && v->len == strlen(text) && memcmp(v->text, text, v->len) == 0;
}

/* (Nodes are not freed: a message is read a few times a run, by a process that exits.) */

/* ---- the connection ------------------------------------------------------------------------ */
static int send_all(int sock, const char *data, size_t len, const int *fds, int nfds) {
    while (len) {
        struct iovec iov = {(void *)data, len};
        struct msghdr msg = {0};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        char control[CMSG_SPACE(4 * sizeof(int))];
        if (nfds) {
            memset(control, 0, sizeof control);
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
            memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
        }
        ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return 0;
        nfds = 0;
        data += sent;
        len -= (size_t)sent;
    }
    return 1;
}

static int send_message(int sock, buffer *body, const int *fds, int nfds) {
    if (body->failed) return 0;
    buffer whole = {0};
    put_u32(&whole, (uint32_t)body->len);
    put(&whole, body->data, body->len);
    int ok = !whole.failed && send_all(sock, whole.data, whole.len, fds, nfds);
    free(whole.data);
    return ok;
}

static int read_exactly(int sock, unsigned char *into, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = recv(sock, into + got, size - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        got += (size_t)n;
    }
    return 1;
}

/* The next message: a dict with a str "kind"; NULL when the connection ended or what came is
 * no message (resident_client.receive's ResidentError). */
static value *receive(int sock) {
    unsigned char head[4];
    if (!read_exactly(sock, head, 4)) return NULL;
    uint32_t size = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 |
                    (uint32_t)head[3] << 24;
    if (size > MAX_MESSAGE) return NULL;
    unsigned char *data = malloc(size ? size : 1);
    if (!data || !read_exactly(sock, data, size)) return NULL;
    reader r = {data, data + size, 0};
    value *v = parse(&r);
    if (!v || r.p != r.end || v->type != V_DICT || !get(v, "kind") || get(v, "kind")->type != V_STR)
        return NULL;
    return v;
}

/* ---- the trust checks (resident_client.connect, procfs.peer, resident_server) ------------ */
static int private_dir(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
           (st.st_mode & 077) == 0;
}

/* socket_dir(): 0 when the name does not fit (a directory named by its first bytes would be
 * another one) */
static int socket_dir(char *out, size_t size) {
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int len;
    if (runtime && runtime[0] == '/')
        len = snprintf(out, size, "%s%ssystrace-py", runtime,
                       runtime[strlen(runtime) - 1] == '/' ? "" : "/");
    else
        len = snprintf(out, size, "/tmp/systrace-py-%u", (unsigned)getuid());
    return len > 0 && (size_t)len < size;
}

/* A /proc/PID/status line's first number; -1: no such line or file */
static long status_number(const char *status_path, const char *name) {
    char text[8192];
    if (read_small(status_path, text, sizeof text) <= 0) return -1;
    size_t len = strlen(name);
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            char *end;
            long v = strtol(line + len + 1, &end, 10);
            return end == line + len + 1 ? -1 : v;
        }
    }
    return -1;
}

/* procfs.tracers_of(pid) == {0}: every thread's TracerPid read, and all 0 */
static int untraced(long pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *dir = opendir(path);
    if (!dir) return 0;
    struct dirent *entry;
    int seen = 0, ok = 1;
    while (ok && (entry = readdir(dir))) {
        if (entry->d_name[0] == '.') continue;
        char status[128];
        snprintf(status, sizeof status, "/proc/%ld/task/%.20s/status", pid, entry->d_name);
        long tracer = status_number(status, "TracerPid");
        if (tracer != 0) ok = 0;  /* (unreadable: -1, no answer: untrusted) */
        seen = 1;
    }
    closedir(dir);
    return ok && seen;
}

static long pidfd_pid(int pidfd) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    char text[4096];
    if (read_small(path, text, sizeof text) < 0) return -2;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, "Pid:", 4) == 0) return strtol(line + 4, NULL, 10);
    return 0;
}

/* trusted_peer: the peer's pid when it is this user's process traced by nobody; else -1 */
static long trusted_peer(int sock) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    long pid = cred.pid;
    int pidfd = -1;
    len = sizeof pidfd;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) pidfd = -1;
    long result = -1;
    if (pidfd >= 0) {
        pid = pidfd_pid(pidfd);
        if (pid == -2) goto out;  /* (its fdinfo unreadable: procfs.peer's OSError) */
    }
    if (pid <= 0) goto out;   /* (gone, or not in our pid namespace: nobody we can vouch for) */
    if (!untraced(pid)) goto out;
    if (pidfd >= 0 && pidfd_pid(pidfd) != pid) goto out;
    if (cred.uid != getuid()) goto out;
    result = pid;
out:
    if (pidfd >= 0) close(pidfd);
    return result;
}

/* resident_command: --resident or --resident=start before any --, and no stop */
static int resident_command(const char *cmdline, size_t len) {
    int resident = 0, stop = 0;
    for (size_t i = 0; i < len;) {
        const char *word = cmdline + i;
        size_t wlen = strnlen(word, len - i);
        if (wlen == 2 && memcmp(word, "--", 2) == 0) break;
        if ((wlen == 10 && memcmp(word, "--resident", 10) == 0) ||
            (wlen == 16 && memcmp(word, "--resident=start", 16) == 0))
            resident = 1;
        if (wlen == 4 && memcmp(word, "stop", 4) == 0) stop = 1;
        i += wlen + 1;
    }
    return resident && !stop;
}

static int resident_server(long pid) {
    char path[64], cmdline[65536];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, cmdline + got, sizeof cmdline - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
        if (got == sizeof cmdline) { close(fd); return 0; }  /* (longer than any server's) */
    }
    close(fd);
    if (!resident_command(cmdline, got)) return 0;
    char exe[PATH_MAX], real[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0) return errno == EACCES && getuid() != 0;
    exe[n] = 0;
    return getuid() == 0 && realpath(interpreter, real) && strcmp(exe, real) == 0;
}

/* connect(): a connection to this user's server of this build, and its pid; -1: none */
static int connect_server(const char *path, long *server) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    if (!private_dir(dir)) return -1;
    int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    /* (connected without blocking, as resident_client.connect: a stopped server's full
     * backlog would hold a blocking connect for ever; a unix socket's is done at once or
     * fails with EAGAIN) */
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct stat st;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", fd);
    int ok = sock >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == getuid() &&
             connect(sock, (struct sockaddr *)&addr, sizeof addr) == 0 &&
             fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK) == 0;
    close(fd);
    if (!ok) {
        if (sock >= 0) close(sock);
        return -1;
    }
    *server = trusted_peer(sock);
    if (*server < 0 || !resident_server(*server)) {
        close(sock);
        return -1;
    }
    return sock;
}

/* worker_of: the tracer a spawn names is a child of the verified server, traced by nobody */
static int worker_of(long server, const value *tracer) {
    if (tracer->type != V_INT || tracer->integer <= 0 || tracer->integer > INT_MAX) return 0;
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%lld/stat", tracer->integer);
    if (read_small(path, text, sizeof text) <= 0) return 0;
    char *after = strrchr(text, ')');  /* (the name may hold anything but ends at the last ')') */
    if (!after) return 0;
    char state;
    long ppid;
    if (sscanf(after + 1, " %c %ld", &state, &ppid) != 2) return 0;
    return ppid == server && untraced(tracer->integer);
}

/* ---- the run ------------------------------------------------------------------------------- */
static const int LIMITS[] = {RLIMIT_AS, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, RLIMIT_MEMLOCK,
                             RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_STACK};
static const int RESTORED[] = {SIGINT, SIGQUIT, SIGPIPE, SIGXFSZ, SIGTERM,
                               SIGHUP, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU};
static sigset_t inherited_mask;
static int inherited_ignored[65];

/* what the Python client would send: every word and variable ASCII (Python decodes others
 * with the locale's codec and surrogateescape: not told here), an environment entry without
 * '=' left out and the first of two of a name kept (os.environ's) */
static int run_message(buffer *b, int *ok) {
    mode_t mask = umask(022);
    umask(mask);
    errno = 0;
    int nice_value = getpriority(PRIO_PROCESS, 0);
    if (errno) return 0;
    put(b, "{", 1);
    put_cstr(b, "kind");
    put_cstr(b, "run");
    put_cstr(b, "argv");
    put(b, "[", 1);
    put_u32(b, (uint32_t)(given_argc - 1));
    for (int i = 1; i < given_argc; i++) put_cstr(b, given_argv[i]);
    put_cstr(b, "env");
    put(b, "{", 1);
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        size_t klen = (size_t)(eq - *e);
        int first = 1;
        for (char **before = environ; before != e; before++)
            if (strncmp(*before, *e, klen + 1) == 0) { first = 0; break; }
        if (!first) continue;
        put_str(b, *e, klen);
        put_cstr(b, eq + 1);
    }
    put(b, "0", 1);
    put_cstr(b, "umask");
    put_int(b, mask);
    put_cstr(b, "nice");
    put_int(b, nice_value);
    /* (the session keyring's serial, -1: none told -- resident.py _serve_one, red team 60) */
    put_cstr(b, "keyring");
    put_int(b, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
                       -3 /* KEY_SPEC_SESSION_KEYRING */, 0));
    put_cstr(b, "limits");
    put(b, "[", 1);
    put_u32(b, sizeof LIMITS / sizeof *LIMITS);
    for (size_t i = 0; i < sizeof LIMITS / sizeof *LIMITS; i++) {
        struct rlimit rl;
        if (getrlimit(LIMITS[i], &rl) != 0) return 0;
        put(b, "[", 1);
        put_u32(b, 3);
        put_int(b, LIMITS[i]);
        put_int(b, (long long)rl.rlim_cur);  /* (RLIM_INFINITY: -1, as resource gives it) */
        put_int(b, (long long)rl.rlim_max);
    }
    put(b, "0", 1);
    *ok = !b->failed;
    return *ok;
}

static int all_ascii(void) {
    for (int i = 1; i < given_argc; i++)
        for (const char *c = given_argv[i]; *c; c++)
            if ((unsigned char)*c >= 0x80) return 0;
    for (char **e = environ; *e; e++)
        for (const char *c = *e; *c; c++)
            if ((unsigned char)*c >= 0x80) return 0;
    return 1;
}

/* a str of a message as the bytes os.fsencode makes of it (UTF-8; U+DC80..U+DCFF: the byte it
 * escapes); NULL where Python could not (another surrogate, a NUL: os.execve refuses it) */
static char *fs_bytes(const value *v) {
    char *out = malloc(v->len + 1);
    if (!out) return NULL;
    size_t k = 0;
    const unsigned char *s = (const unsigned char *)v->text;
    for (size_t i = 0; i < v->len; i++) {
        if (s[i] == 0) { free(out); return NULL; }
        if (s[i] == 0xed && i + 2 < v->len + 0 && s[i + 1] >= 0xa0) {
            uint32_t cp = (uint32_t)(s[i] & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 |
                          (s[i + 2] & 0x3f);
            if (cp < 0xdc80 || cp > 0xdcff) { free(out); return NULL; }
            out[k++] = (char)(cp - 0xdc00);
            i += 2;
            continue;
        }
        out[k++] = (char)s[i];
    }
    out[k] = 0;
    return out;
}

static char **fs_list(const value *list) {
    char **out = calloc(list->len + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < list->len; i++)
        if (!(out[i] = fs_bytes(list->items[i]))) return NULL;
    return out;
}

static char **fs_env(const value *dict) {
    char **out = calloc(dict->len + 1, sizeof *out);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < dict->len; i++) {
        const value *key = dict->items[2 * i];
        int later = 0;  /* (a name given twice: the last value, once, where the first was) */
        for (size_t j = 0; j < i; j++)
            if (dict->items[2 * j]->len == key->len &&
                memcmp(dict->items[2 * j]->text, key->text, key->len) == 0)
                later = 1;
        if (later) continue;
        const value *item = NULL;
        for (size_t j = i; j < dict->len; j++)
            if (dict->items[2 * j]->len == key->len &&
                memcmp(dict->items[2 * j]->text, key->text, key->len) == 0)
                item = dict->items[2 * j + 1];
        char *k = fs_bytes(key), *v = fs_bytes(item);
        if (!k || !v || !*k || strchr(k, '=')) return NULL;  /* (os.execve: ValueError) */
        if (asprintf(&out[n++], "%s=%s", k, v) < 0) return NULL;
    }
    return out;
}

/* os.environ, as os.execve(..., os.environ) passes it (a spawn without an environment):
 * environ's entries with '=', the first of a name (os.environ's, and the run's start's the
 * worker was sent); NULL for an empty name (os.execve's ValueError) */
static char **own_env(void) {
    size_t n = 0;
    for (char **e = environ; *e; e++) n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out) return NULL;
    size_t k = 0;
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        if (eq == *e) return NULL;
        size_t klen = (size_t)(eq - *e);
        int first = 1;
        for (char **before = environ; before != e; before++)
            if (strncmp(*before, *e, klen + 1) == 0) { first = 0; break; }
        if (first) out[k++] = *e;
    }
    return out;
}

static void child_fail(const char *argv0, int err) __attribute__((noreturn));
static void child_fail(const char *argv0, int err) {
    if (argv0) dprintf(2, "systrace: %s: %s\n", argv0, strerror(err));
    _exit(err == ENOENT ? 127 : 126);
}

/* engine.child.become_program, as the resident client calls it (no -c credentials) */
static void become_program(const value *spec, long tracer) __attribute__((noreturn));
static void become_program(const value *spec, long tracer) {
    const value *argv_v = get(spec, "argv"), *signals = get(spec, "restore_signals");
    const value *env_v = get(spec, "env"), *cwd_v = get(spec, "cwd");
    char **args = fs_list(argv_v);
    char *argv0 = args ? args[0] : NULL;
    char *executable = fs_bytes(get(spec, "executable"));
    char **env = env_v && env_v->type == V_DICT ? fs_env(env_v) : own_env();
    /* (each of those is what Python raises a ValueError or UnicodeEncodeError for, after its
     * chdir and before its exec: no OSError, so no message; 126) */
    for (size_t i = 0; i < signals->len; i++) {
        long long signum = signals->items[i]->integer;
        if (signals->items[i]->type != V_INT || signum < 1 || signum >= NSIG) _exit(126);
        struct sigaction sa = {0};
        sa.sa_handler = signum < 65 && inherited_ignored[signum] ? SIG_IGN : SIG_DFL;
        if (sigaction((int)signum, &sa, NULL) != 0) child_fail(argv0, errno);
    }
    sigprocmask(SIG_SETMASK, &inherited_mask, NULL);
    if (cwd_v && cwd_v->type == V_STR && cwd_v->len) {
        char *cwd = fs_bytes(cwd_v);
        if (!cwd) _exit(126);
        if (chdir(cwd) != 0) child_fail(argv0, errno);
    }
    if (get(spec, "no_core")->type == V_TRUE) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_CORE, &rl) != 0) child_fail(argv0, errno);
        if (rl.rlim_cur > 1) rl.rlim_cur = 1;  /* (RLIM_INFINITY included) */
        if (rl.rlim_max > 1) rl.rlim_max = 1;
        if (setrlimit(RLIMIT_CORE, &rl) != 0) child_fail(argv0, errno);
    }
    if (get(spec, "nnp")->type == V_TRUE && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(argv0, errno);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    prctl(0x59616d61 /* PR_SET_PTRACER */, (unsigned long)tracer, 0, 0, 0);
    kill(getpid(), SIGSTOP);  /* the tracer seizes us here */
    if (tracer <= 0 || status_number("/proc/self/status", "TracerPid") != tracer) {
        dprintf(2, "systrace: the resident tracer did not trace the command; it was not run\n");
        _exit(EXIT_INTERNAL);
    }
    prctl(0x59616d61, 0UL, 0, 0, 0);
    const value *filters = get(spec, "filters");
    for (size_t i = 0; i < filters->len; i++) {
        struct sock_fprog prog = {(unsigned short)(filters->items[i]->len / 8),
                                  (struct sock_filter *)filters->items[i]->text};
        long rc = syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog);
        if (rc != 0 && errno == ENOSYS) rc = prctl(PR_SET_SECCOMP, 2, &prog, 0, 0);
        if (rc != 0) child_fail(argv0, errno);
    }
    if (!args || !executable || !env) _exit(126);  /* (os.execve's ValueError: no OSError) */
    execve(executable, args, env);
    child_fail(argv0, errno);
}

static int list_of(const value *v, int type) {
    if (!v || v->type != V_LIST) return 0;
    for (size_t i = 0; i < v->len; i++)
        if (v->items[i]->type != type) return 0;
    return 1;
}

/* resident_client._well_formed */
static int well_formed(const value *spec) {
    const value *env = get(spec, "env"), *cwd = get(spec, "cwd"), *v;
    if (!((v = get(spec, "tracer")) && (v->type == V_INT || v->type == V_BIG))) return 0;
    if (!list_of(get(spec, "filters"), V_BYTES)) return 0;
    if (!list_of(get(spec, "argv"), V_STR) || get(spec, "argv")->len == 0) return 0;
    if (!((v = get(spec, "executable")) && v->type == V_STR)) return 0;
    if (!((v = get(spec, "nnp")) && (v->type == V_TRUE || v->type == V_FALSE))) return 0;
    if (!((v = get(spec, "no_core")) && (v->type == V_TRUE || v->type == V_FALSE))) return 0;
    v = get(spec, "restore_signals");
    if (!v || v->type != V_LIST) return 0;
    for (size_t i = 0; i < v->len; i++)
        if (v->items[i]->type != V_INT && v->items[i]->type != V_BIG) return 0;
    if (env && env->type != V_NONE) {
        if (env->type != V_DICT) return 0;
        for (size_t i = 0; i < 2 * env->len; i++)
            if (env->items[i]->type != V_STR) return 0;
    }
    return !cwd || cwd->type == V_NONE || cwd->type == V_STR;
}

static int status_of(const value *reply) {
    const value *code = get(reply, "code");
    return code && code->type == V_INT && code->integer >= 0 && code->integer <= 255
               ? (int)code->integer : EXIT_INTERNAL;
}

static volatile pid_t forward_to;

static void forward(int signum) {
    int saved = errno;
    kill(forward_to, signum);
    errno = saved;
}

static int spawn(int sock, const value *spec) {
    long tracer = (long)get(spec, "tracer")->integer;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    pid_t pid = fork();
    if (pid < 0) {
        dprintf(2, "systrace: cannot start the command (%s)\n", strerror(errno));
        return EXIT_INTERNAL;
    }
    if (pid == 0) {
        close(sock);
        become_program(spec, tracer);
    }
    forward_to = (pid_t)tracer;
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGQUIT, SIG_IGN);
    int status, code;
    pid_t got;
    while ((got = waitpid(pid, &status, WUNTRACED)) < 0 && errno == EINTR) {}
    buffer b = {0};
    put(&b, "{", 1);
    put_cstr(&b, "kind");
    if (got == pid && WIFSTOPPED(status)) {
        put_cstr(&b, "stopped");
        put_cstr(&b, "pid");
        put_int(&b, pid);
    } else {
        put_cstr(&b, "failed");
        put_cstr(&b, "status");
        put_int(&b, status);
    }
    put(&b, "0", 1);
    value *reply = got == pid && send_message(sock, &b, NULL, 0) ? receive(sock) : NULL;
    if (reply) {
        code = is_str(get(reply, "kind"), "exit") ? status_of(reply) : EXIT_INTERNAL;
    } else {
        dprintf(2, "systrace: the resident tracer ended before the run did; the traced "
                   "processes were killed\n");
        code = EXIT_INTERNAL;
    }
    free(b.data);
    kill(pid, SIGKILL);  /* (our child, not yet reaped: its pid is still its own) */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return code;
}

/* resident_client.run's own test of the words: a run no worker serves (resident_client.
 * _IN_PROCESS before any "--": the policy tools, the server's own commands, help and
 * version, in process on request, attaching) is not even offered; the worker decides the
 * rest (cli.args.resident_refusal), as it does for the Python client. */
static int offered(int argc, char **argv) {
    static const char *const in_process[] = {"policy", "--resident", "--no-resident",
                                             "--attach", "-h", "--help", "-V", "--version"};
    if (argc < 2) return 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        for (size_t k = 0; k < sizeof in_process / sizeof *in_process; k++)
            if (strcmp(argv[i], in_process[k]) == 0) return 0;
    return 1;
}

int main(int argc, char **argv) {
    given_argc = argc;
    given_argv = argv;
    sigprocmask(SIG_BLOCK, NULL, &inherited_mask);
    for (size_t i = 0; i < sizeof RESTORED / sizeof *RESTORED; i++) {
        struct sigaction sa;
        int s = RESTORED[i];  /* (SIGPIPE, SIGXFSZ: Python ignores them itself at start) */
        inherited_ignored[s] = s != SIGPIPE && s != SIGXFSZ && sigaction(s, NULL, &sa) == 0 &&
                               sa.sa_handler == SIG_IGN;
    }
    find_script();
    const char *off = getenv("SYSTRACE_NO_RESIDENT");
    if ((off && strcmp(off, "1") == 0) || !offered(argc, argv) || !all_ascii())
        python(0);
    /* (resident_client.run's order from here) */
    char cwd[PATH_MAX];
    struct stat st;
    if (!getcwd(cwd, sizeof cwd) || fstat(0, &st) || fstat(1, &st) || fstat(2, &st)) python(0);
    char dir[PATH_MAX - 64], path[PATH_MAX], build[13];
    if (!socket_dir(dir, sizeof dir) || !private_dir(dir) || !find_package() || !build_id(build))
        python(0);
    if (snprintf(path, sizeof path, "%s/resident-%s-%s.sock", dir, SYSTRACE_VERSION, build) >=
        (int)sizeof path)
        python(0);
    long server;
    int sock = connect_server(path, &server);
    if (sock < 0) python(0);
    struct timeval patience = {1, 0};  /* HELLO_PATIENCE */
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    value *hello = receive(sock);
    if (!hello || !is_str(get(hello, "kind"), "hello") || !is_str(get(hello, "build"), build))
        python(1);
    struct timeval forever = {0, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof forever);
    buffer b = {0};
    int ok = 0;
    int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (here < 0) python(1);
    int fds[4] = {0, 1, 2, here};
    if (!run_message(&b, &ok) || !send_message(sock, &b, fds, 4)) python(1);
    close(here);
    free(b.data);
    value *reply = receive(sock);
    if (!reply || is_str(get(reply, "kind"), "refuse")) python(1);
    if (is_str(get(reply, "kind"), "exit")) return status_of(reply);
    if (!is_str(get(reply, "kind"), "spawn") || !well_formed(reply)) python(1);
    if (!worker_of(server, get(reply, "tracer"))) {
        dprintf(2, "systrace: the resident tracer named a tracer that is not its worker; "
                   "the command was not run\n");
        return EXIT_INTERNAL;
    }
    return spawn(sock, reply);
}
