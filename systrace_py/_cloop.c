/*
 * _cloop: the stop loop's common case in native code (optional; see engine/cloop.py).
 *
 * Why: on a busy machine a ptrace stop costs ~5 us of kernel work but ~40 us of Python glue
 * (docs/performance.md).  This module serves, without returning to Python, the seccomp stops
 * of the armed tasks whose call is a plain path call the policy decides by its literal paths,
 * "dir/ **" trees and globs (the rule's pattern asked, in Python): waitpid ->
 * PTRACE_GETREGS (struct call) -> path read (process_vm_readv) -> resolution (only where
 * the kernel proves the path symlink-free, which is what the Python resolver does then)
 * -> first-match lookup -> PTRACE_CONT (in a tree of more than one task, held to what was
 * checked first, as enforce.Holder holds it), or refusal with the rule's errno at entry (of
 * a missing path: the errno Table.refusal_errno gives it); a call with no argument, and an
 * ioctl of a request that only asks a state (cloop.REQUESTS), by the table's plain rules;
 * the armed tasks' signals, passed on; and their fork and vfork events
 * (and a clone's or clone3's that is a vfork by another name: posix_spawn's) with their
 * children's first stops, noted for Python (births()); a shell's commands: the vfork child
 * armed at its birth, its execve at entry and its exec event (exec_entry, exec_event), noted
 * for Python (execs()), and its end, while the loop knows the whole tree (ends()).
 * Anything else -- another task's stop, another event, a call or a path it is not sure of --
 * is handed back to Python with the wait status it reaped, and Python treats it as it always
 * did.  It never decides what Python would decide otherwise: when in doubt, it hands the stop
 * back.
 *
 * Safety conditions that are not visible here (nothing is pending for the task, it sees the
 * tracer's tree, its scratch area is mapped, no log, ...) are checked by Python before it arms
 * a task (Tracer._fast_arms).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/auxv.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stddef.h>
#include <elf.h>

#ifndef __WALL
#define __WALL 0x40000000
#endif
#define PT_CONT 7
#define PT_SYSCALL 24
#define PT_POKEUSER 6
#define SECCOMP_STOP (0x7f | (5 << 8) | (7 << 16))
#define RESOLVE_NO_SYMLINKS_ 0x04
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define AT_FDCWD_ (-100)
#define MAX_NR 512
#define MAX_RANGES 64         /* shared mappings, over every armed task (engine/cloop.py) */
#define MAX_ARMS 64           /* armed tasks (engine/cloop.py) */
#define MAX_RAW 1000          /* longer paths: Python (PATH_MAX and long-name handling) */
/* variants learned per call: a program choosing a new flags value at every call (open ignores
 * unknown flag bits) must not grow the plan -- memory, and a scan at each stop -- without
 * bound; past this, a call of an unknown variant is Python's, as in the pure-Python loop */
#define MAX_VARIANTS 64
#define MAX_REQUESTS 8   /* ioctl requests decided by the request alone (cloop.REQUESTS) */
#define PT_GETREGS 12
#define PT_SETREGS 13
#define NR_OPENAT2 437
#define OPEN_HOW_SIZE 24
#define PATH1 32  /* enforce.py: the first path in a scratch slot, after the open_how */
#define EMPTY1 24 /* scratch.EMPTY: an empty path "" (never an open's) */
/* A held call's return trampoline in its slot (scratch.trampoline; the offsets are
 * scratch.py's, told to Python as constants and tested): `syscall` at RESTART_OFF (where a
 * restart the kernel makes rewinds to), at RETURN_OFF (where the held call returns) code
 * that puts the program's own argument registers and rcx back and jumps to its return
 * address, then at RECORD_OFF the program's own call: number, six arguments, rip. */
#define RESTART_OFF 16128
#define RETURN_OFF (RESTART_OFF + 2)
#define CODE_LEN 72
#define RECORD_OFF (RETURN_OFF + CODE_LEN)
#define TRAMPOLINE_LEN (RECORD_OFF + 64 - RESTART_OFF)
#define CLONE_ARGS_OFF 8192  /* scratch.CLONE_ARGS: clone3's struct, held */
#define NR_RESTART_SYSCALL 219
/* struct user_regs_struct, in words (x86_64) */
enum { R_R11 = 6, R_R10 = 7, R_R9 = 8, R_R8 = 9, R_RAX = 10, R_RCX = 11, R_RDX = 12,
       R_RSI = 13, R_RDI = 14, R_ORIG_RAX = 15, R_RIP = 16, R_RSP = 19, R_WORDS = 27 };
static const int ARG_REG[6] = {R_RDI, R_RSI, R_RDX, R_R10, R_R8, R_R9};

/* A seccomp stop's call, as its registers give it (decide_call): read with one
 * PTRACE_GETREGS, which a held call's SETREGS then writes back changed -- not
 * PTRACE_GET_SYSCALL_INFO, whose arch field needs no reading here: every armed task runs
 * under the prefilter and the number filter (Tracer._fast_arms: none without them), each
 * of which answers a call of another ABI (int $0x80, a far call into 32-bit code:
 * AUDIT_ARCH_I386) with ENOSYS, and an ERRNO action outranks any filter's TRACE, so no such
 * call ever makes a seccomp stop (docs/security.md, "Other ways into the kernel").  The x32
 * bit is in orig_rax, past MAX_NR: Python's. */
struct call {
    uint64_t nr;
    uint64_t args[6];
    uint64_t regs[R_WORDS];
};

/* what run() reports with a stop it hands back */
enum { WHY_OTHER = 0, WHY_PYTHON = 1, WHY_VARIANT = 2 };
/* entry kinds and actions, as engine/cloop.py exports them */
enum { K_EXACT = 0, K_TREE = 1, K_MAYBE = 2, K_GLOB = 3 };
enum { A_PERMIT = 0, A_NEVER = 1, A_PYTHON = 2 };
/* what an empty path is, as engine/cloop.py exports it (cloop.variant's empty_fd) */
enum { E_NONE = 0, E_PATH = 1, E_PERMIT = 2 };

struct open_how_ {
    uint64_t flags, mode, resolve;
};

typedef struct {
    int kind, action, err;
    int missing_err;  /* a refusal's errno when the path is missing (Table.refusal_errno:
                       * ENOENT, or the rule's own); 0: Python's */
    size_t len;
    char *text;
    PyObject *match;  /* K_GLOB: the rule's pattern's matches(path) -> bool (Python's own) */
    struct Memo *memo;  /* K_GLOB: its last answers (GLOB_MEMO of them), NULL until one */
} Entry;

/* A glob's answer for one path, kept: PathGlob.matches is a function of the path alone (its
 * pattern is fixed), and asked of Python it costs ~15 us at a stop (a cold regex over many
 * alternatives) -- the same library opened by every command of a shell loop, the same
 * header by every compile of a build, asks it once.  GLOB_SETS sets of GLOB_WAYS answers,
 * a set chosen by the path's hash, the most recently used first: a direct-mapped memo (one
 * answer a slot) let two libraries every compiler loads (libc.so.6 and libzstd.so, in one
 * slot of 32) evict each other at every process -- 904 asks of Python in a 60-unit build
 * for 228 different (glob, path) pairs (perf27). */
#define GLOB_WAYS 4
#define GLOB_SETS 16
#define GLOB_MEMO (GLOB_WAYS * GLOB_SETS)
struct Memo {
    char *path;  /* NULL: empty */
    size_t len;
    int truth;
};

typedef struct {
    Py_ssize_t n;
    Entry *entries;
    int action, err; /* when no entry matches */
    int missing_err; /* ... and its errno when the path is missing (0: Python's) */
} Check;

typedef struct {
    uint64_t key;
    int python;  /* decided by Python always */
    uint64_t how_flags;  /* an open's flags as held (enforce.open_how_flags) */
    int follow;
    int empty_fd;  /* an empty path: E_NONE (ENOENT, or Python decides), E_PATH (the
                    * descriptor's file, decided by its name), E_PERMIT (the descriptor call
                    * it stands for, which the table permits: glibc's fstat) */
    int walks;     /* may decide lookups through symlinks or ".." (cloop.walks_freely) */
    Py_ssize_t n;
    Check *checks;
} Variant;

typedef struct {
    int path_arg, dirfd_arg, key_arg;
    int open;    /* held as openat2 (enforce.Holder._open) */
    int freeze;  /* runs with the tree stopped when not alone (Tracer._must_freeze) */
    int exec;    /* execve: a permit is exec_entry()'s (its image, its table, its environment) */
    Py_ssize_t n, cap;
    Variant *variants;
} Shape;

typedef struct {
    PyObject_HEAD
    Shape *shapes[MAX_NR];
    /* calls the table decides by their name alone (engine/cloop.py WHOLE_CALLS): W_PERMIT,
     * or W_NEVER with whole_err; 0: not such a call */
    signed char whole[MAX_NR];
    int whole_err[MAX_NR];
    /* requests of the call request_nr (ioctl) the table decides by the request alone
     * (engine/cloop.py REQUESTS): W_PERMIT, or W_NEVER with request_err */
    int request_nr, nrequests;
    uint32_t requests[MAX_REQUESTS];
    signed char request_action[MAX_REQUESTS];
    int request_err[MAX_REQUESTS];
} PlanObject;
enum { W_PERMIT = 1, W_NEVER = 2 };

/* One armed task: the plan of its table, and how a permitted call of it is held. */
typedef struct {
    pid_t tid;
    PlanObject *plan;
    int may_refuse;
    int mem_fd;        /* its /proc/PID/mem (writes the scratch slot) */
    uint64_t slot;     /* its scratch slot; 0: nothing is held (the task is alone) */
    int keep_start;    /* no other task shares its cwd and descriptors (Holder.keep_start) */
    int own_search;    /* its search permission is not the tracer's: a lookup that looks in a
                        * directory its canonical spelling does not is Python's (paths.py
                        * _search_as_task) */
    int r0, rn;        /* its shared ranges: [r0, r0 + rn) of the arrays below */
    int alone;         /* its calls go unheld because it is the only task */
    int off;           /* it made a child while alone: its stops are Python's from now on */
    uint64_t spare;    /* a scratch slot for the child of its vfork (it is alone), armed here
                        * at birth (0: none) */
    int vfork_only;    /* a vfork child armed here: the only other task of the tree is its
                        * parent, waiting for it, so its exec needs nothing stopped */
    pid_t state_of;    /* the task whose monitor state it has (a child not yet told: its
                        * parent's), for the exec hook */
    int stale;         /* that state is not the one it has: an exec of it (or of the task it
                        * was born of) was served in this run, which Python catches up on only
                        * when the run returns (on_exec: the table, its private rules) -- its
                        * next exec is Python's (exec_entry) */
    int pending;       /* an exec permitted at entry whose event is awaited: execs[pending-1] */
    PlanObject *next;  /* the plan that decides it after that exec (kept alive in kept) */
    int own_fd;        /* a /proc/PID/mem opened here (after an exec), closed at run()'s end */
    int maps_fd;       /* its /proc/PID/maps, opened at its first ring question (in_kernel_ring),
                        * closed at its exec, its end, run()'s end: it answers of the address
                        * space it was opened in (a stale one: ESRCH, Python's) */
    int own_held;      /* that exec's argument registers pointed at held copies (bit i:
                        * argument i), and their own values: put back if it fails */
    uint64_t own[3];
    long long clone3_flags;  /* the flags of the clone3 it was let make, as Python checked
                              * them (Task.clone3_flags); -1: not known */
    pid_t parent_held;  /* a vfork child armed here: its parent, kept in its vfork event's
                         * stop until this child execs or ends (let_parent_go); 0: none */
    int stub;           /* its exec event ran the scratch mmap through a stub (stub_write) that
                         * has not been seen to end yet: at stub_sys (after its syscall),
                         * stub_trap (after its int3), to stub_entry; execs[stub_exec] when
                         * this loop wrote it (stub_map), -1 when Python did (its premap:
                         * Tracer._premap_scratch) -- its trap is then Python's too, and
                         * its end told (stubs()) */
    int stub_exec;
    uint64_t stub_sys, stub_trap, stub_entry;
    int tracers_ns;     /* a vfork child armed here whose parent searched as the tracer: its
                         * user namespace is the tracer's until its exec event (exec_event) */
} Arm;
static Arm arms[MAX_ARMS];
static int narms;
static uint64_t shared_start[MAX_RANGES], shared_end[MAX_RANGES];

/* answered_total: refusals of a missing path with ENOENT, which Python counts as decisions,
 * not refusals (Supervisor._reply: no refusal a person needs to hear of) */
static unsigned long long permitted_total, refused_total, signals_total, answered_total;

/* Children an armed task made by fork or vfork (run() serves those events), for Python
 * (births(): Tracer._fast_notes) before it treats any stop. */
#define MAX_BIRTHS 64
#define PT_GETEVENTMSG 0x4201
#define PT_GETSIGINFO 0x4202
#define EVENT_FORK 1
#define EVENT_VFORK 2
#define EVENT_STOP 128
#define NR_FORK 57
#define NR_VFORK 58
#define NR_CLONE 56
#define NR_CLONE3 435
#define CLONE_VM_ 0x100
#define CLONE_VFORK_ 0x4000
#define CSIGNAL_ 0xff
#define KCMP_VM_ 1
#define KCMP_FILES_ 2
#define KCMP_FS_ 3
typedef struct {
    pid_t parent, child;
    int nr;       /* the call: fork, vfork, or a clone or clone3 that is a vfork (vfork_like) */
    int started;  /* the child's first stop was seen, and it was let go */
    int gone;     /* its end was reported (ends()) */
    int own_rdi_set;   /* a held clone3: the parent's own rdi (own_rdi) is given to the child
                        * at its first stop, not the held copy's (Tracer._own_birth) */
    uint64_t own_rdi;
} Birth;
static Birth births[MAX_BIRTHS];
static int nbirths;

/* The ends of children born in this run() (a shell's commands), for Python (ends():
 * Tracer._fast_notes calls _gone, in order with the births and execs) -- served only while
 * the loop knows the whole tree: it began as one task, alone (Tracer._solo), and holds every
 * child made since.  When the last of them ends the task is alone again, and armed so again
 * (its calls unheld, its spare slot back for its next vfork child), as _fast_arms would arm
 * it. */
#define MAX_ENDS 64
typedef struct {
    long long seq;
    pid_t tid;
    int status;
    pid_t rearmed;  /* the task armed alone again after it (0: none) */
    uint64_t spare; /* ... with this spare slot, taken again (0: none) */
} End;
static End ends[MAX_ENDS];
static int nends;
static int tree_size;   /* the tasks of the tree, while the loop knows them all (else 0) */
static int solo_arm = -1;         /* the arm that was alone at run()'s start */
static uint64_t solo_spare;      /* ... and the spare slot it was given */
static long long nseq;  /* births and execs in the order they happened (Python catches up so) */
static long long birth_seq[MAX_BIRTHS];

/* First stops (PTRACE_EVENT_STOP) of tasks nobody has told the loop of: a child whose
 * parent's fork, vfork or clone event has not been reported yet.  waitpid(-1) scans the
 * tracer's own children before its ptraced list, where new tracees go at the head: when the
 * parent is not the tracer's child (the resident tracer's worker; every grandchild), the
 * child's stop often comes first.  Kept stopped here: birth() lets it go when it notes it
 * (as first_stop() would have); one never noted is told to Python (early()), in order with
 * the births, execs and ends, as the waitpid result it was (Tracer._early).  known: the tids
 * of every task Python has (run()'s argument), whose stops are Python's. */
#define MAX_EARLY 16
typedef struct {
    long long seq;
    pid_t tid;
    int status;
} Early;
static Early earlies[MAX_EARLY];
static int nearly;
static pid_t known[MAX_ARMS];
static int nknown;
static int keeps_early;  /* run() was told every task Python has: early stops may be kept */

/* Execs an armed task made (exec_entry, exec_event), for Python (execs(): Tracer._fast_notes),
 * told with the births, in order, before it treats any stop. */
#define MAX_EXECS 64
#define EVENT_EXEC 4
#define NR_EXECVE 59
typedef struct {
    long long seq;
    pid_t tid;
    unsigned long long dev, ino;  /* what must run (Tracer._note_exec's exec_check) */
    char path[MAX_RAW + 1];       /* the program, by its resolved name */
    int served;    /* the exec event was served too: checked, and the task let go */
    int scratch;   /* the scratch area was mapped at the event (Tracer._premap_scratch) */
    int maps;      /* the stops that took */
    int failed;    /* it failed: its exit stop came (a vfork child's exec is let go to its
                    * exit, as Python's freeze does: Tracer._freeze, _resume) */
    /* the stub that maps the area (stub_map), while not seen to end: the address after its
     * syscall, after its trap, and the program's entry (0: none, or it ended) */
    uint64_t stub_sys, stub_trap, stub_entry;
} Exec;
static Exec execs[MAX_EXECS];
static int nexecs;
static PyObject *exec_hook;     /* (tid, program) -> (plan after the exec, enters another table) or None */
static PyObject *env_given;     /* the environment entries that run code the run started with
                                 * (a set of bytes: the user's choice, Supervisor._entering_table) */
static PyObject *kept;          /* plans the arms switch to, alive until the next run() */
/* The exec hook's answers in this run (exec_entry): (the tid whose monitor state was asked,
 * the program) -> the plan after the exec (a reference in kept) and whether it enters
 * another table, or no plan when the hook said None.  Emptied at each run(). */
#define HOOK_MEMO 8
static struct {
    pid_t tid;
    PyObject *plan;  /* (NULL: the hook said None -- the exec is Python's) */
    int enters;
    size_t len;
    char path[MAX_RAW + 1];
} hook_memo[HOOK_MEMO];
static int nhook_memo;
static char env_names[2048];    /* the runs_code names, NUL-separated, an empty one last */
static char env_prefix[64];     /* ... and the prefix (environment.EXPORTED_FUNCTION) */
static unsigned char trap_code[16];  /* enforce.MMAP_TRAP_CODE */
static size_t trap_len;
/* The area sealed where it is mapped (close 24; set_seal: Tracer.seals): the premap's code
 * then (enforce.MAP_SEAL_TRAP_CODE: the mmap, its seal, the trap; rdx the seal's result),
 * and mseal's number, which the stub makes after its mmap; 0: no seal */
static unsigned char seal_code[64];
static size_t seal_len;
static uint32_t seal_nr;
static uint64_t mmap_args[7];   /* the scratch mmap: number, then its six arguments */
static int keyed_images;        /* protection keys are on: an exec event looks for keyed maps */
static size_t max_strlen = 1;   /* an exec string's limit (decode.MAX_ARG_STRLEN: E2BIG) */
static size_t bulk_at;          /* where a slot's argv and environment copies go (scratch.BULK) */
static char env_copy[256 * 1024];  /* an environment as held, up to the slot's end */
/* An environment's strings are read a window at a time (env_string): those of the
 * environment a program started with lie together at the top of its stack, those a shell
 * made in its heap -- one window for each, not one a string, and the windows read in one
 * call (read_windows). */
#define ENV_WINDOW 8192
#define ENV_WINDOWS 4
static char windows[ENV_WINDOWS][ENV_WINDOW];
static uint64_t window_at[ENV_WINDOWS];
static size_t window_got[ENV_WINDOWS];
static int nwindows;  /* (read_env empties them: one exec's reads) */
/* An execve's path as decide resolved it: the O_PATH descriptor of the file it reached, kept
 * for exec_entry's plain_image (which so looks at that very file, without opening its path
 * again); closed when decide returns.  -1: none. */
static int resolved_fd = -1;
static size_t env_cap;          /* scratch.SLOT_SIZE - BULK (at most sizeof env_copy) */

static void free_check(Check *c) {
    for (Py_ssize_t i = 0; i < c->n; i++) {
        Entry *e = &c->entries[i];
        PyMem_Free(e->text);
        Py_XDECREF(e->match);
        if (e->memo)
            for (int k = 0; k < GLOB_MEMO; k++) PyMem_Free(e->memo[k].path);
        PyMem_Free(e->memo);
    }
    PyMem_Free(c->entries);
}

static void Plan_dealloc(PlanObject *self) {
    for (int nr = 0; nr < MAX_NR; nr++) {
        Shape *s = self->shapes[nr];
        if (!s) continue;
        for (Py_ssize_t i = 0; i < s->n; i++) {
            for (Py_ssize_t j = 0; j < s->variants[i].n; j++) free_check(&s->variants[i].checks[j]);
            PyMem_Free(s->variants[i].checks);
        }
        PyMem_Free(s->variants);
        PyMem_Free(s);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* add_call(nr, path_arg, dirfd_arg, key_arg, open, freeze[, exec]): a call the loop may decide
 * (its path in path_arg, relative to the descriptor in dirfd_arg or the cwd (-1), its variants
 * told apart by the whole register key_arg (-1: none); held as openat2 when open; handed to
 * Python in a tree of more than one task when freeze; exec: execve, whose permit is
 * exec_entry()'s). */
static PyObject *Plan_add_call(PlanObject *self, PyObject *args) {
    int nr, path_arg, dirfd_arg, key_arg, open, freeze, exec = 0;
    if (!PyArg_ParseTuple(args, "iiiipp|p", &nr, &path_arg, &dirfd_arg, &key_arg, &open, &freeze,
                          &exec))
        return NULL;
    if (exec && (nr != NR_EXECVE || open || freeze || key_arg >= 0)) {
        PyErr_SetString(PyExc_ValueError, "bad exec shape");
        return NULL;
    }
    if (nr < 0 || nr >= MAX_NR || path_arg < 0 || path_arg > 5 || dirfd_arg > 5 || key_arg > 5) {
        PyErr_SetString(PyExc_ValueError, "bad call shape");
        return NULL;
    }
    if (self->shapes[nr]) Py_RETURN_NONE;
    Shape *s = PyMem_Calloc(1, sizeof(Shape));
    if (!s) return PyErr_NoMemory();
    s->path_arg = path_arg;
    s->dirfd_arg = dirfd_arg;
    s->key_arg = key_arg;
    s->open = open;
    s->freeze = freeze;
    s->exec = exec;
    self->shapes[nr] = s;
    Py_RETURN_NONE;
}

static int parse_check(PyObject *item, Check *c) {
    PyObject *entries;
    if (!PyArg_ParseTuple(item, "O!ii|i", &PyList_Type, &entries, &c->action, &c->err,
                          &c->missing_err))
        return -1;
    c->n = PyList_GET_SIZE(entries);
    c->entries = PyMem_Calloc(c->n ? c->n : 1, sizeof(Entry));
    if (!c->entries) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < c->n; i++) {
        Entry *e = &c->entries[i];
        const char *text;
        Py_ssize_t len;
        PyObject *match = NULL;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(entries, i), "iiiy#|Oi", &e->kind, &e->action,
                              &e->err, &text, &len, &match, &e->missing_err))
            return -1;
        if (match == Py_None) match = NULL;
        if (e->kind == K_GLOB) {
            if (!match || !PyCallable_Check(match)) {
                PyErr_SetString(PyExc_TypeError, "a glob entry needs its matches");
                return -1;
            }
            Py_INCREF(match);
            e->match = match;
        }
        e->text = PyMem_Malloc(len + 1);
        if (!e->text) { PyErr_NoMemory(); return -1; }
        memcpy(e->text, text, len);
        e->text[len] = 0;
        e->len = (size_t)len;
    }
    return 0;
}

/* add_variant(nr, key, follow, empty_fd, walks, how_flags, checks): checks None -> Python decides this variant always;
 * else a list of (entries, action, errno[, missing errno]), entries [(kind, action, errno,
 * prefix bytes[, a glob's matches or None[, missing errno]])] in rule order; a missing errno
 * is what a refusal answers when the path does not exist (0 or left out: Python tells). */
static PyObject *Plan_add_variant(PlanObject *self, PyObject *args) {
    int nr, follow, empty_fd, walks;
    unsigned long long key, how_flags;
    PyObject *checks;
    if (!PyArg_ParseTuple(args, "iKpipKO", &nr, &key, &follow, &empty_fd, &walks, &how_flags,
                          &checks))
        return NULL;
    if (nr < 0 || nr >= MAX_NR || !self->shapes[nr]) {
        PyErr_SetString(PyExc_ValueError, "no such call in the plan");
        return NULL;
    }
    Shape *s = self->shapes[nr];
    key = (uint32_t)key;  /* the kernel reads an int: a key is its low 32 bits (decide) */
    if (s->n >= MAX_VARIANTS) Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < s->n; i++)
        if (s->variants[i].key == key) Py_RETURN_NONE;
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? 2 * s->cap : 4;
        Variant *grown = PyMem_Realloc(s->variants, cap * sizeof(Variant));
        if (!grown) return PyErr_NoMemory();
        s->variants = grown;
        s->cap = cap;
    }
    Variant v = {key, checks == Py_None, how_flags, follow, empty_fd, walks, 0, NULL};
    if (checks != Py_None) {
        if (!PyList_Check(checks)) {
            PyErr_SetString(PyExc_TypeError, "checks: a list or None");
            return NULL;
        }
        v.n = PyList_GET_SIZE(checks);
        v.checks = PyMem_Calloc(v.n ? v.n : 1, sizeof(Check));
        if (!v.checks) return PyErr_NoMemory();
        for (Py_ssize_t i = 0; i < v.n; i++) {
            if (parse_check(PyList_GET_ITEM(checks, i), &v.checks[i]) < 0) {
                for (Py_ssize_t j = 0; j <= i; j++) free_check(&v.checks[j]);
                PyMem_Free(v.checks);
                return NULL;
            }
        }
    }
    s->variants[s->n++] = v;
    Py_RETURN_NONE;
}

/* add_whole(nr, action, errno): a call with no argument (cloop.WHOLE_CALLS) the table
 * permits (action A_PERMIT) or refuses with errno (A_NEVER) whatever the process. */
static PyObject *Plan_add_whole(PlanObject *self, PyObject *args) {
    int nr, action, err;
    if (!PyArg_ParseTuple(args, "iii", &nr, &action, &err)) return NULL;
    if (nr < 0 || nr >= MAX_NR || self->shapes[nr] || (action != A_PERMIT && action != A_NEVER)
        || (action == A_NEVER && (err <= 0 || err > 4095))) {
        PyErr_SetString(PyExc_ValueError, "bad whole call");
        return NULL;
    }
    self->whole[nr] = action == A_PERMIT ? W_PERMIT : W_NEVER;
    self->whole_err[nr] = err;
    Py_RETURN_NONE;
}

/* add_request(nr, request, action, errno): an ioctl request (cloop.REQUESTS) the table
 * permits (A_PERMIT) or refuses with errno (A_NEVER) whatever its descriptor and argument. */
static PyObject *Plan_add_request(PlanObject *self, PyObject *args) {
    int nr, action, err;
    unsigned int request;
    if (!PyArg_ParseTuple(args, "iIii", &nr, &request, &action, &err)) return NULL;
    if (nr < 0 || nr >= MAX_NR || self->shapes[nr] || self->whole[nr]
        || (self->nrequests && nr != self->request_nr) || self->nrequests >= MAX_REQUESTS
        || (action != A_PERMIT && action != A_NEVER)
        || (action == A_NEVER && (err <= 0 || err > 4095))) {
        PyErr_SetString(PyExc_ValueError, "bad request");
        return NULL;
    }
    self->request_nr = nr;
    self->requests[self->nrequests] = request;
    self->request_action[self->nrequests] = action == A_PERMIT ? W_PERMIT : W_NEVER;
    self->request_err[self->nrequests++] = err;
    Py_RETURN_NONE;
}

/* variants(nr): how many variants of the call the plan holds (tests: the bound) */
static PyObject *Plan_variants(PlanObject *self, PyObject *args) {
    int nr;
    if (!PyArg_ParseTuple(args, "i", &nr)) return NULL;
    if (nr < 0 || nr >= MAX_NR || !self->shapes[nr]) return PyLong_FromLong(0);
    return PyLong_FromSsize_t(self->shapes[nr]->n);
}

static PyMethodDef Plan_methods[] = {
    {"add_call", (PyCFunction)Plan_add_call, METH_VARARGS, "Register a call the loop may decide."},
    {"add_variant", (PyCFunction)Plan_add_variant, METH_VARARGS, "Register one variant of a call."},
    {"add_whole", (PyCFunction)Plan_add_whole, METH_VARARGS, "Register a call decided by name."},
    {"add_request", (PyCFunction)Plan_add_request, METH_VARARGS,
     "Register an ioctl request decided by the request alone."},
    {"variants", (PyCFunction)Plan_variants, METH_VARARGS, "How many variants of a call are held."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "systrace_py._cloop.Plan",
    .tp_basicsize = sizeof(PlanObject),
    .tp_dealloc = (destructor)Plan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A table's decisions the native loop may make, compiled by engine/cloop.py.",
    .tp_methods = Plan_methods,
    .tp_new = PyType_GenericNew,
};

/* The tracee's NUL-terminated string at addr, at most cap-1 bytes; its length, or -1. */
static ssize_t read_string(pid_t tid, uint64_t addr, char *buf, size_t cap) {
    size_t got = 0;
    while (got < cap - 1) {
        uint64_t at = addr + got;
        size_t chunk = 4096 - (at & 4095);
        if (chunk > cap - 1 - got) chunk = cap - 1 - got;
        struct iovec local = {buf + got, chunk}, remote = {(void *)(uintptr_t)at, chunk};
        ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        if (n <= 0) return -1;
        char *nul = memchr(buf + got, 0, (size_t)n);
        if (nul) return nul - buf;
        got += (size_t)n;
    }
    return -1;
}

/* struct procmap_query (linux/fs.h, 6.11): one mapping of /proc/PID/maps, by address
 * (tracee._ProcmapQuery) */
struct procmap_query_ {
    uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size,
        vma_offset, inode;
    uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
    uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY_ _IOWR('f', 17, struct procmap_query_)
#define COVERING_OR_NEXT_VMA_ 0x10
#define NAME_ROOM 4352  /* (a path up to PATH_MAX, " (deleted)") */

/* Whether a mapping's name is a kernel's ring -- a socket's, an io_uring's, an AIO
 * context's: what tracee._is_kernel_ring says (its home; kept in step by
 * tests/unit/test_maps_names.py). */
static int is_kernel_ring(const char *name) {
    return strncmp(name, "socket:[", 8) == 0 || strstr(name, "/[aio]") != NULL
           || strstr(name, "[io_uring]") != NULL;
}

/* Whether [addr, end) of the task's memory meets a mapping whose pages are a kernel's ring,
 * private or shared (tracee.in_kernel_ring): the kernel may write there between the check and
 * its own read, and a MAP_PRIVATE mmap of a socket handed over with its ring made does not
 * stop (ring36).  Asked of the kernel mapping by mapping (PROCMAP_QUERY); 1 where it cannot
 * say (maps unreadable, a kernel before 6.11): the call is Python's then. */
static int in_kernel_ring(int *maps_fd, pid_t tid, uint64_t addr, uint64_t end) {
    if (*maps_fd < 0) {
        char where[48];
        snprintf(where, sizeof where, "/proc/%d/maps", (int)tid);
        *maps_fd = open(where, O_RDONLY | O_CLOEXEC);
        if (*maps_fd < 0) return 1;
    }
    int fd = *maps_fd;
    char name[NAME_ROOM];
    struct procmap_query_ q;
    int found = 0;
    for (uint64_t at = addr; at < end;) {
        memset(&q, 0, sizeof q);
        q.size = sizeof q;
        q.query_flags = COVERING_OR_NEXT_VMA_;
        q.query_addr = at;
        q.vma_name_addr = (uint64_t)(uintptr_t)name;
        q.vma_name_size = sizeof name;
        if (ioctl(fd, PROCMAP_QUERY_, &q) < 0) {
            found = errno != ENOENT;  /* (ENOENT: no mapping at or after it) */
            break;
        }
        if (q.vma_start >= end) break;
        if (q.vma_name_size) {
            name[sizeof name - 1] = 0;
            if (is_kernel_ring(name)) { found = 1; break; }
        }
        at = q.vma_end;
    }
    return found;
}

/* Normalise ".", ".." and "//" of an absolute path proved symlink-free (paths.py _lexical). */
static void lexical(const char *in, char *out) {
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != '/') q++;
        size_t len = (size_t)(q - p);
        if (len == 1 && p[0] == '.') {
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;
        } else {
            out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p = q;
    }
    if (o == 0) out[o++] = '/';
    out[o] = 0;
}

static int has_suffix(const char *text, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && memcmp(text + len - n, suffix, n) == 0;
}

/* The lookup of candidate found a name missing: the last one, in a directory the kernel
 * proves symlink-free -- 0 (paths.py _fast_missing) -- or the directory it would be in,
 * itself missing -- 1 when that one is in such a directory (_fast_missing's second lookup),
 * 2 when it is deeper (the walk's "unreachable" name: not direct); its name into path.  -1:
 * Python tells (a "." or "..", a symlink, deeper than 8).  The lookup that found it missing
 * refused every symlink (RESOLVE_NO_SYMLINKS), a last one it would follow included: so the
 * last name is no symlink to nothing either -- no lstat (as paths.py _fast asks
 * _fast_missing, follow False). */
static int missing_name(const char *candidate, char *path, int depth) {
    char parent[2 * MAX_RAW + 64];
    size_t n = strlen(candidate);
    while (n > 1 && candidate[n - 1] == '/') n--;
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (candidate[i] == '/') slash = candidate + i;
    if (!slash) return -1;
    const char *name = slash + 1;
    size_t name_len = n - (size_t)(name - candidate);
    if (name_len == 0 || (name_len == 1 && name[0] == '.') ||
        (name_len == 2 && name[0] == '.' && name[1] == '.'))
        return -1;
    size_t plen = (size_t)(slash - candidate);
    if (plen == 0) {
        parent[0] = '/';
        parent[1] = 0;
    } else {
        memcpy(parent, candidate, plen);
        parent[plen] = 0;
    }
    struct open_how_ how = {O_PATH | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS_};
    long fd = syscall(SYS_openat2, AT_FDCWD_, parent, &how, sizeof how);
    int found = 0;
    if (fd >= 0) {
        close((int)fd);
        lexical(parent, path);
    } else if (errno == ENOENT && depth < 8) {
        int above = missing_name(parent, path, depth + 1);  /* (its name: lexical already) */
        if (above < 0) return -1;
        found = above == 0 && depth == 0 ? 1 : 2;
    } else {
        return -1;
    }
    size_t len = strlen(path);
    if (len == 1) len = 0;  /* _join: "/" + name */
    path[len] = '/';
    memcpy(path + len + 1, name, name_len);
    path[len + 1 + name_len] = 0;
    return found;
}

/* A path with symlinks on the way: the name of what the kernel reaches through them when it
 * follows no magic link, as /proc gives it (paths.py _fast, its second openat2) into path;
 * -1 when Python must tell (a missing name, a magic link, a name /proc cannot give).  With
 * keep, the O_PATH descriptor of what it reached is kept there (resolved_fd), not closed. */
static int through_symlinks(const char *candidate, uint64_t flags, char *path, int keep) {
    struct open_how_ how = {flags, 0, RESOLVE_NO_MAGICLINKS_};
    long fd = syscall(SYS_openat2, AT_FDCWD_, candidate, &how, sizeof how);
    if (fd < 0) return -1;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", (int)fd);
    ssize_t n = readlink(link, path, MAX_RAW);
    if (keep) resolved_fd = (int)fd;
    else close((int)fd);
    if (n <= 0 || n >= MAX_RAW || path[0] != '/') return -1;
    path[n] = 0;
    if (has_suffix(path, (size_t)n, " (deleted)") || strstr(path, "/proc")) return -1;
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)path[i] >= 0x80) return -1;
    return 0;
}

/* File systems a process answers (FUSE: engine/answered.py): their mount points in the
 * tracer's view, and a descriptor of /proc/self/mountinfo of the loop's own, polled for a
 * change of the mount table (set_answered).  A path call below one of them, or made after a
 * change Python has not told the loop of, is Python's: its server may answer the kernel's
 * lookup for the program otherwise than the tracer's (red team 44). */
#define MAX_ANSWERED 32
static int answered_fd = -1;
static int answered_n;
static int answered_all;  /* more mounts than the loop keeps: every path is Python's */
static char *answered_at[MAX_ANSWERED];
static size_t answered_len[MAX_ANSWERED];

/* indirect: the lookup went through a symlink, "." or ".." -- what it passed through is not
 * the ancestors of path, and a walk that entered a mount and left it again (a ".." after a
 * name the server calls a directory, a symlink it gives) ends outside it (review 24): with
 * any such mount, Python's (Tracer._on_answered_fs asks paths.passed_through). */
static int answered_everywhere(void) {
    if (answered_all) return 1;
    for (int i = 0; i < answered_n; i++)
        if (answered_len[i] == 0) return 1;  /* ("/" is given as "") */
    return 0;
}

/* Whether a file is a character device that stands for another terminal -- /dev/tty (5,0:
 * the opener's controlling terminal), /dev/console (5,1), /dev/tty0 (4,0), wherever its node
 * is (a bind mount of /dev elsewhere): a call on it is decided by that terminal's name too,
 * in Python (DecodedCall.terminals_examined, red team 63: a rule refusing /dev/pts/N was
 * passed by /dev/tty).  So is every device of a virtual console's screen (7,0 to 7,191):
 * /dev/vcsN, vcsuN and vcsaN are one screen by three names, and /dev/vcs, vcsu and vcsa
 * (7,0, 7,64, 7,128) the screen of the console in front -- decided by each name of each
 * screen it may show (signals.screens_stood_for; red team 66: a rule refusing /dev/vcsN was
 * passed by /dev/vcs; review 44: by /dev/vcsaN).  Which devices those are is Python's
 * (signals.STAND_INS, given by set_stand_ins); until it is given, every character device
 * stands in (Python's: never wrong, only slower). */
#define MAX_STAND_INS 8
static unsigned int stand_ins[MAX_STAND_INS][3];  /* major, first minor, last minor */
static int nstand_ins = -1;

static int device_stands_in(unsigned int maj, unsigned int min) {
    if (nstand_ins < 0) return 1;
    for (int i = 0; i < nstand_ins; i++)
        if (maj == stand_ins[i][0] && min >= stand_ins[i][1] && min <= stand_ins[i][2])
            return 1;
    return 0;
}

static int stands_in(const struct stat *st) {
    return S_ISCHR(st->st_mode) && device_stands_in(major(st->st_rdev), minor(st->st_rdev));
}

static int stands_for_terminal(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && stands_in(&st);
}

static int answered_path(const char *path, size_t len, int indirect) {
    if (answered_all) return 1;
    if (answered_fd >= 0) {
        struct pollfd p = {answered_fd, POLLPRI, 0};
        if (poll(&p, 1, 0) != 0) return 1;  /* the mount table changed (or poll failed) */
    }
    if (indirect && answered_n > 0) return 1;
    for (int i = 0; i < answered_n; i++) {
        size_t n = answered_len[i];
        if (n == 0) return 1;  /* mounted on "/" */
        if (len >= n && memcmp(path, answered_at[i], n) == 0 &&
            (path[n] == 0 || path[n] == '/'))
            return 1;
    }
    return 0;
}

static int under(const Entry *e, const char *path, size_t len) {
    if (e->len == 0) return 1;  /* the root tree: everything */
    return len >= e->len && memcmp(path, e->text, e->len) == 0 &&
           (path[e->len] == 0 || path[e->len] == '/');
}

static int cleared(void);

static int ask_glob(const Entry *e, const char *path, size_t len);

/* Whether a glob entry's pattern matches path, asked of Python (PathGlob.matches, as the
 * index's verify asks) unless its memo has the answer: 1, 0, -1 when it failed with an
 * Exception (cleared: Python then decides the whole call), -2 when with anything else (a
 * KeyboardInterrupt, the session's EndRun: left set, the run ends -- cleared()). */
static int glob_matches(Entry *e, const char *path, size_t len) {
    uint64_t h = 1469598103934665603ULL;  /* (FNV-1a: which set of the memo) */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)path[i]) * 1099511628211ULL;
    struct Memo *set = e->memo ? &e->memo[(h % GLOB_SETS) * GLOB_WAYS] : NULL;
    if (set)
        for (int w = 0; w < GLOB_WAYS; w++) {
            struct Memo *m = &set[w];
            if (!m->path) break;  /* (the set fills from its front) */
            if (m->len == len && memcmp(m->path, path, len) == 0) {
                struct Memo hit = *m;  /* (to the front: the most recent first) */
                memmove(&set[1], &set[0], (size_t)w * sizeof *set);
                set[0] = hit;
                return hit.truth;
            }
        }
    int truth = ask_glob(e, path, len);
    if (truth < 0) return truth;  /* (not kept: asked again next time) */
    if (!e->memo) {
        e->memo = PyMem_Calloc(GLOB_MEMO, sizeof *e->memo);
        if (!e->memo) return truth;  /* (then unkept) */
        set = &e->memo[(h % GLOB_SETS) * GLOB_WAYS];
    }
    char *copy = PyMem_Malloc(len + 1);
    if (copy) {
        memcpy(copy, path, len);
        copy[len] = 0;
        PyMem_Free(set[GLOB_WAYS - 1].path);  /* (the least recent goes) */
        memmove(&set[1], &set[0], (GLOB_WAYS - 1) * sizeof *set);
        set[0].path = copy;
        set[0].len = len;
        set[0].truth = truth;
    }
    return truth;
}

static int ask_glob(const Entry *e, const char *path, size_t len) {
    PyObject *text = PyUnicode_FromStringAndSize(path, (Py_ssize_t)len);  /* (ASCII only) */
    if (!text) return cleared() ? -1 : -2;
    PyObject *result = PyObject_CallOneArg(e->match, text);
    Py_DECREF(text);
    if (!result) return cleared() ? -1 : -2;
    int truth = PyObject_IsTrue(result);
    Py_DECREF(result);
    if (truth < 0) return cleared() ? -1 : -2;
    return truth;
}

/* One check: its first rule matching, as the Python index finds it; A_PYTHON when a rule
 * the index cannot prove (a glob, another condition) could come first; -1 when a glob's
 * match raised what ends the run (glob_matches).  *err: a refusal's errno, *missing_err:
 * its errno when the path is missing (0: Python's). */
static int decide_check(Check *c, const char *path, size_t len, int *err,
                        int *missing_err) {
    for (Py_ssize_t i = 0; i < c->n; i++) {
        Entry *e = &c->entries[i];
        int hit;
        if (e->kind == K_EXACT)
            hit = e->len == len && memcmp(e->text, path, len) == 0;
        else
            hit = under(e, path, len);
        if (!hit) continue;
        if (e->kind == K_MAYBE) return A_PYTHON;
        if (e->kind == K_GLOB) {
            int matched = glob_matches(e, path, len);
            if (matched == -2) return -1;  /* (the error left set ends the run) */
            if (matched < 0) return A_PYTHON;
            if (!matched) continue;
        }
        *err = e->err;
        *missing_err = e->missing_err;
        return e->action;
    }
    *err = c->err;
    *missing_err = c->missing_err;
    return c->action;
}

static int poke(pid_t tid, long offset, long value) {
    return (int)syscall(SYS_ptrace, PT_POKEUSER, tid, offset, value);
}

/* The task's current directory (dirfd AT_FDCWD) or the directory of its descriptor dirfd, by
 * its /proc name, into out (MAX_RAW + 1 bytes at least): its length, or -1 when Python must
 * tell (a bad descriptor, not an absolute name, too long, a removed directory). */
static ssize_t start_dir(pid_t tid, int dirfd, char *out) {
    char link[64];
    if (dirfd == AT_FDCWD_)
        snprintf(link, sizeof link, "/proc/%d/cwd", (int)tid);
    else if (dirfd >= 0)
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
    else
        return -1;
    ssize_t n = readlink(link, out, MAX_RAW);
    if (n <= 0 || n >= MAX_RAW || out[0] != '/') return -1;
    out[n] = 0;
    if (has_suffix(out, (size_t)n, " (deleted)")) return -1;
    return n;
}

/* A "." or ".." component (paths.py _dotted): its lookup looks in the directory before it. */
static int dotted(const char *raw) {
    for (const char *p = raw; (p = strchr(p, '.')) != NULL; p++) {
        if (p != raw && p[-1] != '/') continue;
        const char *q = p[1] == '.' ? p + 2 : p + 1;
        if (*q == 0 || *q == '/') return 1;
    }
    return 0;
}

static int climbs(const char *raw) {
    for (const char *p = raw; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == raw || p[-1] == '/') && (p[2] == 0 || p[2] == '/')) return 1;
    return 0;
}

static uint64_t area_base, area_size, area_slot;  /* the scratch area's (set_exec_rules) */

/* scratch.trampoline: `syscall`; movabs rdi, rsi, rdx, r10, r8, r9, rcx; jmp rcx; the
 * record (the program's number, arguments, rip), for the program's own call in info,
 * written at the slot's RESTART_OFF (after the copies: a write of them never covers it). */
static int write_trampoline(const Arm *a, const struct call *info) {
    static const unsigned char ops[7][2] = {{0x48, 0xbf}, {0x48, 0xbe}, {0x48, 0xba},
                                            {0x49, 0xba}, {0x49, 0xb8}, {0x49, 0xb9},
                                            {0x48, 0xb9}};
    unsigned char code[TRAMPOLINE_LEN];
    uint64_t values[7];
    for (int i = 0; i < 6; i++) values[i] = info->args[i];
    values[6] = info->regs[R_RIP];
    size_t k = 0;
    code[k++] = 0x0f;
    code[k++] = 0x05;
    for (int i = 0; i < 7; i++) {
        code[k++] = ops[i][0];
        code[k++] = ops[i][1];
        memcpy(code + k, &values[i], 8);
        k += 8;
    }
    code[k++] = 0xff;
    code[k++] = 0xe1;
    memcpy(code + k, &info->nr, 8);
    k += 8;
    memcpy(code + k, values, sizeof values);
    k += sizeof values;
    return pwrite(a->mem_fd, code, k, (off_t)(a->slot + RESTART_OFF)) == (ssize_t)k;
}

/* The start of the slot whose trampoline (its `syscall` or its code) holds rip, or 0
 * (scratch.returning). */
static uint64_t returning(uint64_t rip) {
    if (!area_slot || rip < area_base || rip >= area_base + area_size) return 0;
    uint64_t offset = (rip - area_base) % area_slot;
    return offset >= RESTART_OFF && offset < RECORD_OFF ? rip - offset : 0;
}

/* scratch.put_back, on a stopped task's registers (read by the caller) whose rip is in the
 * trampoline of the slot at slot, through the memory mem reads: 1 put back (SETREGS), 0 not
 * (the record unreadable), -1 an error (errno). */
static int put_back(pid_t tid, int mem, uint64_t *regs, uint64_t slot, int entry) {
    uint64_t rec[8];
    if (pread(mem, rec, sizeof rec, (off_t)(slot + RECORD_OFF)) != (ssize_t)sizeof rec)
        return 0;
    for (int i = 0; i < 6; i++) regs[ARG_REG[i]] = rec[1 + i];
    regs[R_RCX] = rec[7];
    if (regs[R_RIP] - slot == RESTART_OFF || entry) {
        regs[R_RIP] = rec[7] - 2;
        regs[R_RAX] = rec[0];
        regs[R_ORIG_RAX] = entry ? (uint64_t)-1 : rec[0];
    } else {
        regs[R_RIP] = rec[7];
        if (regs[R_ORIG_RAX] != (uint64_t)-1) regs[R_ORIG_RAX] = rec[0];
    }
    if (syscall(SYS_ptrace, PT_SETREGS, tid, 0, regs) < 0) return errno == ESRCH ? 0 : -1;
    return 1;
}

/* Point a permitted call at a copy of what was checked, in the task's scratch slot, as
 * enforce.Holder does for one path (its _target, _open, _paths, _commit): the call's own
 * spelling and start when no other task shares them, it reached the file through no symlink
 * and it climbs no "..", else the
 * canonical path from the root; an open becomes openat2 with RESOLVE_NO_SYMLINKS.  1: held,
 * 0: nothing changed (Python does it), -1: an error (errno; ESRCH: the task is gone). */
static int hold(const Arm *a, const Shape *s, const Variant *v, const struct call *info,
                const char *raw, size_t rlen, const char *path, size_t len, int direct,
                const char *start, size_t slen) {
    int own = a->keep_start && direct && !climbs(raw);
    const char *target = own ? raw : path;
    size_t tlen = own ? rlen : len;
    /* ... or the canonical path relative to that start, when it lies below it
     * (enforce._below_start): no search permission above the start is needed */
    if (!own && a->keep_start && start && raw[0] != '/' && len > slen + 1
        && memcmp(path, start, slen) == 0 && path[slen] == '/' && !climbs(path + slen + 1)) {
        own = 1;
        target = path + slen + 1;
        tlen = len - slen - 1;
    }
    const uint64_t at_fdcwd = (uint64_t)(int64_t)AT_FDCWD_;
    char blob[PATH1 + 2 * MAX_RAW + 64];
    if (s->open) {
        struct open_how_ how = {v->how_flags, 0, RESOLVE_NO_SYMLINKS_};
        memset(blob, 0, PATH1);
        memcpy(blob, &how, sizeof how);
        memcpy(blob + PATH1, target, tlen + 1);
        ssize_t n = pwrite(a->mem_fd, blob, PATH1 + tlen + 1, (off_t)a->slot);
        if (n != (ssize_t)(PATH1 + tlen + 1)) return 0;
        if (!write_trampoline(a, info)) return 0;
        uint64_t regs[R_WORDS];  /* (the stop's own, read by decide_call) */
        memcpy(regs, info->regs, sizeof regs);
        regs[R_ORIG_RAX] = NR_OPENAT2;
        regs[R_RDI] = own && s->dirfd_arg >= 0 ? (uint32_t)info->args[s->dirfd_arg] : at_fdcwd;
        regs[R_RSI] = a->slot + PATH1;
        regs[R_RDX] = a->slot;
        regs[R_R10] = OPEN_HOW_SIZE;
        regs[R_RIP] = a->slot + RETURN_OFF;
        if (syscall(SYS_ptrace, PT_SETREGS, a->tid, 0, regs) < 0) return -1;
        return 1;
    }
    ssize_t n = pwrite(a->mem_fd, target, tlen + 1, (off_t)(a->slot + PATH1));
    if (n != (ssize_t)(tlen + 1)) return 0;
    if (!write_trampoline(a, info)) return 0;
    uint64_t regs[R_WORDS];
    memcpy(regs, info->regs, sizeof regs);
    regs[ARG_REG[s->path_arg]] = a->slot + PATH1;
    if (!own && s->dirfd_arg >= 0) regs[ARG_REG[s->dirfd_arg]] = at_fdcwd;
    regs[R_RIP] = a->slot + RETURN_OFF;
    if (syscall(SYS_ptrace, PT_SETREGS, a->tid, 0, regs) < 0) return -1;
    return 1;
}

/* An empty path "" pointed at a copy in the task's scratch slot (Holder._empty_path): 1 held,
 * 0 nothing changed (Python does it), -1 an error. */
static int hold_empty(const Arm *a, const Shape *s, const struct call *info) {
    if (pwrite(a->mem_fd, "", 1, (off_t)(a->slot + EMPTY1)) != 1) return 0;
    if (!write_trampoline(a, info)) return 0;
    uint64_t regs[R_WORDS];
    memcpy(regs, info->regs, sizeof regs);
    regs[ARG_REG[s->path_arg]] = a->slot + EMPTY1;
    regs[R_RIP] = a->slot + RETURN_OFF;
    if (syscall(SYS_ptrace, PT_SETREGS, a->tid, 0, regs) < 0) return -1;
    return 1;
}

/* Refuse the call at entry with err (enforce.refuse), counted in *count: 1, or -1 on an
 * error. */
static int refuse(pid_t tid, int err, unsigned long long *count) {
    if (poke(tid, R_ORIG_RAX * 8, -1) < 0 || poke(tid, R_RAX * 8, -(long)err) < 0) {
        if (errno == ESRCH) return 1;  /* killed meanwhile: its exit is reported */
        return -1;
    }
    if (syscall(SYS_ptrace, PT_CONT, tid, 0, 0) < 0 && errno != ESRCH) return -1;
    (*count)++;
    return 1;
}

/* --- execs ------------------------------------------------------------------------------- */

/* Whether an environment entry's name makes the loader, libc or an interpreter run code the
 * caller chose (environment.runs_code: the names given by set_exec_rules). */
static int runs_code(const char *entry, size_t len) {
    const char *eq = memchr(entry, '=', len);
    size_t n = eq ? (size_t)(eq - entry) : len;
    size_t plen = strlen(env_prefix);
    if (plen && n >= plen && memcmp(entry, env_prefix, plen) == 0) return 1;
    for (const char *name = env_names; *name; name += strlen(name) + 1)
        if (strlen(name) == n && memcmp(name, entry, n) == 0) return 1;
    return 0;
}

/* The tracee's string at addr into dst, as read_string reads it (a string of at most
 * room - 2 bytes; -1: unreadable or longer), from a window of its memory read before or read
 * now from start on (start <= addr: the lowest string of the environment less than half a
 * window below it, so that one window holds the strings on both sides of it -- a shell
 * passes its environment's strings in the order of its own table, not of their addresses;
 * a window from addr held only those above it, and read the environment of a command that
 * sh ran in 6 reads instead of 1); one that runs past its window is read alone. */
static ssize_t env_string(pid_t tid, uint64_t addr, uint64_t start, char *dst, size_t room) {
    for (int pass = 0; pass < 2; pass++) {
        for (int w = nwindows - 1; w >= 0; w--) {  /* (the last begun: the most room past addr) */
            if (addr < window_at[w] || addr - window_at[w] >= window_got[w]) continue;
            size_t offset = (size_t)(addr - window_at[w]);
            size_t span = window_got[w] - offset < room - 1 ? window_got[w] - offset : room - 1;
            char *nul = memchr(windows[w] + offset, 0, span);
            if (nul) {
                size_t n = (size_t)(nul - (windows[w] + offset));
                memcpy(dst, windows[w] + offset, n + 1);
                return (ssize_t)n;
            }
            if (span == room - 1) return -1;  /* too long */
            return read_string(tid, addr, dst, room);  /* (past the window) */
        }
        if (pass) break;
        int w = nwindows < ENV_WINDOWS ? nwindows++ : (int)(addr / 64 % ENV_WINDOWS);
        struct iovec local = {windows[w], ENV_WINDOW},
                     remote = {(void *)(uintptr_t)start, ENV_WINDOW};
        ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        window_at[w] = start;
        window_got[w] = got > 0 ? (size_t)got : 0;  /* (short: memory that cannot be read) */
        if (got <= 0 || addr - start >= (uint64_t)got) return read_string(tid, addr, dst, room);
    }
    return read_string(tid, addr, dst, room);
}

static int by_address(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The windows an environment's strings lie in (their addresses sorted), read at once: one
 * process_vm_readv of up to ENV_WINDOWS ranges, not one a window as env_string came to each
 * (a shell's command: the strings of its start at the top of the stack, those it made in its
 * heap -- two reads before, one now).  A window begins at the lowest string not in the one
 * before, or not more than ENV_TAIL bytes from its end (a string begun there would likely run
 * past it: env_string reads such a one alone).  The kernel copies the ranges in order and
 * stops at the first byte it cannot read, so what it copied is the windows' first bytes in
 * order; a window it did not reach is empty, and env_string reads its strings as before (a
 * window of their own, or alone). */
#define ENV_TAIL 512
static void read_windows(pid_t tid, const uint64_t *sorted, size_t count) {
    struct iovec local[ENV_WINDOWS], remote[ENV_WINDOWS];
    nwindows = 0;
    for (size_t i = 0; i < count && nwindows < ENV_WINDOWS;) {
        uint64_t start = sorted[i];
        local[nwindows] = (struct iovec){windows[nwindows], ENV_WINDOW};
        remote[nwindows] = (struct iovec){(void *)(uintptr_t)start, ENV_WINDOW};
        window_at[nwindows] = start;
        window_got[nwindows++] = 0;
        while (i < count && sorted[i] - start < ENV_WINDOW - ENV_TAIL) i++;
    }
    if (!nwindows) return;
    ssize_t got = process_vm_readv(tid, local, (unsigned long)nwindows, remote,
                                   (unsigned long)nwindows, 0);
    size_t left = got > 0 ? (size_t)got : 0;
    for (int w = 0; w < nwindows; w++) {
        window_got[w] = left < ENV_WINDOW ? left : ENV_WINDOW;
        left -= window_got[w];
    }
}

/* The environment of an exec (envp at addr) as enforce.Holder._vector copies it: the pointer
 * table then the strings, for a copy at slot + BULK, into blob (cap bytes); its size, 0 when
 * an entry runs code and the run did not start with it (_entering_table refuses: Python),
 * -1 when Python must read it (unreadable, too large, no envp). */
static ssize_t read_env(pid_t tid, uint64_t addr, uint64_t base, char *blob, size_t cap) {
    if (addr == 0) return -1;
    uint64_t pointers[4096];
    size_t count = 0;
    size_t have = 0;  /* pointers read so far (up to a page at a time: the array may end
                       * just before memory that cannot be read) */
    for (;;) {  /* the pointers, up to the NULL */
        if (count == have) {
            size_t room = sizeof pointers / sizeof *pointers - have;
            uint64_t at = addr + 8 * have;
            size_t chunk = 4096 - (at & 4095);  /* to the page's end */
            if (chunk < 8) chunk = 8;  /* (a pointer across two pages) */
            if (chunk > 8 * room) chunk = 8 * room;
            if (chunk == 0) return -1;  /* more than the slot holds: Python's */
            struct iovec local = {&pointers[have], chunk},
                         remote = {(void *)(uintptr_t)at, chunk};
            ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
            if (n < 8) return -1;
            have += (size_t)n / 8;
        }
        if (pointers[count] == 0) break;
        count++;
    }
    size_t table = 8 * (count + 1), at = table;
    if (table > cap) return -1;
    nwindows = 0;
    static uint64_t sorted[4096];  /* (where a window starts: env_string) */
    memcpy(sorted, pointers, 8 * count);
    qsort(sorted, count, 8, by_address);
    read_windows(tid, sorted, count);
    for (size_t i = 0; i < count; i++) {
        if (cap - at < 2) return -1;
        size_t room = cap - at < max_strlen ? cap - at : max_strlen;  /* (NUL within it) */
        uint64_t addr = pointers[i], low = addr > ENV_WINDOW / 2 ? addr - ENV_WINDOW / 2 : 0;
        size_t lo = 0, hi = count;  /* the first string at or above low (addr is one) */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sorted[mid] < low) lo = mid + 1;
            else hi = mid;
        }
        ssize_t n = env_string(tid, addr, sorted[lo], blob + at, room);
        if (n < 0) return -1;  /* unreadable, too long, more than a slot holds: Python's */
        if (runs_code(blob + at, (size_t)n)) {
            /* (one the run started with: the user's choice, which _entering_table lets be) */
            int given = 0;
            if (env_given) {
                PyObject *entry = PyBytes_FromStringAndSize(blob + at, n);
                given = entry ? PySet_Contains(env_given, entry) : -1;
                Py_XDECREF(entry);
                if (given < 0) { PyErr_Clear(); given = 0; }
            }
            if (!given) return 0;
        }
        uint64_t where = base + at;
        memcpy(blob + 8 * i, &where, 8);
        at += (size_t)n + 1;
    }
    memset(blob + 8 * count, 0, 8);
    return (ssize_t)at;
}

/* The files plain_image found no script, by what any change of their contents changes: a
 * shell's loop runs the same few programs again and again. */
#define PLAIN_MEMO 16
static struct { dev_t dev; ino_t ino; off_t size; struct timespec mtime, ctime; } plain_memo[PLAIN_MEMO];
static int plain_next;

static int plain_known(const struct stat *st) {
    for (int i = 0; i < PLAIN_MEMO; i++)
        if (plain_memo[i].ino == st->st_ino && plain_memo[i].dev == st->st_dev &&
            plain_memo[i].size == st->st_size &&
            plain_memo[i].mtime.tv_sec == st->st_mtim.tv_sec &&
            plain_memo[i].mtime.tv_nsec == st->st_mtim.tv_nsec &&
            plain_memo[i].ctime.tv_sec == st->st_ctim.tv_sec &&
            plain_memo[i].ctime.tv_nsec == st->st_ctim.tv_nsec)
            return 1;
    return 0;
}

/* What exec loads at path, a file the tracer may read (the exec's checks permit it): 1 with
 * its identity when it is a regular file that is no script (a "#!" file's interpreters are
 * Python's: exec_image.script_chain); 0: Python tells.  The file is the one decide's
 * resolution reached (resolved_fd), else path opened now.
 *
 * Its first two bytes are read once per contents (plain_memo: the same file, size, mtime and
 * ctime -- ctime the tracee cannot set: every write, truncate or utimes sets it to the
 * clock's now), not at every exec.  What the two bytes decide is who serves the exec, not
 * whether it may run: they are read before the exec, which runs what the file holds then,
 * so today's read could be stale as well -- a file made a script meanwhile runs its
 * interpreter, and the exec event's identity check (/proc/PID/exe against this st's device
 * and inode: exec_event, Tracer._checked_program) kills the process that ran it.  A memo
 * gone stale (a change ctime missed: a write through a shared mapping's page already
 * dirty, a recycled inode within one clock tick) ends the same way: fail closed. */
/* The text of /proc/TID/LEAF, NUL-terminated in buf (cap bytes with the NUL): its length, or
 * 0 when it cannot be read (the task gone, no such file) or is empty. */
static ssize_t proc_text(pid_t tid, const char *leaf, char *buf, size_t cap) {
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/%s", (int)tid, leaf);
    int f = open(name, O_RDONLY | O_CLOEXEC);
    if (f < 0) return 0;
    ssize_t n = read(f, buf, cap - 1);
    close(f);
    if (n <= 0) return 0;
    buf[n] = 0;
    return n;
}

/* Whether each of the task's descriptors 0, 1 and 2 is open and not close-on-exec (its
 * fdinfo's flags): an exec into another table with one closed is Python's to decide
 * (Supervisor._entering_table, red team 34: the program's own files would take the number).
 * 0 too when it cannot be told. */
static int std_fds_open(pid_t tid) {
    char leaf[16], buf[256];
    for (int fd = 0; fd < 3; fd++) {
        snprintf(leaf, sizeof leaf, "fdinfo/%d", fd);
        if (!proc_text(tid, leaf, buf, sizeof buf)) return 0;
        char *flags = strstr(buf, "flags:");
        if (!flags) return 0;
        char *end;
        unsigned long value = strtoul(flags + 6, &end, 8);
        if (end == flags + 6 || value & O_CLOEXEC) return 0;
    }
    return 1;
}

/* the personality flags a set-user-ID exec clears (kernel.PER_CLEAR_ON_SETID:
 * set_exec_rules) */
static unsigned long clear_on_setid = ~0UL;

/* Whether the task's personality has none of the flags a set-user-ID exec clears
 * (clear_on_setid: READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO):
 * 0 when it has one, or cannot be read -- an exec into another table is then Python's
 * (Supervisor._entering_table: red team 35). */
static int personality_plain(pid_t tid) {
    char buf[32];
    if (!proc_text(tid, "personality", buf, sizeof buf)) return 0;
    char *end;
    unsigned long value = strtoul(buf, &end, 16);
    if (end == buf) return 0;
    return (value & clear_on_setid) == 0;
}

static int plain_image(const char *path, struct stat *st) {
    int fd = resolved_fd >= 0 ? resolved_fd : open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return 0;
    int ok = 0;
    if (fstat(fd, st) == 0 && S_ISREG(st->st_mode)) {
        if (plain_known(st)) {
            ok = 1;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            int rfd = open(link, O_RDONLY | O_CLOEXEC);  /* (exec_image._open_regular) */
            if (rfd >= 0) {
                char head[2] = {0, 0};  /* (a file shorter than two bytes: no script) */
                ok = pread(rfd, head, 2, 0) >= 0 && !(head[0] == '#' && head[1] == '!');
                close(rfd);
            }
            if (ok) {
                plain_memo[plain_next].dev = st->st_dev;
                plain_memo[plain_next].ino = st->st_ino;
                plain_memo[plain_next].size = st->st_size;
                plain_memo[plain_next].mtime = st->st_mtim;
                plain_memo[plain_next].ctime = st->st_ctim;
                plain_next = (plain_next + 1) % PLAIN_MEMO;
            }
        }
    }
    if (fd != resolved_fd) close(fd);
    return ok;
}

/* A Python error of the exec hook: an Exception (a failed call, a bad answer) is cleared and
 * the exec is Python's; anything else -- KeyboardInterrupt, SystemExit, the session's EndRun
 * raised by a signal handler while the hook ran -- stays set and ends the run (fail closed:
 * Tracer.run kills the tree).  1: cleared. */
static int cleared(void) {
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return 0;
    PyErr_Clear();
    return 1;
}

/* At an armed task's execve entry whose path the table's checks permit (decide): the exec
 * as Python would let it go (Supervisor._decide for execve, Tracer._apply, _note_exec) when
 * all of this holds, else 0 (Python's): the path exists and is a plain image (plain_image),
 * the task exec'd nothing in this run (the hook reads the monitor's state of it, which
 * Python brings up to date only when the run returns: stale), no other task must be stopped
 * for it (the task is alone, holds nothing, or is a vfork child whose parent was alone),
 * and the monitor's hook (Tracer._fast_exec_target) names the table
 * after the exec -- when that is another table, no environment entry runs code (read_env).
 * The path (its own spelling, as enforce.Holder._exec) and an examined environment are held
 * in the slot; the exec is noted for Python (execs()) and awaited (exec_event).  1: let go,
 * -1: an error. */
static int exec_entry(Arm *a, const struct call *info, const char *raw, size_t rlen,
                      const char *path, size_t len, int missing) {
    /* (a task that exec'd in this run: the hook would be asked with the state before that
     * exec -- the former table, which may permit what the new one refuses: review 12) */
    if (missing || a->stale || nexecs == MAX_EXECS || !exec_hook || !kept) return 0;
    if (a->slot && !a->vfork_only) return 0;  /* the others must be stopped: Python's */
    struct stat st;
    if (!plain_image(path, &st)) return 0;
    PyObject *next = NULL;
    int enters = 0, m;
    /* The hook (Tracer._fast_exec_target -> Supervisor.fast_exec) reads the monitor's state
     * of state_of, its policies and options, and the plans cloop.FastLoop compiled -- none
     * of which changes while this run lasts: Python runs nothing meanwhile but this hook and
     * the globs' matches (glob_matches), which change no state; Python brings the state of
     * the tasks this run served up to date only when it returns (execs(), births(),
     * ends()).  So its answer for the same (state_of, program) is the same all run long,
     * and asked once (~6 us of Python an exec: a shell's loop asks it at every command
     * with sh's tid).  A task whose own exec this run served is stale (asked nothing, above);
     * an entry of a task that ends here is dropped (end_of). */
    for (m = 0; m < nhook_memo; m++)
        if (hook_memo[m].tid == a->state_of && hook_memo[m].len == len
            && memcmp(hook_memo[m].path, path, len) == 0)
            break;
    if (m < nhook_memo) {
        if (!hook_memo[m].plan) return 0;
        next = hook_memo[m].plan;
        enters = hook_memo[m].enters;
    } else {
        PyObject *found = PyObject_CallFunction(exec_hook, "is#", (int)a->state_of, path,
                                                (Py_ssize_t)len);
        if (!found) return cleared() ? 0 : -1;
        if (found != Py_None && !PyArg_ParseTuple(found, "O!p", &PlanType, &next, &enters)) {
            PyErr_Clear();
            Py_DECREF(found);
            return 0;  /* (a bad answer: not kept) */
        }
        if (next && PyList_Append(kept, next) < 0) { PyErr_Clear(); Py_DECREF(found); return 0; }
        Py_DECREF(found);  /* (kept holds the plan) */
        if (nhook_memo < HOOK_MEMO) {
            hook_memo[nhook_memo].tid = a->state_of;
            hook_memo[nhook_memo].plan = next;
            hook_memo[nhook_memo].enters = enters;
            hook_memo[nhook_memo].len = len;
            memcpy(hook_memo[nhook_memo].path, path, len + 1);
            nhook_memo++;
        }
        if (!next) return 0;
    }
    ssize_t envlen = 0;
    if (enters) {
        /* shared pages hold no path here (decide), but the environment is anywhere */
        if (!a->slot && a->rn > 0) return 0;
        /* (alone, unheld: an environment in a kernel's ring is Python's to find -- it reads
         * the whole maps for an environment it decides on: Tracer._reached_from_outside) */
        if (!a->slot && a->alone) return 0;
        if (!std_fds_open(a->tid)) return 0;  /* (Python's: _entering_table) */
        if (!personality_plain(a->tid)) return 0;  /* (the same) */
        envlen = read_env(a->tid, info->args[2], a->slot + bulk_at, env_copy, env_cap);
        if (envlen <= 0) return 0;
    }
    a->own_held = 0;
    if (a->slot) {
        if (pwrite(a->mem_fd, raw, rlen + 1, (off_t)(a->slot + PATH1)) != (ssize_t)(rlen + 1))
            return 0;
        if (enters && pwrite(a->mem_fd, env_copy, (size_t)envlen, (off_t)(a->slot + bulk_at))
            != envlen)
            return 0;
        int pointed;
        if (enters) {  /* two registers: the stop's own written back changed (one call) */
            uint64_t regs[R_WORDS];
            memcpy(regs, info->regs, sizeof regs);
            regs[ARG_REG[0]] = a->slot + PATH1;
            regs[ARG_REG[2]] = a->slot + bulk_at;
            pointed = (int)syscall(SYS_ptrace, PT_SETREGS, a->tid, 0, regs);
        } else {
            pointed = poke(a->tid, ARG_REG[0] * 8, (long)(a->slot + PATH1));
        }
        if (pointed < 0) return errno == ESRCH ? 1 : -1;
        a->own_held = enters ? 5 : 1;  /* (Tracer._hold's own_args) */
        memcpy(a->own, info->args, sizeof a->own);
    }
    Exec *e = &execs[nexecs++];
    memset(e, 0, sizeof *e);
    e->seq = nseq++;
    e->tid = a->tid;
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    memcpy(e->path, path, len + 1);
    a->pending = nexecs;
    a->next = (PlanObject *)next;
    /* a vfork child's exec "freezes" a tree with nothing else running: Python lets it go to
     * its exit stop (Tracer._resume with freezer), which comes only when it fails */
    if (syscall(SYS_ptrace, a->vfork_only ? PT_SYSCALL : PT_CONT, a->tid, 0, 0) < 0
        && errno != ESRCH)
        return -1;
    permitted_total++;
    return 1;
}

/* The user namespace of the task whose /proc directory is dir (its inode), or 0. */
static unsigned long long user_ns_of(const char *dir) {
    char name[64];
    struct stat st;
    snprintf(name, sizeof name, "%s/ns/user", dir);
    return stat(name, &st) < 0 ? 0 : (unsigned long long)st.st_ino;
}

/* A task's fsuid and fsgid, its Groups: text, whether CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH
 * is effective, and its user namespace (from /proc/TID/status and ns/user, as
 * paths.Credentials.of reads them), *trap_held: whether it ignores or blocks SIGTRAP
 * (SigIgn, SigBlk; 1 when they are not there) and *blocked: its SigBlk (the mask premap
 * blocks signals around, as PTRACE_GETSIGMASK would give it: the status of a stopped
 * thread is read at the same stop): 0, or -1 when they cannot be read.  userns NULL: not
 * read (searches_otherwise's ns_later).  The status is read whole with one read(2) (open,
 * read, close: stdio's fopen would stat it and read it 1 KiB at a time; the second read that
 * said its end is not made): procfs makes the file at the read (seq_file, single_open) and
 * gives all of it to a buffer it fits in.  Were a read ever short, it would lack an end: a
 * line with no newline is not read, the lines needed come in the kernel's order Uid, Gid,
 * Groups, SigBlk, SigIgn, CapEff, so any line cut short or missing takes CapEff with it (and
 * the masks: trap_held), and the status is Python's -- never a wrong "searches as the
 * tracer".  One that fills the buffer
 * (thousands of groups) is Python's. */
static int creds_of(const char *dir, long long ids[2], char *groups, size_t cap, int *override,
                    unsigned long long *userns, int *trap_held, unsigned long long *blocked,
                    int *access_other) {
    char name[64], text[8192];
    if (userns && (*userns = user_ns_of(dir)) == 0) return -1;
    snprintf(name, sizeof name, "%s/status", dir);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n;
    while ((n = read(fd, text, sizeof text - 1)) < 0 && errno == EINTR) {}
    close(fd);
    if (n <= 0 || (size_t)n >= sizeof text - 1) return -1;  /* (unreadable, or too long) */
    size_t len = (size_t)n;
    text[len] = 0;
    int seen = 0, masks = 0;
    long long real[2] = {0, 0};
    unsigned long long eff = 0, prm = 0;
    *trap_held = 0;
    *blocked = 0;
    for (char *line = text, *end; *line; line = end) {
        end = strchr(line, '\n');
        if (!end) break;  /* (a line with no end is cut short: not read) */
        *end++ = 0;
        long long v[4];
        if (strncmp(line, "SigIgn:", 7) == 0 || strncmp(line, "SigBlk:", 7) == 0) {
            unsigned long long mask = strtoull(line + 7, NULL, 16);
            *trap_held |= (mask >> (SIGTRAP - 1)) & 1;
            if (line[3] == 'B') *blocked = mask;
            masks++;
            continue;
        }
        if (strncmp(line, "Uid:", 4) == 0 &&
            sscanf(line + 4, "%lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) == 4) {
            ids[0] = v[3];
            real[0] = v[0];
            seen |= 1;
        } else if (strncmp(line, "Gid:", 4) == 0 &&
                   sscanf(line + 4, "%lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) == 4) {
            ids[1] = v[3];
            real[1] = v[0];
            seen |= 2;
        } else if (strncmp(line, "Groups:", 7) == 0) {
            if (strlen(line) >= cap) return -1;  /* (a long line: Python's) */
            strcpy(groups, line + 7);
            seen |= 4;
        } else if (strncmp(line, "CapEff:", 7) == 0) {
            unsigned long long caps = strtoull(line + 7, NULL, 16);
            *override = (caps & ((1ULL << 1) | (1ULL << 2))) != 0;  /* DAC_OVERRIDE, READ_SEARCH */
            eff = caps & ((1ULL << 1) | (1ULL << 2));
            seen |= 8;
        } else if (strncmp(line, "CapPrm:", 7) == 0) {
            prm = strtoull(line + 7, NULL, 16) & ((1ULL << 1) | (1ULL << 2));
            seen |= 16;
        }
    }
    if (masks != 2) *trap_held = 1;
    /* access(2) looks up as the real ids, with a real root's permitted capabilities or none
     * (access_override_creds; paths.Credentials.of(real=True)): otherwise than the task's
     * other calls when they differ from its fs ids and capabilities */
    if (access_other)
        *access_other = real[0] != ids[0] || real[1] != ids[1] ||
                        (real[0] == 0 ? prm != eff : eff != 0);
    return seen == 31 ? 0 : -1;
}

/* Whether a task's search permission is not the tracer's: 1, 0, or -1 when it cannot be
 * read; *trap_held and *blocked as creds_of says.  With *ns_later (not NULL) the user
 * namespace is not looked at here: 0 then means "unless its namespace is another", and
 * *ns_later is set when the caller must still ask (same_user_ns) -- exec_event asks once
 * the task runs again.  This mirrors paths.Credentials.searches_as (which Python arms tasks by,
 * Tracer._fast_arms), for the task of an exec this loop serves: change one, change the other
 * (tests/engine/test_resolve_parity.py, test_root_searches_as_its_capabilities_say). */
static unsigned long long own_ns;

static int searches_otherwise(pid_t tid, int *trap_held, unsigned long long *blocked,
                              int *ns_later) {
    static int have_own;
    static long long own_ids[2];
    static char own_groups[1024];
    static int own_override;
    if (!have_own) {
        int own_trap;
        unsigned long long own_blocked;
        if (creds_of("/proc/self", own_ids, own_groups, sizeof own_groups, &own_override,
                     &own_ns, &own_trap, &own_blocked, NULL) < 0)
            return -1;
        have_own = 1;
    }
    char dir[32], groups[1024];
    long long ids[2];
    int override, access_other;
    unsigned long long ns;
    snprintf(dir, sizeof dir, "/proc/%d", (int)tid);
    if (creds_of(dir, ids, groups, sizeof groups, &override, ns_later ? NULL : &ns,
                 trap_held, blocked, &access_other) < 0)
        return -1;
    if (!ns_later && ns != own_ns) return 1;  /* another user namespace: never the tracer's */
    int other;
    if (access_other)  /* (its access's lookups are Python's: Tracer._fast_arms) */
        other = 1;
    else if (override || own_override)
        other = !(override && own_override);
    else  /* (the kernel lists the groups sorted: the same set, the same text -- or the
           * task's lookups are Python's, which is never wrong) */
        other = !(ids[0] == own_ids[0] && ids[1] == own_ids[1] &&
                  strcmp(groups, own_groups) == 0);
    if (ns_later) *ns_later = !other;
    return other;
}

/* Whether the task is in the tracer's user namespace (searches_otherwise's own_ns, read
 * there first): 1, or 0 (another one, or it cannot be read). */
static int same_user_ns(pid_t tid) {
    char dir[32];
    snprintf(dir, sizeof dir, "/proc/%d", (int)tid);
    unsigned long long ns = user_ns_of(dir);
    return ns != 0 && ns == own_ns;
}

/* The parent of a vfork child armed here was kept in its vfork event's stop (birth): let go
 * now -- the child exec'd or ended (its vfork is done: the parent returns from it at once),
 * or the loop returns to Python, which has it running since that event, as before.
 * Natively the parent sleeps in the kernel until then (wait_for_vfork_done); let go at its
 * event, it woke only to sleep there again, and was woken a second time when the child's
 * exec completed the vfork: one wake-up a shell's command for nothing.  0, or -1 on an
 * error. */
static int let_parent_go(Arm *c) {
    pid_t parent = c->parent_held;
    c->parent_held = 0;
    if (parent && syscall(SYS_ptrace, PT_CONT, parent, 0, 0) < 0 && errno != ESRCH) return -1;
    return 0;
}

/* The scratch area mapped in a task at its exec event, as Tracer._premap_scratch does:
 * MMAP_TRAP_CODE written at the entry point, the mmap's arguments in the registers, the task
 * run to the trap (the injected call's own stops let go), then the code and registers put
 * back (rax: execve's 0).  As Tracer._inject_call runs it: with every signal blocked
 * (PTRACE_SETSIGMASK) but SIGTRAP and the forced ones (FORCED_SIGNALS: left as the task
 * blocks them), the task's own mask (``blocked``, its SigBlk read at this stop) put back at
 * the trap -- a signal sent meanwhile stays queued in the kernel with its siginfo, for its
 * thread, and is delivered once the task goes on, as natively; only one that cannot be
 * blocked comes to a delivery stop, and is kept back and sent again (kill) once the task is
 * as it was.  *mapped: whether the area is there -- 2 sealed too, 1 not (in a run that
 * seals, an area no call is held in: exec_event, Tracer._area_made); *maps: the stops it
 * took.  0, or the wait status of a task that ended meanwhile (>0 with *died), or -1 on an
 * error. */
#define SIGBIT(sig) (1ULL << ((sig) - 1))
#define FORCED_SIGNALS (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | \
                        SIGBIT(SIGSYS))
#define PT_SETSIGMASK 0x420b
static int premap(pid_t tid, int mem, unsigned long long blocked, int *mapped, int *maps,
                  int *died) {
    uint64_t saved[R_WORDS], regs[R_WORDS];
    unsigned char code[sizeof seal_code];
    const unsigned char *run = seal_nr ? seal_code : trap_code;
    size_t run_len = seal_nr ? seal_len : trap_len;
    int pending[32], npending = 0, status = 0;
    *mapped = *died = 0;
    if (syscall(SYS_ptrace, PT_GETREGS, tid, 0, saved) < 0) return errno == ESRCH ? 0 : -1;
    uint64_t rip = saved[16];  /* (user_regs_struct: rip) */
    if (pread(mem, code, run_len, (off_t)rip) != (ssize_t)run_len) return 0;  /* lazily */
    if (pwrite(mem, run, run_len, (off_t)rip) != (ssize_t)run_len) return 0;
    memcpy(regs, saved, sizeof regs);
    regs[R_RAX] = mmap_args[0];
    for (int i = 0; i < 6; i++) regs[ARG_REG[i]] = mmap_args[i + 1];
    int sig = 0, result = 0;
    unsigned long long during = (~FORCED_SIGNALS | (blocked & FORCED_SIGNALS)) & ~SIGBIT(SIGTRAP);
    int masked = 0;
    if (syscall(SYS_ptrace, PT_SETSIGMASK, tid, 8, &during) < 0) goto restore;
    masked = 1;
    if (syscall(SYS_ptrace, PT_SETREGS, tid, 0, regs) < 0) goto restore;
    for (;;) {
        if (syscall(SYS_ptrace, PT_CONT, tid, 0, (long)sig) < 0) break;
        pid_t got;
        while ((got = waitpid(tid, &status, __WALL)) < 0 && errno == EINTR) {}
        if (got < 0) { result = -1; break; }
        (*maps)++;
        if (!WIFSTOPPED(status)) { *died = 1; result = status ? status : 1; break; }
        sig = WSTOPSIG(status);
        int event = status >> 16;
        if (event == 7 || sig == (SIGTRAP | 0x80)) { sig = 0; continue; }  /* (its own stops) */
        if (event == 0 && sig == SIGTRAP) {
            uint64_t at[R_WORDS];
            if (syscall(SYS_ptrace, PT_GETREGS, tid, 0, at) < 0) break;
            if (at[16] == rip + run_len) {
                /* (2: sealed too -- the seal's result in rdx, enforce.map_seal_code) */
                *mapped = at[R_RAX] != mmap_args[1] ? 0 : seal_nr && at[R_RDX] == 0 ? 2 : 1;
                break;
            }
        }
        if (event == 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)) {
            /* the written code itself faulted (an entry point in a page that cannot run:
             * tr_entry.c): give up, as Tracer._run_to_trap does -- the original code put back
             * faults as natively; a kernel-sent fault (si_code > 0) is not passed on */
            int info[32];
            if (syscall(SYS_ptrace, PT_GETSIGINFO, tid, 0, info) == 0 && info[2] > 0) break;
        }
        if (event == 0) {
            int known = 0;
            for (int i = 0; i < npending; i++) known |= pending[i] == sig;
            if (!known && npending < 32) pending[npending++] = sig;
        }
        sig = 0;
    }
restore:
    if (!*died) {
        if (masked) syscall(SYS_ptrace, PT_SETSIGMASK, tid, 8, &blocked);
        saved[R_RAX] = 0;  /* execve's result */
        if (pwrite(mem, code, run_len, (off_t)rip) == (ssize_t)run_len)
            syscall(SYS_ptrace, PT_SETREGS, tid, 0, saved);
    }
    for (int i = 0; i < npending; i++) kill(tid, pending[i]);
    return result;
}

/* The premap without its trap stop (stub_map): the scratch mmap run by a stub of code written
 * into the new image's vDSO -- in the zeros past the end of everything the vDSO's ELF
 * describes (its segments, its sections, its section headers), where nothing reads or runs
 * -- which maps the area, seals it where the run seals (seal_nr: close 24), puts back every
 * register the mmap and the seal used as the exec left it
 * (rax: execve's 0) and jumps to the program's entry, all without a stop: mov, lea and
 * jrcxz change no flag, and the syscall returns with the flags it was made with.  Only when
 * the mmap failed (something there already: an ELF segment; RLIMIT_AS) does the stub stop,
 * at an int3 after the registers are put back; the tracer then sends the task to its entry
 * without the area (stub_stop; Python maps it lazily, at the first call it holds, as after
 * a premap that failed).  So an area is trusted only if its trap never came before the
 * program's first stop -- and the program runs no instruction before the stub has ended.
 * No signal is blocked meanwhile (gap #28's mask is the trap's): after an exec every handler
 * is the default, so a signal that comes while the stub runs does what it does natively at
 * the entry, delivered as any other (pass_signal).  The vDSO is the kernel's one image for
 * every 64-bit process: the tracer's own, read once (vdso_init), and a task's is used only if
 * it is that image -- told by its ELF header (stub_write) -- (a 32-bit program's, or none:
 * premap's trap). */
#define STUB_ROOM 256
static unsigned char own_vdso[16384];
static size_t vdso_size;  /* the tracer's vDSO, whose last STUB_ROOM bytes are unused; 0: no stub */

/* vdso_init's stdio buffer: stdio reads a /proc file 1 KiB at a time (its st_blksize), and
 * the tracer's own maps (~15 KiB, [vdso] near their end) took 15 reads at every start; with
 * this, as many as the kernel's pages of it (4-5: seq_file gives a page a read) -- the
 * native loop's load is on the start's way (Tracer()) */
static char maps_buffer[65536];

static void vdso_init(void) {
    vdso_size = 0;
    uint64_t base = getauxval(AT_SYSINFO_EHDR);
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps) setvbuf(maps, maps_buffer, _IOFBF, sizeof maps_buffer);
    if (!base || !maps) {
        if (maps) fclose(maps);
        return;
    }
    char line[512];
    unsigned long long lo = 0, hi = 0;
    while (fgets(line, sizeof line, maps))
        if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2) break;
    fclose(maps);
    if (lo != base || hi <= lo || hi - lo > sizeof own_vdso) return;
    size_t size = (size_t)(hi - lo);
    memcpy(own_vdso, (const void *)base, size);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)own_vdso;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        eh->e_shentsize != sizeof(Elf64_Shdr))
        return;
    uint64_t end = eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    uint64_t sh_end = eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr);
    if (end > size || sh_end > size) return;
    if (sh_end > end) end = sh_end;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(own_vdso + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_offset + ph[i].p_filesz > end) end = ph[i].p_offset + ph[i].p_filesz;
        if (ph[i].p_vaddr + ph[i].p_memsz > end) end = ph[i].p_vaddr + ph[i].p_memsz;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(own_vdso + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_NOBITS && sh[i].sh_offset + sh[i].sh_size > end)
            end = sh[i].sh_offset + sh[i].sh_size;
        if (sh[i].sh_addr && sh[i].sh_addr + sh[i].sh_size > end)
            end = sh[i].sh_addr + sh[i].sh_size;
    }
    if (end > size - STUB_ROOM) return;
    for (size_t i = size - STUB_ROOM; i < size; i++)
        if (own_vdso[i]) return;
    vdso_size = size;
}

static size_t put_bytes(unsigned char *code, size_t at, const char *bytes, size_t n) {
    memcpy(code + at, bytes, n);
    return at + n;
}

static size_t put_word(unsigned char *code, size_t at, uint64_t value) {
    memcpy(code + at, &value, 8);
    return at + 8;
}

/* The stub in the task's vDSO, its registers set to run it (saved: the task's at its exec
 * event; mem: its /proc/PID/mem).  1: the task will run it (at: the address after its
 * syscall, after its int3, the entry), 0: not here (premap's trap instead: no vDSO, another
 * one, the auxiliary vector beyond the first read), -1: an error. */
static int stub_write(pid_t tid, int mem, uint64_t at_out[3]) {
    uint64_t saved[R_WORDS], regs[R_WORDS], stack[512];
    unsigned char theirs[sizeof(Elf64_Ehdr)];
    if (!vdso_size) return 0;
    if (syscall(SYS_ptrace, PT_GETREGS, tid, 0, saved) < 0) return errno == ESRCH ? 0 : -1;
    /* the vDSO's address: AT_SYSINFO_EHDR, in the auxiliary vector the exec put above argc,
     * argv and envp on the new stack (which nothing but the kernel has written yet) */
    struct iovec local = {stack, sizeof stack};
    struct iovec remote = {(void *)(uintptr_t)saved[R_RSP], sizeof stack};
    ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (got < 8) return 0;
    size_t n = (size_t)got / 8, i = 1 + (size_t)stack[0];
    if (stack[0] >= n || i >= n || stack[i] != 0) return 0;
    for (i++; i < n && stack[i]; i++) {}
    uint64_t base = 0;
    for (i++; i + 1 < n && stack[i] != AT_NULL; i += 2)
        if (stack[i] == AT_SYSINFO_EHDR) base = stack[i + 1];
    if (!base) return 0;
    /* Which of the kernel's images it is, by its ELF header alone: at an exec event (the only
     * place a stub is written: Tracer._on_exec, exec_event) the vDSO at AT_SYSINFO_EHDR was
     * mapped by this exec from the kernel's image for the new program's ABI -- the 64-bit,
     * x32 or 32-bit one (arch_setup_additional_pages, compat_arch_setup_additional_pages) --
     * whose pages every process of that ABI shares, and no instruction of the task has run
     * since.  The three differ in their headers (ELFCLASS64 / ELFCLASS32, EM_X86_64 /
     * EM_386, their sizes and offsets), and the 64-bit one is the image the tracer's own vDSO
     * is (vdso_init read it, and found its last STUB_ROOM bytes unused): so a header equal to
     * the tracer's is that image, every byte of it.  (The 8 KiB compare this replaced told
     * nothing more; a write by another task into the new image is what holding already
     * supposes none makes: docs/security.md, class 2.) */
    if (pread(mem, theirs, sizeof(Elf64_Ehdr), (off_t)base) != (ssize_t)sizeof(Elf64_Ehdr) ||
        memcmp(theirs, own_vdso, sizeof(Elf64_Ehdr)))
        return 0;
    uint64_t at = base + vdso_size - STUB_ROOM;
    unsigned char code[STUB_ROOM];
    size_t k = 0;
    uint32_t nr = (uint32_t)mmap_args[0];
    k = put_bytes(code, k, "\xb8", 1);                      /* mov eax, mmap */
    memcpy(code + k, &nr, 4);
    k += 4;
    k = put_bytes(code, k, "\x0f\x05", 2);                  /* syscall */
    uint64_t sys_end = at + k;
    k = put_bytes(code, k, "\x48\xb9", 2);                  /* movabs rcx, -BASE */
    k = put_word(code, k, (uint64_t)0 - mmap_args[1]);
    k = put_bytes(code, k, "\x48\x8d\x0c\x08", 4);          /* lea rcx, [rax + rcx] */
    if (seal_nr) {
        /* the area mapped (rcx 0): sealed, mseal(BASE, SIZE, 0) -- rdi and rsi are still the
         * mmap's; the prefilter lets it run (Tracer.seals: a stop of it is let go as the
         * mmap's is, decide_call).  rcx is then the seal's result (its low half: 0, or
         * -errno, never 0): a seal that failed goes to the int3 as a failed mmap does, the
         * area mapped but unsealed -- which a run that seals never uses (stub_stop,
         * Tracer._stub_stop: close 25).  No stop where it sealed. */
        k = put_bytes(code, k, "\xe3\x02", 2);              /* jrcxz seal */
        k = put_bytes(code, k, "\xeb\x0e", 2);              /* jmp back (not mapped) */
        k = put_bytes(code, k, "\xb8", 1);                  /* seal: mov eax, mseal */
        memcpy(code + k, &seal_nr, 4);
        k += 4;
        k = put_bytes(code, k, "\xba\x00\x00\x00\x00", 5);  /* mov edx, 0 */
        k = put_bytes(code, k, "\x0f\x05", 2);              /* syscall */
        k = put_bytes(code, k, "\x89\xc1", 2);              /* mov ecx, eax */
    }                                                       /* back: */
    static const struct { const char *op; int reg; } back[] = {
        {"\x48\xb8", R_RAX}, {"\x48\xba", R_RDX}, {"\x48\xbe", R_RSI}, {"\x48\xbf", R_RDI},
        {"\x49\xb8", R_R8}, {"\x49\xb9", R_R9}, {"\x49\xba", R_R10}, {"\x49\xbb", R_R11}};
    for (size_t j = 0; j < sizeof back / sizeof back[0]; j++) {  /* movabs reg, its value */
        k = put_bytes(code, k, back[j].op, 2);
        k = put_word(code, k, back[j].reg == R_RAX ? 0 : saved[back[j].reg]);  /* (execve's 0) */
    }
    k = put_bytes(code, k, "\xe3\x0b", 2);                  /* jrcxz ok (rax was BASE) */
    k = put_bytes(code, k, "\x48\xb9", 2);                  /* movabs rcx, its value */
    k = put_word(code, k, saved[R_RCX]);
    k = put_bytes(code, k, "\xcc", 1);                      /* int3: the mmap failed */
    uint64_t trap_end = at + k;
    k = put_bytes(code, k, "\x48\xb9", 2);                  /* ok: movabs rcx, its value */
    k = put_word(code, k, saved[R_RCX]);
    k = put_bytes(code, k, "\xff\x25\x00\x00\x00\x00", 6);  /* jmp [rip]: the entry */
    k = put_word(code, k, saved[R_RIP]);
    if (pwrite(mem, code, k, (off_t)at) != (ssize_t)k) return 0;
    memcpy(regs, saved, sizeof regs);
    for (int j = 0; j < 6; j++) regs[ARG_REG[j]] = mmap_args[j + 1];
    regs[R_RIP] = at;
    if (syscall(SYS_ptrace, PT_SETREGS, tid, 0, regs) < 0) {
        if (errno != ESRCH) return -1;
        pwrite(mem, own_vdso + (at - base), k, (off_t)at);  /* (it is gone: as it was) */
        return 0;
    }
    at_out[0] = sys_end;
    at_out[1] = trap_end;
    at_out[2] = saved[R_RIP];
    return 1;
}

/* stub_write at an exec event this loop serves: the stub noted in the arm and the exec's
 * note (e->stub_*, for Python while it was not seen to end). */
static int stub_map(Arm *a, Exec *e, int mem) {
    uint64_t at[3];
    int r = stub_write(a->tid, mem, at);
    if (r <= 0) return r;
    e->stub_sys = a->stub_sys = at[0];
    e->stub_trap = a->stub_trap = at[1];
    e->stub_entry = a->stub_entry = at[2];
    a->stub = 1;
    a->stub_exec = (int)(e - execs);
    return 1;
}

/* The ends of stubs Python wrote (an arm's stub_exec -1) that this loop saw, for Python
 * (stubs(): Tracer._fast_notes clears Task.stub), in order with the births and execs. */
#define MAX_STUBS 64
static pid_t stubs_ended[MAX_STUBS];
static long long stub_seq[MAX_STUBS];
static int nstubs;

/* The stub seen to end: the program ran.  0, or -1 when the end of Python's cannot be told
 * (the list is full: the stop is then Python's, which ends it). */
static int stub_done(Arm *a) {
    if (a->stub_exec >= 0) {
        execs[a->stub_exec].stub_sys = execs[a->stub_exec].stub_trap = 0;
    } else {
        if (nstubs == MAX_STUBS) return -1;
        stubs_ended[nstubs] = a->tid;
        stub_seq[nstubs++] = nseq++;
    }
    a->stub = 0;
    return 0;
}

/* Whether the task's scratch area is there, as the stub's mmap makes it: private anonymous
 * read-only (and executable: the trampolines) mappings covering the whole area.  At the
 * stub's int3 it is not -- the mmap
 * failed: an ELF segment (a file's mapping, or its bss: writable) or nothing at all
 * (RLIMIT_AS) is there --, and the program cannot make it without a stop (the filter guards
 * the area).  So an int3 there with the area mapped is the program's own: its calls the
 * prefilter permits make no stop, the stub is still taken for running, and a program may
 * find it in its vDSO and jump to the int3 -- natively a SIGTRAP; taken for the stub's, it
 * was sent to its entry and the area disowned (stub_trap.c).  Covering, not one line of
 * exactly the area: those calls may split its mapping (mlock of a page) or have the kernel
 * merge it with one mapped after it alike (stub_trap.c lock:, grow:).  1 / 0, -1: maps
 * unreadable (the task gone).  (Tracer's _area_mapped reads them alike.) */
static int area_mapped(pid_t tid) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)tid);
    FILE *maps = fopen(path, "re");
    if (!maps) return -1;
    unsigned long long covered = mmap_args[1], end = mmap_args[1] + mmap_args[2];
    while (covered < end && fgets(line, sizeof line, maps)) {
        unsigned long long lo, hi, offset;
        unsigned major, minor;
        unsigned long inode;
        char perms[8];
        if (!strchr(line, '\n'))  /* (a long file name's rest is no line of its own) */
            for (int c = 0; c != '\n' && c != EOF;) c = getc(maps);
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %lu", &lo, &hi, perms, &offset, &major,
                   &minor, &inode) != 7 || hi <= covered)
            continue;
        if (lo > covered || strcmp(perms, "r-xp") || offset || major || minor || inode)
            break;
        covered = hi;
    }
    fclose(maps);
    return covered >= end;
}

/* Whether the mapping at the area's base is sealed: "sl" among its VmFlags in
 * /proc/PID/smaps (mseal, Linux 6.10).  At the stub's int3 with the area mapped in a run
 * that seals, the stub's seal failed -- or the int3 is the program's own, run after the stub
 * had mapped and sealed the area (stub_trap.c): a seal is never undone, and a split (mlock)
 * keeps it on both parts.  A header line begins with the range in lower-case hex, a field
 * line with its capitalized name (a file's name, escaped by the kernel, ends a header).  1 /
 * 0, -1: smaps unreadable (the task gone).  (Tracer's _area_sealed reads them alike.) */
static int area_sealed(pid_t tid) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/smaps", (int)tid);
    FILE *smaps = fopen(path, "re");
    if (!smaps) return -1;
    int inside = 0, sealed = 0, whole = 1;
    while (fgets(line, sizeof line, smaps)) {
        int head = whole;  /* (the rest of a long line is none of its own) */
        whole = strchr(line, '\n') != NULL;
        if (!head) continue;
        unsigned long long lo, hi;
        if (((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) &&
            sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
            inside = lo <= mmap_args[1] && mmap_args[1] < hi;
        } else if (inside && !strncmp(line, "VmFlags:", 8)) {
            for (char *f = strstr(line, " sl"); f; f = strstr(f + 1, " sl"))
                sealed |= f[3] == ' ' || f[3] == '\n' || !f[3];
            break;
        }
    }
    fclose(smaps);
    return sealed;
}

/* A stop of a task whose stub was not seen to end.  1: the stub's own, served: its trap (the
 * mmap failed: the task sent to its entry, with no area -- Python's from now on; or the seal
 * failed: sent there too, the area mapped but never used, close 25); 0: not the stub's (a
 * stop that only the program can make -- any event -- ends it; a signal may come inside the
 * stub: delivered as any); -1: an error.  (Its mmap's seccomp stop, when a filter traces
 * mmap: decide_call.) */
static int stub_stop(Arm *a, int status) {
    if (!WIFSTOPPED(status) || status == SECCOMP_STOP) return 0;
    int event = status >> 16;
    if (event == 0 && WSTOPSIG(status) == SIGTRAP) {
        uint64_t regs[R_WORDS];
        if (syscall(SYS_ptrace, PT_GETREGS, a->tid, 0, regs) < 0) return errno == ESRCH ? 0 : -1;
        if (regs[R_RIP] != a->stub_trap) return 0;
        if (a->stub_exec < 0) return 0;  /* (Python's stub: its trap is Python's, _stub_stop) */
        int mapped = area_mapped(a->tid) != 0;
        if (mapped && (!seal_nr || area_sealed(a->tid) != 0)) {
            stub_done(a);  /* (the program's own int3: the mmap and its seal did not fail) */
            return 0;
        }
        Exec *e = &execs[a->stub_exec];
        regs[R_RIP] = a->stub_entry;
        if (syscall(SYS_ptrace, PT_SETREGS, a->tid, 0, regs) < 0) return errno == ESRCH ? 0 : -1;
        /* (mapped: the seal failed -- an area Python takes as one it could not seal, 1 in a
         * run that seals: Tracer._area_made) */
        e->scratch = mapped;
        e->maps++;
        stub_done(a);
        a->slot = 0;
        a->off = 1;  /* (Python maps it, at the first call it holds) */
        if (syscall(SYS_ptrace, PT_CONT, a->tid, 0, 0) < 0 && errno != ESRCH) return -1;
        return 1;
    }
    if (event != 0 && event != EVENT_STOP && stub_done(a) < 0) return 2;
    return 0;
}

/* At the exec event of an armed task whose exec exec_entry let go: what Tracer._on_exec does
 * before its bookkeeping -- the task is the one that exec'd (not another thread of it), what
 * runs is what was checked (/proc/PID/exe), no protection keys -- then the scratch area
 * mapped where Python maps it at once (a vfork child: its parent runs again beside it), the
 * arm switched to its table after the exec and its new image, and the task let go; Python
 * catches up from execs().  1: done, 0: Python's (nothing changed), -1: an error; >1: the
 * task ended while the area was mapped (*status). */
/* Whether the task has an execute-only mapping ("--x" in /proc/PID/maps), as
 * pkeys.exec_only_mapped: after an exec, the image's (or its interpreter's) execute-only
 * segments, which the kernel mapped with its execute-only protection key and no call the
 * filter sees.  Reads through /proc/PID/mem ignore keys, so such a space is Python's (its
 * reads obey the keys); every later call that may key a mapping stops and is Python's
 * (cloop.WHOLE_CALLS leaves seccomp.KEYS out).  1 also when the maps cannot be read (the
 * exec event is then Python's, which looks again): fail closed.  (The vsyscall page, "--x"
 * too, lies above user memory: no mapping of the process.) */
static int exec_only_mapped(pid_t tid) {
    char path[64], line[512], buffer[16384];  /* (buffer: closed before it goes) */
    snprintf(path, sizeof path, "/proc/%d/maps", (int)tid);
    FILE *maps = fopen(path, "re");
    if (!maps) return 1;
    /* A buffer of our own, before the first read: stdio would fstat the file to size one
     * (st_blksize: 1 KiB for procfs) and read a new image's ~1.3 KiB of maps in three reads;
     * here one read takes it all (procfs gives up to a page a read) and a second says its
     * end (4 calls an exec, not 6).  The lines read are the same: fgets over whatever the
     * reads return, to the end. */
    if (setvbuf(maps, buffer, _IOFBF, sizeof buffer) != 0) { fclose(maps); return 1; }
    int found = 0, whole = 1;
    while (!found && fgets(line, sizeof line, maps)) {
        if (!whole) {  /* (the rest of a line longer than the buffer: a long path) */
            whole = strchr(line, '\n') != NULL;
            continue;
        }
        whole = strchr(line, '\n') != NULL;
        char *end;
        unsigned long long start = strtoull(line, &end, 16);
        if (*end != '-') { found = 1; break; }  /* (not the format known: fail closed) */
        char *perms = strchr(end, ' ');
        if (!perms) { found = 1; break; }
        if (strncmp(perms + 1, "--x", 3) == 0 && start < 1ULL << 63) found = 1;
    }
    if (ferror(maps)) found = 1;
    fclose(maps);
    return found;
}

static int exec_event(Arm *a, int *status) {
    Exec *e = &execs[a->pending - 1];
    unsigned long former = 0;
    struct stat st;
    char name[64];
    if (syscall(SYS_ptrace, PT_GETEVENTMSG, a->tid, 0, &former) < 0)
        return errno == ESRCH ? 0 : -1;
    if ((pid_t)former != a->tid) return 0;
    snprintf(name, sizeof name, "/proc/%d/exe", (int)a->tid);
    if (stat(name, &st) < 0 || st.st_dev != e->dev || st.st_ino != e->ino) return 0;
    if (keyed_images && exec_only_mapped(a->tid)) return 0;  /* (a keyed space: Python's) */
    int trap_held, ns_later = 0;
    unsigned long long blocked;
    int other = searches_otherwise(a->tid, &trap_held, &blocked, &ns_later);
    if (other < 0) return 0;
    int mem = -1, mapped = 0, died = 0;
    /* (a task that ignores or blocks SIGTRAP is not premapped: the trap's forced SIGTRAP
     * would reset it to SIG_DFL for good -- Tracer._premap_scratch; the lazy way maps it) */
    if (a->vfork_only) {
        snprintf(name, sizeof name, "/proc/%d/mem", (int)a->tid);
        mem = open(name, O_RDWR | O_CLOEXEC);
        if (mem < 0) return 0;
        int r = 0;
        if (!trap_held) {
            int stubbed = stub_map(a, e, mem);
            if (stubbed > 0) mapped = seal_nr ? 2 : 1;  /* (unless its trap comes: stub_stop) */
            else r = stubbed < 0 ? -1 : premap(a->tid, mem, blocked, &mapped, &e->maps, &died);
        }
        if (r < 0) { close(mem); return -1; }
        if (died) {
            close(mem);
            if (let_parent_go(a) < 0) return -1;
            e->served = 1;
            a->pending = 0;
            a->off = 1;
            *status = r;
            return 2;
        }
    }
    e->served = 1;
    e->scratch = mapped;
    a->pending = 0;
    a->spare = 0;  /* (a slot of the former image's area) */
    if (a->maps_fd >= 0) { close(a->maps_fd); a->maps_fd = -1; }  /* (the former image's) */
    if (solo_arm >= 0 && a == &arms[solo_arm]) solo_spare = 0;
    a->plan = a->next;
    a->stale = 1;  /* (Python's state of it is the former image's until the run returns) */
    a->own_search = other;
    a->rn = 0;  /* (a new image shares no pages) */
    if (a->vfork_only) {
        a->vfork_only = 0;
        a->mem_fd = a->own_fd = mem;
        a->keep_start = 1;  /* (exec gives it a descriptor table of its own) */
        /* slot 0 of its new area -- where a run that seals sealed it (a seal that failed:
         * Python's, which holds no call there, Tracer._area_made: close 25) */
        if (mapped == (seal_nr ? 2 : 1)) a->slot = (uint64_t)mmap_args[1];
        else a->off = 1;  /* (Python maps it, at the first call it holds) */
    }
    if (syscall(SYS_ptrace, PT_CONT, a->tid, 0, 0) < 0 && errno != ESRCH) return -1;
    /* Its user namespace is read once it runs (~10 us of /proc lookups a command, the
     * namespace's magic link, off the path its next stop waits on).  This loop alone reads
     * own_search, at the task's next stop, which it serves after this returns: the value
     * is in place before anything uses it.  Meanwhile the task may change namespaces only
     * by a call of its own (unshare, setns: the event's reading missed such a change just
     * as it would a later one), and the value read then is the newer; a task another
     * namespace's, gone or unreadable searches otherwise (its lookups Python's, never
     * wrong).  Its ids, groups and capabilities stay read at the stop (searches_otherwise),
     * where the stub's choice needs its signal masks.
     * Not read at all for a vfork child armed at its birth in this run whose parent searched
     * as the tracer (tracers_ns): a task in another user namespace never does
     * (searches_otherwise; paths.Credentials.searches_as, by which Python arms), a vfork
     * makes no namespace (the child is in its parent's), an exec changes none, and the
     * calls that enter another -- unshare, setns (syscalls.CHANGES_CREDENTIALS) -- always
     * stop and are never this loop's (cloop.WHOLE_CALLS leaves them out), so the child made
     * none: its first stop served by Python would have ended this run, and an arm built by
     * Python anew is no vfork child of this run.  A command of a shell's loop: one stat of
     * /proc/PID/ns/user less (~10 us of the tracer, /proc making that entry for the new
     * task). */
    if (ns_later && !a->tracers_ns && !same_user_ns(a->tid)) a->own_search = 1;
    a->tracers_ns = 0;
    return let_parent_go(a) < 0 ? -1 : 1;
}

/* 1: handled (the task runs again), 0: hand it to Python (*why says how), -1: an error */
static int decide_call(Arm *a, int *why) {
    PlanObject *plan = a->plan;
    pid_t tid = a->tid;
    int may_refuse = a->may_refuse;
    struct call info;
    *why = WHY_PYTHON;
    if (syscall(SYS_ptrace, PT_GETREGS, tid, 0, info.regs) < 0) return 0;
    info.nr = info.regs[R_ORIG_RAX];  /* (all 64 bits: garbage above the int is Python's) */
    if (info.nr >= MAX_NR) return 0;
    for (int i = 0; i < 6; i++) info.args[i] = info.regs[ARG_REG[i]];
    uint64_t slot = returning(info.regs[R_RIP]);
    if (slot && info.nr != NR_RESTART_SYSCALL) {
        /* a held call the kernel restarted from its trampoline's `syscall` (with the copies):
         * skipped, the program's own call made again from its own instruction, decided anew
         * (Tracer._own_back) */
        int back = put_back(tid, a->mem_fd, info.regs, slot, 1);
        if (back < 0) return -1;
        if (back == 0) return 0;
        if (syscall(SYS_ptrace, PT_CONT, tid, 0, 0) < 0 && errno != ESRCH) return -1;
        return 1;
    }
    if (a->stub) {
        /* the stub's own mmap, where a filter traces mmap: let go, as premap lets its go
         * (the program may have run -- calls the prefilter permits make no stop -- but the
         * same mmap made there by it maps nothing but the area, or fails EEXIST on it) */
        int own = info.regs[R_RIP] == a->stub_sys && info.nr == mmap_args[0];
        for (int i = 0; i < 6; i++) own = own && info.args[i] == mmap_args[i + 1];
        /* and its seal, where a rule stops mseal (close 24): made between the mmap and the
         * trap, on the area and nothing else -- the same seal, were the program to jump
         * there itself -- so never a question of the policy's */
        own = own || (seal_nr && info.regs[R_RIP] > a->stub_sys && info.regs[R_RIP] < a->stub_trap
                      && info.nr == seal_nr && info.args[0] == area_base
                      && info.args[1] == area_size && info.args[2] == 0);
        if (own) {
            if (a->stub_exec >= 0) execs[a->stub_exec].maps++;
            if (syscall(SYS_ptrace, PT_CONT, tid, 0, 0) < 0 && errno != ESRCH) return -1;
            return 1;
        }
        if (stub_done(a) < 0) return 0;  /* the program's first call (Python's: see stub_done) */
    }
    if (plan->nrequests && info.nr == (uint64_t)plan->request_nr) {
        /* (the kernel reads the request as an unsigned int: the register's high half is
         * not looked at, as Python's selector masks it) */
        uint32_t request = (uint32_t)info.args[1];
        for (int i = 0; i < plan->nrequests; i++) {
            if (plan->requests[i] != request) continue;
            if (plan->request_action[i] == W_PERMIT) goto cont;
            if (!may_refuse) return 0;
            return refuse(tid, plan->request_err[i], &refused_total);
        }
        return 0;
    }
    if (plan->whole[info.nr] == W_PERMIT) goto cont;
    if (plan->whole[info.nr] == W_NEVER) {
        if (!may_refuse) return 0;
        return refuse(tid, plan->whole_err[info.nr], &refused_total);
    }
    if (!plan->shapes[info.nr]) return 0;
    Shape *s = plan->shapes[info.nr];
    if (a->slot && s->freeze) return 0;  /* the others must be stopped: Python's */
    /* (every key argument is a flags int: the kernel ignores the register's high half) */
    uint64_t key = s->key_arg >= 0 ? (uint32_t)info.args[s->key_arg] : 0;
    Variant *v = NULL;
    for (Py_ssize_t i = 0; i < s->n; i++)
        if (s->variants[i].key == key) { v = &s->variants[i]; break; }
    if (!v) {
        *why = s->n < MAX_VARIANTS ? WHY_VARIANT : WHY_PYTHON;  /* (full: not learned) */
        return 0;
    }
    if (v->python) return 0;
    /* every path is on a file system a process answers ("/": an unreadable mount table, or
     * a FUSE server in the tree, whose answer to the loop's own lookup may wait for a stop
     * the loop would never take -- fuse47): Python's, before any lookup */
    if (answered_everywhere()) return 0;

    char raw[MAX_RAW + 1];
    /* a NULL path is Python's: some calls take it for their dirfd (Path.null), the others
     * read address 0 as any other (red team 31) */
    if (info.args[s->path_arg] == 0) return 0;
    ssize_t rlen = read_string(tid, info.args[s->path_arg], raw, sizeof raw);
    if (rlen < 0) return 0;  /* unreadable or too long: Python's errors */
    uint64_t addr = info.args[s->path_arg], end = addr + (uint64_t)rlen + 1;
    for (int i = a->r0; i < a->r0 + a->rn; i++)
        if (shared_start[i] < end && addr < shared_end[i]) return 0;  /* Python holds it */
    /* alone, nothing is held: a path in a kernel's ring is Python's, which holds it */
    if (a->alone && !a->slot && in_kernel_ring(&a->maps_fd, tid, addr, end)) return 0;
    for (ssize_t i = 0; i < rlen; i++)
        if ((unsigned char)raw[i] >= 0x80) return 0;  /* (surrogateescape: Python's) */
    int dirfd = s->dirfd_arg >= 0 ? (int)(uint32_t)info.args[s->dirfd_arg] : AT_FDCWD_;
    char candidate[2 * MAX_RAW + 64];
    char path[sizeof candidate];
    size_t len;
    int missing = 0;  /* the last name is not there (paths.py _fast_missing) */
    int settle = 0;   /* ... and missing_name was not asked which one (a permit needs not) */
    int direct = 0;   /* reached through no symlink (Resolved.direct) */
    int stands_checked = 0;  /* the object was looked at (stands_in) */
    char start[MAX_RAW + 1];  /* a relative spelling's start directory (Resolved.start) */
    size_t slen = 0;
    int has_start = 0;
    if (rlen == 0) {
        if (s->exec) return 0;  /* (ENOENT: Python's) */
        /* AT_EMPTY_PATH: the descriptor call it stands for (decode.policy_name), permitted
         * by the table; held below */
        if (v->empty_fd == E_PERMIT) { len = 0; path[0] = 0; goto permit; }
        /* ... or the descriptor's own file, by its /proc name (paths.py descriptor) */
        if (v->empty_fd != E_PATH) return 0;  /* ENOENT, a descriptor call refused: Python's */
        ssize_t n = start_dir(tid, dirfd, path);
        if (n < 0 || strstr(path, "/proc")) return 0;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)path[i] >= 0x80) return 0;
        len = (size_t)n;
        goto decide;  /* (its "" held below) */
    }
    /* a trailing slash: Python's (the kernel then follows the last name, and wants a
     * directory).  A last "." or ".." the call does not follow is decided on the name it
     * reaches, as Python does (Resolved.literal_last matters only to holding). */
    if (raw[rlen - 1] == '/') return 0;
    /* what a lookup passes through is decided too where a rule refuses a stat or a readlink
     * (Supervisor._traversal): a spelling that climbs ".." is Python's then */
    if (!v->walks && climbs(raw)) return 0;

    if (raw[0] == '/') {
        memcpy(candidate, raw, (size_t)rlen + 1);
    } else {
        ssize_t blen = start_dir(tid, dirfd, candidate);
        if (blen < 0) return 0;
        while (blen > 0 && candidate[blen - 1] == '/') blen--;  /* _join: rstrip("/") */
        if ((size_t)blen > MAX_RAW) return 0;
        memcpy(start, candidate, (size_t)blen);
        start[blen] = 0;
        slen = (size_t)blen;
        has_start = 1;
        candidate[blen++] = '/';
        memcpy(candidate + blen, raw, (size_t)rlen + 1);
    }
    if (strstr(candidate, "/proc")) return 0;  /* /proc, /proc/self: the walk's */
    struct open_how_ how = {O_PATH | O_CLOEXEC | (v->follow ? 0 : O_NOFOLLOW), 0,
                            RESOLVE_NO_SYMLINKS_};
    long fd = syscall(SYS_openat2, AT_FDCWD_, candidate, &how, sizeof how);
    if (fd >= 0) {
        struct stat st;
        if (fstat((int)fd, &st) < 0 || stands_in(&st)) {
            close((int)fd);
            return 0;  /* (a terminal standing for another: Python's) */
        }
        stands_checked = 1;
        if (s->exec) resolved_fd = (int)fd;
        else close((int)fd);
        lexical(candidate, path);
        direct = 1;
    } else if (errno == ENOENT && !s->exec && !a->own_search && !dotted(raw)) {
        /* a name is missing, and the lookup passed through no symlink up to it.  With no "."
         * or ".." in the spelling, its name is the lexical form, whichever directory is
         * missing (the one _fast_missing and the walk's "unreachable" name give), and the
         * spelling reaches it from its start through no symlink (direct).  Which name is
         * missing matters to a refusal only (its errno): missing_name is asked then
         * (settle), not for the permits of a header search. */
        lexical(candidate, path);
        missing = 1;
        direct = 1;
        settle = 1;
    } else if (errno == ENOENT) {
        int how_missing = missing_name(candidate, path, 0);
        if (how_missing < 0) return 0;  /* (Python's walk) */
        missing = 1;
        direct = how_missing < 2;
    } else if (errno != ELOOP || !v->walks
               || through_symlinks(candidate, how.flags, path, s->exec) < 0) {
        return 0;  /* a magic link, a loop, a missing name past a symlink...: Python's */
    }
    len = strlen(path);
    if (len >= MAX_RAW) return 0;
    /* through a symlink, "." or "..": the tracer's lookup looked in directories the task's
     * may not search (the canonical spelling, held, would not look there) */
    if (a->own_search && (!direct || dotted(raw))) return 0;

decide:
    /* (a FUSE server's: Python holds it) */
    if (answered_path(path, len, rlen > 0 && (!direct || dotted(raw)))) return 0;
    /* (a terminal standing for another: Python decides it by that one's name too) */
    if (!missing && !stands_checked && stands_for_terminal(path)) return 0;
    for (Py_ssize_t i = 0; i < v->n; i++) {
        int err = 0, missing_err = 0;
        int action = decide_check(&v->checks[i], path, len, &err, &missing_err);
        if (action < 0) return -1;  /* a glob's match raised what ends the run */
        if (action == A_PERMIT) continue;
        if (settle) {  /* (its name is the same: the checks before permitted it again) */
            settle = 0;
            int how_missing = missing_name(candidate, path, 0);
            if (how_missing < 0) return 0;  /* (Python's walk) */
            direct = how_missing < 2;
            len = strlen(path);
            goto decide;
        }
        /* (a task whose search permission is not the tracer's may not reach the path at
         * all: its lookup's EACCES, Python's) */
        if (action != A_NEVER || !may_refuse || a->own_search) return 0;
        if (missing) {
            /* a refusal of a missing path answers ENOENT or not, by the rule and the call
             * (Table.refusal_errno, compiled by cloop.variant): an execvp trying each
             * directory of PATH, a header search -- the search goes on */
            if (!missing_err) return 0;
            /* (the rule's own errno: a refusal as any, Supervisor._missing) */
            return refuse(tid, missing_err,
                          missing_err == err ? &refused_total : &answered_total);
        }
        if (s->exec) return 0;
        return refuse(tid, err, &refused_total);
    }
    if (s->exec) return exec_entry(a, &info, raw, (size_t)rlen, path, len, missing);
permit:
    if (a->slot) {
        /* an empty path is held too (enforce.Holder._empty_path): a sibling writing a path
         * into it after the check would have the kernel look that path up */
        int held = rlen > 0 ? hold(a, s, v, &info, raw, (size_t)rlen, path, len, direct,
                                   has_start ? start : NULL, slen)
                            : hold_empty(a, s, &info);
        if (held == 0) return 0;
        if (held < 0) return errno == ESRCH ? 1 : -1;
    }
cont:
    if (syscall(SYS_ptrace, PT_CONT, tid, 0, 0) < 0 && errno != ESRCH) return -1;
    permitted_total++;
    return 1;
}

/* decide_call, and the descriptor its resolution kept for an exec (resolved_fd) closed. */
static int decide(Arm *a, int *why) {
    int done = decide_call(a, why);
    if (resolved_fd >= 0) {
        close(resolved_fd);
        resolved_fd = -1;
    }
    return done;
}

/* A signal-delivery-stop (not a ptrace event, not a syscall stop, not SIGTRAP, which a
 * tracer's own trap may be), of a signal that does not stop the task (a stop signal's
 * group-stop is Python's: PTRACE_LISTEN). */
static int is_signal_stop(int status) {
    if (!WIFSTOPPED(status) || (status >> 16) != 0) return 0;
    int sig = WSTOPSIG(status);
    return sig != SIGTRAP && sig != (SIGTRAP | 0x80) && sig != SIGSTOP && sig != SIGTSTP &&
           sig != SIGTTIN && sig != SIGTTOU;
}

/* At an armed task's signal-delivery-stop: the signal delivered as it came (PTRACE_CONT with
 * it), as Tracer._on_signal does -- unless the task stopped on its way out of a call that
 * failed with EINTR, which Python may restart (Tracer._eintr_call): then 0, Python's.  1:
 * passed on, -1: an error. */
static int pass_signal(pid_t tid, int mem, int sig) {
    uint64_t regs[R_WORDS];
    if (syscall(SYS_ptrace, PT_GETREGS, tid, 0, regs) < 0) return errno == ESRCH ? 1 : -1;
    /* on its way through a held call's trampoline: its own registers first (a handler sees
     * its own frame; a call the handler holds cannot write over a trampoline to run) */
    uint64_t slot = returning(regs[R_RIP]);
    if (slot) {
        int back = put_back(tid, mem, regs, slot, 0);
        if (back < 0) return -1;
        if (back == 0) return 0;  /* (Python's) */
    }
    if (regs[R_RAX] == (uint64_t)(int64_t)-EINTR) return 0;
    if (syscall(SYS_ptrace, PT_CONT, tid, 0, (long)sig) < 0 && errno != ESRCH) return -1;
    signals_total++;
    return 1;
}

/* Whether the new task shares its parent's memory and nothing else -- not its fs context,
 * not its descriptor table -- as the kernel says (kcmp, as tracee.shared_with asks it): 1,
 * 0, or -1 when it cannot tell. */
static int shares_memory_only(pid_t parent, pid_t child) {
    long vm = syscall(SYS_kcmp, parent, child, KCMP_VM_, 0, 0);
    long fs = syscall(SYS_kcmp, parent, child, KCMP_FS_, 0, 0);
    long files = syscall(SYS_kcmp, parent, child, KCMP_FILES_, 0, 0);
    if (vm < 0 || fs < 0 || files < 0) return -1;
    return vm == 0 && fs != 0 && files != 0;
}

/* Whether the clone or clone3 call that made a child (its vfork event) is a vfork by
 * another name -- glibc's posix_spawn: clone3 (or clone) with CLONE_VM | CLONE_VFORK, a
 * stack of its own, and no other flag: no thread, no namespace, no shared fs context or
 * descriptor table, no pidfd, no cgroup -- by its flags (clone's register; clone3's as
 * Python checked them at its stop, Task.clone3_flags: in memory, they may have changed
 * since) and by the kernel's word on what the child shares (kcmp).  1, 0: Python's, -1: an
 * error. */
static int vfork_like(const Arm *a, const uint64_t *regs, pid_t child) {
    uint64_t flags;
    if (regs[R_ORIG_RAX] == NR_CLONE)
        flags = regs[R_RDI] & ~(uint64_t)CSIGNAL_;  /* (the exit signal) */
    else if (regs[R_ORIG_RAX] == NR_CLONE3 && a->clone3_flags >= 0)
        flags = (uint64_t)a->clone3_flags;
    else
        return 0;
    if (flags != (CLONE_VM_ | CLONE_VFORK_)) return 0;
    return shares_memory_only(a->tid, child) == 1;
}

/* An arm for a child born in this run: the arm of one that ended in it (end_of: its tid 0,
 * its parent let go, its descriptor closed), or a new one -- a shell's loop of commands, each
 * a vfork child that ends, needs two arms however long the run, not one a command (the run
 * returned to Python at the 63rd, which then served that command's exec itself). */
static Arm *free_arm(void) {
    for (int i = 0; i < narms; i++)
        if (!arms[i].tid && !arms[i].parent_held && arms[i].own_fd < 0) return &arms[i];
    return narms < MAX_ARMS ? &arms[narms++] : NULL;
}

/* At an armed task's fork or vfork event: a child made by the fork or vfork call itself
 * (whose flags the kernel fixes: no descriptor table or fs context shared, vfork's memory),
 * or by a clone or clone3 that is a vfork (vfork_like); another clone's or clone3's are
 * Python's.  It is noted for Python, and the parent let go.  A parent that was alone is
 * served by Python from now on (its calls must be held now).  1: noted, 0: Python's, -1: an
 * error. */
static int birth(Arm *a) {
    uint64_t regs[R_WORDS];
    unsigned long child = 0;
    if (nbirths == MAX_BIRTHS) return 0;
    if (syscall(SYS_ptrace, PT_GETREGS, a->tid, 0, regs) < 0) return errno == ESRCH ? 0 : -1;
    uint64_t nr = regs[R_ORIG_RAX];
    if (nr != NR_FORK && nr != NR_VFORK && nr != NR_CLONE && nr != NR_CLONE3) return 0;
    if (syscall(SYS_ptrace, PT_GETEVENTMSG, a->tid, 0, &child) < 0)
        return errno == ESRCH ? 0 : -1;
    if (child == 0) return 0;
    /* (a clone's event: a vfork event -- serve() hands the others back -- of a vfork by
     * another name, or Python's) */
    if ((nr == NR_CLONE || nr == NR_CLONE3) && vfork_like(a, regs, (pid_t)child) != 1) return 0;
    int vfork = nr != NR_FORK, kept_stopped = 0;
    birth_seq[nbirths] = nseq++;
    Birth *b = &births[nbirths++];
    *b = (Birth){a->tid, (pid_t)child, (int)nr, 0, 0, 0, 0};
    uint64_t at = regs[R_RDI] - CLONE_ARGS_OFF;
    if (nr == NR_CLONE3 && area_slot && at >= area_base && at < area_base + area_size
        && (at - area_base) % area_slot == 0) {
        /* held (Python's): the parent's own rdi, from the record its hold left, back in the
         * parent, and for the child at its first stop (Tracer._own_birth) */
        uint64_t rec[8];
        if (pread(a->mem_fd, rec, sizeof rec, (off_t)(at + RECORD_OFF)) == (ssize_t)sizeof rec
            && rec[0] == NR_CLONE3 && rec[7] == regs[R_RIP]) {
            if (poke(a->tid, R_RDI * 8, (long)rec[1]) == 0) {  /* (else gone: its end comes) */
                b->own_rdi_set = 1;
                b->own_rdi = rec[1];
            }
        }
    }
    if (tree_size) tree_size++;
    if (a->alone) a->off = 1;
    a->vfork_only = 0;  /* (its child runs beside it: its exec must stop it, in Python) */
    a->clone3_flags = -1;  /* (told: a later clone3 is checked anew) */
    Arm *c = a->spare && vfork ? free_arm() : NULL;
    if (c) {
        /* its child shares its memory, and nothing else runs while it does: armed, held in
         * the spare slot (Tracer._fast_notes gives it that slot) */
        memset(c, 0, sizeof *c);
        c->tid = (pid_t)child;
        c->plan = a->plan;
        c->may_refuse = a->may_refuse;
        c->mem_fd = a->mem_fd;
        c->own_fd = -1;
        c->maps_fd = -1;
        c->slot = a->spare;
        c->keep_start = 1;  /* (a vfork shares no cwd, no descriptor table) */
        c->own_search = a->own_search;
        c->tracers_ns = !a->own_search;  /* (searching as the tracer: in its namespace) */
        c->vfork_only = 1;
        c->state_of = a->state_of;
        c->stale = a->stale;
        c->clone3_flags = -1;
        c->parent_held = a->tid;  /* (the parent goes on at the child's exec or end) */
        kept_stopped = 1;
        a->spare = 0;
    }
    for (int i = 0; i < nearly; i++) {
        if (earlies[i].tid != b->child) continue;
        /* its first stop came before this event (early_stop): let go now, as first_stop */
        if (b->own_rdi_set && poke(b->child, R_RDI * 8, (long)b->own_rdi) < 0 && errno != ESRCH)
            return -1;
        if (syscall(SYS_ptrace, PT_CONT, b->child, 0, 0) < 0 && errno != ESRCH) return -1;
        b->started = 1;
        earlies[i] = earlies[--nearly];  /* (the others keep their seq: notes() sorts) */
        break;
    }
    if (kept_stopped) return 1;  /* (let_parent_go) */
    if (syscall(SYS_ptrace, PT_CONT, a->tid, 0, 0) < 0 && errno != ESRCH) return -1;
    return 1;
}

/* The first stop (PTRACE_EVENT_STOP, SIGTRAP) of a child birth() noted: let go, as
 * Tracer._on_stop_event does.  1: done, 0: not such a child (Python's), -1: an error. */
static int first_stop(pid_t pid) {
    for (int i = 0; i < nbirths; i++) {
        if (births[i].child != pid || births[i].started) continue;
        if (births[i].own_rdi_set && poke(pid, R_RDI * 8, (long)births[i].own_rdi) < 0
            && errno != ESRCH)
            return -1;
        if (syscall(SYS_ptrace, PT_CONT, pid, 0, 0) < 0 && errno != ESRCH) return -1;
        births[i].started = 1;
        return 1;
    }
    return 0;
}

/* The parent the kernel names for a task (/proc/PID/stat's ppid); 0 when it cannot be read. */
static pid_t parent_of(pid_t pid) {
    char buf[512];
    if (!proc_text(pid, "stat", buf, sizeof buf)) return 0;
    char *name_end = strrchr(buf, ')');
    int ppid;
    if (!name_end || sscanf(name_end + 1, " %*c %d", &ppid) != 1) return 0;
    return (pid_t)ppid;
}

/* A PTRACE_EVENT_STOP that first_stop() did not take: kept (in earlies) when it is the
 * first stop of a task nobody told the loop of -- no arm, no birth noted, no task Python
 * has -- and its parent, as the kernel names it, is a task this loop knows lives (one Python
 * has: their ends are Python's; a child born here that has not ended).  Otherwise its maker
 * may have died at its event stop, the event never to come, while the loop sleeps on: Python
 * decides it (Tracer._kill_orphans_of_dead_creators), as it does when such a parent ends
 * (end_of leaves ends to Python while a stop is kept).  1: kept, 0: Python's (a known
 * task's, an unknown parent's, or the table is full). */
static int early_stop(pid_t pid, int status) {
    if (!keeps_early || nearly == MAX_EARLY) return 0;
    for (int i = 0; i < narms; i++)
        if (arms[i].tid == pid) return 0;
    for (int i = 0; i < nbirths; i++)
        if (births[i].child == pid) return 0;
    for (int i = 0; i < nknown; i++)
        if (known[i] == pid) return 0;
    pid_t parent = parent_of(pid);
    int lives = 0;
    for (int i = 0; i < nknown && !lives; i++)
        lives = parent && known[i] == parent;
    for (int i = 0; i < nbirths && !lives; i++)
        lives = parent && births[i].child == parent && !births[i].gone;
    if (!lives) return 0;
    earlies[nearly++] = (Early){nseq++, pid, status};
    return 1;
}

/* The end (an exit status) of a child birth() noted that started: noted for Python, its arm
 * forgotten (its pid may come again), and the task that was alone armed so again once the
 * tree is that task alone.  1: noted, 0: Python's, -1: an error. */
static int end_of(pid_t pid, int status) {
    if (!tree_size || nends == MAX_ENDS || nearly) return 0;  /* (a kept stop: early_stop) */
    int i;
    for (i = 0; i < nbirths; i++)
        if (births[i].child == pid && births[i].started && !births[i].gone) break;
    if (i == nbirths) return 0;
    births[i].gone = 1;
    for (int j = 0; j < narms; j++)
        if (arms[j].tid == pid) {
            if (let_parent_go(&arms[j]) < 0) return -1;
            arms[j].tid = 0;
            arms[j].off = 1;
            if (arms[j].own_fd >= 0) close(arms[j].own_fd);  /* (its /proc/PID/mem: gone) */
            if (arms[j].maps_fd >= 0) close(arms[j].maps_fd);
            arms[j].maps_fd = -1;
            arms[j].own_fd = arms[j].mem_fd = -1;  /* (free_arm may give it anew) */
        }
    for (int m = 0; m < nhook_memo;)  /* (its answers: not for a task given its tid next) */
        if (hook_memo[m].tid == pid) hook_memo[m] = hook_memo[--nhook_memo];
        else m++;
    End *e = &ends[nends++];
    e->seq = nseq++;
    e->tid = pid;
    e->status = status;
    e->rearmed = 0;
    e->spare = 0;
    if (--tree_size == 1) {
        Arm *a = &arms[solo_arm];
        if (a->tid && a->off && !a->pending) {
            a->off = 0;
            a->spare = a->mem_fd >= 0 ? solo_spare : 0;
            e->rearmed = a->tid;
            e->spare = a->spare;
        }
    }
    return 1;
}

/* ends() -> [(tid, status, rearmed, spare, order)]: the ends of children noted since the last
 * call (Tracer._fast_notes: _gone); rearmed: the task armed alone again after it (0: none),
 * with the spare slot at this address (0: none), which Python gives it again. */
static PyObject *cloop_ends(PyObject *module, PyObject *unused) {
    PyObject *out = PyList_New(nends);
    if (!out) return NULL;
    for (int i = 0; i < nends; i++) {
        PyObject *item = Py_BuildValue("iiiKL", ends[i].tid, ends[i].status, ends[i].rearmed,
                                       (unsigned long long)ends[i].spare, ends[i].seq);
        if (!item) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, item);
    }
    nends = 0;
    return out;
}

/* stubs() -> [(tid, order)]: the tasks whose stub, written by Python (stub()), this loop saw
 * end -- their first stop that only the program can make (Tracer._fast_notes: Task.stub). */
static PyObject *cloop_stubs(PyObject *module, PyObject *unused) {
    PyObject *out = PyList_New(nstubs);
    if (!out) return NULL;
    for (int i = 0; i < nstubs; i++) {
        PyObject *item = Py_BuildValue("iL", stubs_ended[i], stub_seq[i]);
        if (!item) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, item);
    }
    nstubs = 0;
    return out;
}

/* stub(tid, mem_fd) -> (after its syscall, after its int3, the entry) or None: Python's premap
 * at an exec event (Tracer._premap_scratch) by the stub this loop writes at its own
 * (stub_write): the task, stopped at its exec event, is set to run it when it goes on; None:
 * not here (no vDSO, another one: the trap premap then).  Python serves its stops until the
 * stub is seen to end (Tracer._stub_stop), or arms the task with it (run()). */
static PyObject *cloop_stub(PyObject *module, PyObject *args) {
    int tid, mem;
    uint64_t at[3];
    if (!PyArg_ParseTuple(args, "ii", &tid, &mem)) return NULL;
    int r = stub_write((pid_t)tid, mem, at);
    if (r < 0) return PyErr_SetFromErrno(PyExc_OSError);
    if (r == 0) Py_RETURN_NONE;
    return Py_BuildValue("(KKK)", (unsigned long long)at[0], (unsigned long long)at[1],
                         (unsigned long long)at[2]);
}

/* early() -> [(tid, wait status, order)]: the first stops early_stop() kept that no birth
 * took, told to Python as the waitpid results they were (Tracer._fast_notes). */
static PyObject *cloop_early(PyObject *module, PyObject *unused) {
    PyObject *out = PyList_New(nearly);
    if (!out) return NULL;
    for (int i = 0; i < nearly; i++) {
        PyObject *item = Py_BuildValue("iiL", earlies[i].tid, earlies[i].status, earlies[i].seq);
        if (!item) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, item);
    }
    nearly = 0;
    return out;
}

/* births() -> [(parent, child, call number, started, order)]: the children noted since the
 * last call (Tracer._fast_notes); order: among births and execs.  A clone or clone3 call
 * number: a vfork by another name (vfork_like). */
static PyObject *cloop_births(PyObject *module, PyObject *unused) {
    PyObject *out = PyList_New(nbirths);
    if (!out) return NULL;
    for (int i = 0; i < nbirths; i++) {
        PyObject *item = Py_BuildValue("iiiiL", births[i].parent, births[i].child, births[i].nr,
                                       births[i].started, birth_seq[i]);
        if (!item) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, item);
    }
    nbirths = 0;
    return out;
}

/* execs() -> [(tid, dev, ino, program, served, scratch mapped, its stops, failed, order)]: the
 * execs let go at entry since the last call, and whether their event was served too (or
 * their exit stop, of one that failed)
 * (Tracer._fast_notes). */
static PyObject *cloop_execs(PyObject *module, PyObject *unused) {
    PyObject *out = PyList_New(nexecs);
    if (!out) return NULL;
    for (int i = 0; i < nexecs; i++) {
        Exec *e = &execs[i];
        PyObject *item = Py_BuildValue("iKKyiiiiL(KKK)", e->tid, e->dev, e->ino, e->path,
                                       e->served, e->scratch, e->maps, e->failed, e->seq,
                                       (unsigned long long)e->stub_sys,
                                       (unsigned long long)e->stub_trap,
                                       (unsigned long long)e->stub_entry);
        if (!item) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, item);
    }
    nexecs = 0;
    return out;
}

/* set_exec_rules(names, prefix, trap code, mmap (number and arguments), keyed, strlen,
 * (bulk, slot size), personality flags): what
 * the exec handling needs from Python, once: the environment names that run code
 * (environment.runs_code), enforce.MMAP_TRAP_CODE and the scratch mmap, whether protection
 * keys are on (then every exec event is Python's), an exec string's limit
 * (decode.MAX_ARG_STRLEN: a longer one is Python's, which refuses it E2BIG), and where a
 * slot holds an environment (scratch.BULK, scratch.SLOT_SIZE), the personality flags a
 * set-user-ID exec clears (kernel.PER_CLEAR_ON_SETID: personality_plain). */
static PyObject *cloop_set_exec_rules(PyObject *module, PyObject *args) {
    PyObject *names;
    const char *prefix, *code;
    Py_ssize_t plen, clen;
    unsigned long long m[7];
    int keyed;
    Py_ssize_t strlen_limit, bulk, slot_size;
    unsigned long clear_flags;
    if (!PyArg_ParseTuple(args, "O!y#y#(KKKKKKK)pn(nn)k", &PyTuple_Type, &names, &prefix, &plen,
                          &code, &clen, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &m[6], &keyed,
                          &strlen_limit, &bulk, &slot_size, &clear_flags))
        return NULL;
    if (clear_flags == 0 || (size_t)plen >= sizeof env_prefix || clen <= 0 || (size_t)clen > sizeof trap_code
        || strlen_limit < 2 || bulk < PATH1 + MAX_RAW + 1 || slot_size <= bulk
        || bulk < RESTART_OFF + TRAMPOLINE_LEN || CLONE_ARGS_OFF >= RESTART_OFF
        || (size_t)(slot_size - bulk) > sizeof env_copy) {
        PyErr_SetString(PyExc_ValueError, "bad exec rules");
        return NULL;
    }
    size_t at = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        const char *name;
        Py_ssize_t n;
        if (!PyArg_Parse(PyTuple_GET_ITEM(names, i), "y#", &name, &n)) return NULL;
        if (n == 0 || at + (size_t)n + 2 > sizeof env_names) {
            PyErr_SetString(PyExc_ValueError, "bad environment names");
            return NULL;
        }
        memcpy(env_names + at, name, (size_t)n);
        at += (size_t)n;
        env_names[at++] = 0;
    }
    env_names[at] = 0;
    memcpy(env_prefix, prefix, (size_t)plen);
    env_prefix[plen] = 0;
    memcpy(trap_code, code, (size_t)clen);
    trap_len = (size_t)clen;
    for (int i = 0; i < 7; i++) mmap_args[i] = m[i];
    keyed_images = keyed;
    max_strlen = (size_t)strlen_limit;
    bulk_at = (size_t)bulk;
    env_cap = (size_t)(slot_size - bulk);
    area_base = mmap_args[1];
    area_size = mmap_args[2];
    area_slot = (uint64_t)slot_size;
    clear_on_setid = clear_flags;
    vdso_init();
    Py_RETURN_NONE;
}

/* set_stand_ins(((major, first minor, last minor), ...)): the devices that stand for another
 * terminal or screen (signals.STAND_INS; stands_in) */
static PyObject *cloop_set_stand_ins(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *given;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &given)) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(given);
    if (n > MAX_STAND_INS) {
        PyErr_SetString(PyExc_ValueError, "too many stand-ins");
        return NULL;
    }
    unsigned int read[MAX_STAND_INS][3];
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(given, i), "III", &read[i][0], &read[i][1],
                              &read[i][2]))
            return NULL;
    memcpy(stand_ins, read, sizeof read);
    nstand_ins = (int)n;
    Py_RETURN_NONE;
}

/* stands_in(major, minor): whether the loop takes that character device for one that stands
 * for another (tests compare it with signals.stands_in) */
static PyObject *cloop_stands_in(PyObject *module, PyObject *args) {
    (void)module;
    unsigned int maj, min;
    if (!PyArg_ParseTuple(args, "II", &maj, &min)) return NULL;
    return PyBool_FromLong(device_stands_in(maj, min));
}

/* set_seal(code, nr): the premap's code that maps and seals the area, and mseal's number for
 * the stub; (b"", 0): the area is not sealed (FastLoop.seal) */
static PyObject *cloop_set_seal(PyObject *module, PyObject *args) {
    (void)module;
    const char *code;
    Py_ssize_t clen;
    unsigned int nr;
    if (!PyArg_ParseTuple(args, "y#I", &code, &clen, &nr)) return NULL;
    if ((size_t)clen > sizeof seal_code || (nr != 0) != (clen > 0)) {
        PyErr_SetString(PyExc_ValueError, "bad seal");
        return NULL;
    }
    memcpy(seal_code, code, (size_t)clen);
    seal_len = (size_t)clen;
    seal_nr = nr;
    Py_RETURN_NONE;
}

/* run(arms[, exec_hook[, given[, known]]]) -> (pid, status, why): serve the armed tasks' stops until
 * one must go to Python; that stop's wait status is returned (it has been reaped).  arms: a list of
 * (tid, plan, may_refuse, mem_fd, slot, keep_start, shared, alone, own_search, spare[,
 * clone3 flags[, stub]]) -- clone3 flags: those of the clone3 Python let it make (-1: none;
 * birth); stub: (after its syscall, after its int3, the entry) of a stub not seen to end,
 * (0, 0, 0): none -- its trap is handed to Python, its end told (stubs());
 * spare: a scratch slot for the child of a vfork of an alone task, which is then armed at
 * its birth (0: none); exec_hook(tid, program): the plan after an exec and whether it
 * enters another table, or None (exec_entry; without a hook every exec is Python's); given:
 * the environment entries that run code the run started with (read_env); shared:
 * ((start, end), ...) of the pages something else may write, for a task whose calls are
 * not held (slot 0): a path read there is handed to Python, which holds it
 * (Tracer._must_hold); alone: its calls go unheld because it is the only task;
 * own_search: its search permission is not the tracer's (a lookup through a symlink,
 * "." or ".." is Python's).  Besides calls, it serves the armed tasks' signals
 * (pass_signal) and their forks and vforks (birth, first_stop), which births() then
 * tells; known: the tids of every task Python has (a tuple): then a first stop that comes
 * before its parent's event is kept until the event (early_stop, early()).  The caller
 * keeps the plans alive. */
static PyObject *serve(void);

static PyObject *cloop_run(PyObject *module, PyObject *args) {
    PyObject *list, *hook = Py_None, *given = Py_None, *tids = NULL;
    if (!PyArg_ParseTuple(args, "O!|OOO!", &PyList_Type, &list, &hook, &given, &PyTuple_Type,
                          &tids))
        return NULL;
    if (given != Py_None && !PyFrozenSet_Check(given)) {
        PyErr_SetString(PyExc_TypeError, "the entries given: a frozenset or None");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(list);
    if (count > MAX_ARMS) {
        PyErr_SetString(PyExc_ValueError, "too many armed tasks");
        return NULL;
    }
    if (nbirths || nexecs || nends || nearly || nstubs) {
        PyErr_SetString(PyExc_ValueError,
                        "the births, execs, ends, early stops or stubs were not taken");
        return NULL;
    }
    Py_ssize_t ntids = tids ? PyTuple_GET_SIZE(tids) : 0;
    if (ntids > MAX_ARMS) {
        PyErr_SetString(PyExc_ValueError, "too many known tasks");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < ntids; i++) {
        long tid = PyLong_AsLong(PyTuple_GET_ITEM(tids, i));
        if (tid == -1 && PyErr_Occurred()) return NULL;
        known[i] = (pid_t)tid;
    }
    nknown = (int)ntids;
    keeps_early = tids != NULL;
    Py_XDECREF(kept);
    kept = PyList_New(0);
    if (!kept) return NULL;
    nhook_memo = 0;  /* (its plans were kept's) */
    Py_XDECREF(exec_hook);
    exec_hook = NULL;
    if (hook != Py_None) {
        Py_INCREF(hook);
        exec_hook = hook;
    }
    Py_XDECREF(env_given);
    env_given = NULL;
    if (given != Py_None) {
        Py_INCREF(given);
        env_given = given;
    }
    int ranges = 0;
    narms = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Arm *a = &arms[i];
        PyObject *plan, *shared;
        int tid;
        unsigned long long slot, spare, stub[3] = {0, 0, 0};
        memset(a, 0, sizeof *a);
        a->clone3_flags = -1;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, i), "iO!piKpO!ppK|L(KKK)", &tid, &PlanType,
                              &plan, &a->may_refuse, &a->mem_fd, &slot, &a->keep_start,
                              &PyTuple_Type, &shared, &a->alone, &a->own_search, &spare,
                              &a->clone3_flags, &stub[0], &stub[1], &stub[2]))
            return NULL;
        if (stub[1]) {  /* a stub not seen to end, Python's to serve (its trap) */
            a->stub = 1;
            a->stub_exec = -1;
            a->stub_sys = stub[0];
            a->stub_trap = stub[1];
            a->stub_entry = stub[2];
        }
        a->tid = a->state_of = tid;
        a->plan = (PlanObject *)plan;
        a->slot = slot;
        a->spare = a->mem_fd >= 0 ? spare : 0;
        a->own_fd = -1;
        a->maps_fd = -1;
        a->r0 = ranges;
        a->rn = (int)PyTuple_GET_SIZE(shared);
        if (ranges + a->rn > MAX_RANGES) {
            PyErr_SetString(PyExc_ValueError, "too many shared ranges");
            return NULL;
        }
        for (int j = 0; j < a->rn; j++) {
            unsigned long long start, stop;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(shared, j), "KK", &start, &stop)) return NULL;
            shared_start[ranges] = start;
            shared_end[ranges++] = stop;
        }
    }
    narms = (int)count;
    /* one task, alone: the whole tree (Tracer._solo), which the loop then follows */
    solo_arm = count == 1 && arms[0].alone ? 0 : -1;
    solo_spare = count == 1 ? arms[0].spare : 0;
    tree_size = solo_arm == 0 ? 1 : 0;
    PyObject *out = serve();
    for (int i = 0; i < narms; i++) {
        if (arms[i].own_fd >= 0) close(arms[i].own_fd);
        if (arms[i].maps_fd >= 0) close(arms[i].maps_fd);
        arms[i].maps_fd = -1;
    }
    narms = 0;
    return out;
}

static PyObject *serve_stops(void);

/* run()'s loop over the arms it set; the parents it kept stopped let go before Python has
 * the tree again (let_parent_go). */
static PyObject *serve(void) {
    PyObject *out = serve_stops();
    for (int i = 0; i < narms; i++)
        if (let_parent_go(&arms[i]) < 0 && out) {
            Py_DECREF(out);
            out = PyErr_SetFromErrno(PyExc_OSError);
        }
    return out;
}

/* Whether the notes Python catches up on (births, execs, ends, stubs: each a fixed table)
 * have room for one more command of a shell's loop -- a vfork child's birth, its exec, its
 * end.  When they have not, the loop hands Python the next stop of the task that is the
 * whole tree (solo_arm), before it makes that child: a call Python decides as it always
 * does (the shell's vfork at entry: by its name) or a signal it passes on as it always does
 * (the shell's SIGCHLD, where its tables let vfork go unstopped), after which it catches up
 * and runs the loop again with empty tables.  Otherwise the tables filled in the middle of
 * a command, whose birth, exec or end then went to Python -- the exec served by Python,
 * ~1.2 ms more of the tracer's CPU, one command in ~60.  Only a hand-back earlier than
 * needed: safe (Python's handling of any stop is the reference). */
static int room_for_a_command(void) {
    const int margin = 2;  /* (a command: one birth, one exec, one end; a stub to spare) */
    return nbirths < MAX_BIRTHS - margin && nexecs < MAX_EXECS - margin &&
           nends < MAX_ENDS - margin && nstubs < MAX_STUBS - margin;
}

static PyObject *serve_stops(void) {
    for (;;) {
        int status = 0;
        pid_t pid;
        Py_BEGIN_ALLOW_THREADS
        pid = waitpid(-1, &status, __WALL);
        Py_END_ALLOW_THREADS
        if (pid < 0) {
            if (errno == EINTR) {
                if (PyErr_CheckSignals() < 0) return NULL;
                continue;
            }
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            int ended = end_of(pid, status);
            if (ended < 0) return PyErr_SetFromErrno(PyExc_OSError);
            if (ended) continue;
        }
        if (WIFSTOPPED(status) && status >> 8 == (SIGTRAP | EVENT_STOP << 8)) {
            int born = first_stop(pid);
            if (born < 0) return PyErr_SetFromErrno(PyExc_OSError);
            if (born || early_stop(pid, status)) continue;
            return Py_BuildValue("iii", pid, status, WHY_OTHER);
        }
        Arm *a = NULL;
        int event = status >> 16;
        if (status == SECCOMP_STOP || is_signal_stop(status) ||
            (WIFSTOPPED(status) && (event == EVENT_FORK || event == EVENT_VFORK
                                    || event == EVENT_EXEC
                                    || status >> 8 == (SIGTRAP | 0x80))))
            for (int i = 0; i < narms; i++)
                if (arms[i].tid == pid && !arms[i].off) { a = &arms[i]; break; }
        if (!a && WIFSTOPPED(status) && event == 0 && WSTOPSIG(status) == SIGTRAP)
            for (int i = 0; i < narms; i++)
                if (arms[i].tid == pid && !arms[i].off && arms[i].stub) { a = &arms[i]; break; }
        if (!a) return Py_BuildValue("iii", pid, status, WHY_OTHER);
        if (a->stub) {
            int served = stub_stop(a, status);
            if (served < 0) return PyErr_SetFromErrno(PyExc_OSError);
            if (served > 1) return Py_BuildValue("iii", pid, status, WHY_OTHER);
            if (served) continue;
            if (WIFSTOPPED(status) && event == 0 && WSTOPSIG(status) == SIGTRAP)
                return Py_BuildValue("iii", pid, status, WHY_OTHER);  /* (not its trap) */
        }
        if (event == EVENT_EXEC) {
            if (!a->pending) return Py_BuildValue("iii", pid, status, WHY_OTHER);
            int ended = 0;
            int done = exec_event(a, &ended);
            if (done < 0) return PyErr_SetFromErrno(PyExc_OSError);
            if (done == 0) return Py_BuildValue("iii", pid, status, WHY_OTHER);
            if (done > 1) return Py_BuildValue("iii", pid, ended, WHY_OTHER);  /* (its end) */
            continue;
        }
        if (WIFSTOPPED(status) && status >> 8 == (SIGTRAP | 0x80)) {
            /* the exit stop of an exec let go to it (exec_entry) that failed: let go on;
             * another's (an exec let go in an earlier run): Python's, as in its loop */
            if (!a->pending) return Py_BuildValue("iii", pid, status, WHY_OTHER);
            execs[a->pending - 1].failed = 1;
            a->pending = 0;
            /* it returns to the program: with its own pointers, as natively */
            for (int i = 0; i < 3; i++)
                if (a->own_held & 1 << i && poke(pid, ARG_REG[i] * 8, (long)a->own[i]) < 0
                    && errno != ESRCH)
                    return PyErr_SetFromErrno(PyExc_OSError);
            a->own_held = 0;
            if (syscall(SYS_ptrace, PT_CONT, pid, 0, 0) < 0 && errno != ESRCH)
                return PyErr_SetFromErrno(PyExc_OSError);
            continue;
        }
        a->pending = 0;  /* an exec let go that failed: its next stop came instead */
        if (event == EVENT_FORK || event == EVENT_VFORK) {
            int made = birth(a);
            if (made < 0) return PyErr_SetFromErrno(PyExc_OSError);
            if (!made) return Py_BuildValue("iii", pid, status, WHY_OTHER);
            continue;
        }
        /* (a signal-delivery or seccomp stop of the whole tree's one task: between commands) */
        if (tree_size == 1 && a == &arms[solo_arm] && !room_for_a_command())
            return Py_BuildValue("iii", pid, status,
                                 status == SECCOMP_STOP ? WHY_PYTHON : WHY_OTHER);
        if (status != SECCOMP_STOP) {
            int passed = pass_signal(pid, a->mem_fd, WSTOPSIG(status));
            if (passed < 0) return PyErr_SetFromErrno(PyExc_OSError);
            if (!passed) return Py_BuildValue("iii", pid, status, WHY_OTHER);
            continue;
        }
        int why = WHY_PYTHON;
        int done = decide(a, &why);
        if (done < 0) return PyErr_Occurred() ? NULL : PyErr_SetFromErrno(PyExc_OSError);
        if (!done) return Py_BuildValue("iii", pid, status, why);
    }
}

/* set_answered(fd, points): the mount points of the file systems a process answers ("/"
 * given as ""), and the loop's descriptor of /proc/self/mountinfo (-1: none). */
static PyObject *cloop_set_answered(PyObject *module, PyObject *args) {
    int fd;
    PyObject *points;
    if (!PyArg_ParseTuple(args, "iO!", &fd, &PyTuple_Type, &points)) return NULL;
    for (int i = 0; i < answered_n; i++) PyMem_Free(answered_at[i]);
    answered_n = 0;
    answered_fd = fd;
    Py_ssize_t n = PyTuple_GET_SIZE(points);
    answered_all = n > MAX_ANSWERED;
    for (Py_ssize_t i = 0; i < n && i < MAX_ANSWERED; i++) {
        char *text;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(points, i), &text, &len) < 0) {
            answered_all = 1;
            return NULL;
        }
        answered_at[i] = PyMem_Malloc((size_t)len + 1);
        if (!answered_at[i]) {
            answered_all = 1;
            return PyErr_NoMemory();
        }
        memcpy(answered_at[i], text, (size_t)len + 1);
        answered_len[i] = (size_t)len;
        answered_n = (int)i + 1;
    }
    Py_RETURN_NONE;
}

static PyObject *cloop_counts(PyObject *module, PyObject *unused) {
    return Py_BuildValue("KKKK", permitted_total, refused_total, signals_total, answered_total);
}

/* --- the resident tracer's client (systrace_py/resident_client.py) ---------------------------
 * The program's process of a run through the resident tracer is forked by the small client,
 * which must not import ctypes (~5-13 ms of its start) for the three calls Python has no
 * function for; engine/child.py's become_program calls these as it calls ptrace_ops's. */
/* The serial of the caller's session keyring (keyctl(KEYCTL_GET_KEYRING_ID,
 * KEY_SPEC_SESSION_KEYRING, 0)), which the client sends with a run: a worker whose own
 * differs takes the program's keys as its own (red team 60: resident.py _serve_one). */
static PyObject *child_session_keyring(PyObject *module, PyObject *unused) {
    long serial = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
                          -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
    if (serial < 0) return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(serial);
}

static PyObject *child_set_no_new_privs(PyObject *module, PyObject *unused) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

/* prctl(PR_SET_DUMPABLE, value): 1 (the default) in the program's process; 0 in the resident
 * client for the run (the program's untraced parent, out of its reach, as the in-process
 * tracer is). */
static PyObject *child_set_dumpable(PyObject *module, PyObject *args) {
    int value = 1;
    if (!PyArg_ParseTuple(args, "|i", &value)) return NULL;
    prctl(PR_SET_DUMPABLE, value, 0, 0, 0);
    Py_RETURN_NONE;
}

/* prctl(PR_SET_PTRACER, pid): where Yama restricts ptrace to descendants, let the resident
 * tracer's worker (not our ancestor) seize us.  Without Yama: EINVAL, and nothing to do. */
static PyObject *child_set_ptracer(PyObject *module, PyObject *args) {
    long pid;
    if (!PyArg_ParseTuple(args, "l", &pid)) return NULL;
    return PyLong_FromLong(prctl(0x59616d61 /* PR_SET_PTRACER */, (unsigned long)pid, 0, 0, 0));
}

/* seccomp(SECCOMP_SET_MODE_FILTER) of a BPF program given as bytes (8-byte instructions);
 * prctl(PR_SET_SECCOMP) where seccomp() is missing, as ptrace_ops.load_filter. */
static PyObject *child_load_filter(PyObject *module, PyObject *args) {
    Py_buffer bpf;
    if (!PyArg_ParseTuple(args, "y*", &bpf)) return NULL;
    struct sock_fprog prog = {(unsigned short)(bpf.len / 8), (struct sock_filter *)bpf.buf};
    long rc = syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog);
    if (rc != 0 && errno == ENOSYS) rc = prctl(PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, &prog, 0, 0);
    PyBuffer_Release(&bpf);
    if (rc != 0) return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

/* ---- spawn: the program's process without a copy of the tracer (issue 16) ----------------
 *
 * Tracer._fork's child is a fork of a ~30-50 MB Python process: its page tables copied, every
 * page of the tracer's then write-protected, so each page the tracer writes afterwards faults
 * once (copy-on-write).  This child shares the tracer's memory instead (clone(CLONE_VM) on a
 * stack of its own, not CLONE_VFORK: it stops itself before its exec, and a vfork parent
 * would wait for that exec) and does, in raw system calls, what child.become_program does
 * for a run without -c's credentials: signals as the command found them, the mask, the
 * working directory, no core files, no_new_privs; SIGSTOP (the tracer seizes it
 * there and sends SIGCONT); each filter; the exec.  Nothing of the C library runs in it --
 * its errno, locks and caches are the tracer's own memory -- and every signal is blocked from
 * the clone until its handlers are the defaults (a handler would run the tracer's code on
 * the tracer's data), and it calls no function of a library through this module's PLT; its
 * failure's message is made of strerrordesc_np's static strings.
 *
 * Dumpable is a property of the memory, so the child cannot make itself dumpable as
 * become_program does (that would make the tracer dumpable: Session._protected made it not,
 * so the traced program cannot reach into it); it needs not be where the memory is dumpable
 * already, or where the tracer has CAP_SYS_PTRACE (the kernel lets it seize and read a
 * process that is not).  Elsewhere -- an unprivileged tracer, protected -- spawn() returns
 * None, and the tracer forks.
 *
 * What it reads (argv, envp, the filters, its stack) is one private mapping made here and
 * owned by the Spawned capsule returned with the pid: freed when that is dropped, unless the
 * child still shares this memory then (kcmp KCMP_VM: not yet exec'd), when it is left
 * mapped -- never pulled from under a child still running on it. */
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>

#define SPAWN_STACK (64 * 1024)
#define SPAWN_MAX_FILTERS 8
#define SPAWN_MAX_SIGNALS 64

static inline long raw_syscall(long n, long a, long b, long c, long d, long e) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

struct kernel_sigaction_ {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

struct spawn_args {
    size_t size;                 /* of the whole mapping */
    pid_t pid;
    const char *path;
    char **argv;
    char **envp;
    const char *cwd;             /* NULL: none */
    const char *name;            /* argv[0], for the failure's message */
    size_t name_len;
    int core;                    /* 1: set RLIMIT_CORE to core_limits */
    unsigned long core_limits[2];
    int nnp;
    uint64_t mask;               /* the program's blocked signals */
    int nsig_ign, nsig_dfl;
    int sig_ign[SPAWN_MAX_SIGNALS], sig_dfl[SPAWN_MAX_SIGNALS];
    int nfilters;
    struct sock_fprog filters[SPAWN_MAX_FILTERS];
    /* strerrordesc_np and strlen, by the addresses the parent took: a call through this
     * module's PLT would have the child bind the symbol first (lazy binding: the dynamic
     * linker's code, on the tracer's data) */
    const char *(*describe)(int);
    size_t (*measure)(const char *);
};

static void spawn_write(const char *text, size_t len) {
    while (len > 0) {
        long n = raw_syscall(SYS_write, 2, (long)text, (long)len, 0, 0);
        if (n == -EINTR) continue;
        if (n <= 0) return;
        text += n;
        len -= (size_t)n;
    }
}

/* "systrace: NAME: DESCRIPTION\n", as become_program writes it, then _exit: 127 for ENOENT,
 * else 126. */
static void spawn_fail(struct spawn_args *a, long err) {
    char number[32];
    const char *desc = err > 0 && err < 4096 ? a->describe((int)err) : NULL;
    size_t len;
    spawn_write("systrace: ", 10);
    spawn_write(a->name, a->name_len);
    spawn_write(": ", 2);
    if (desc == NULL) {  /* (Python's os.strerror: "Unknown error N") */
        int i = (int)sizeof number;
        long v = err < 0 ? -err : err;
        do { number[--i] = (char)('0' + v % 10); v /= 10; } while (v && i > 0);
        spawn_write("Unknown error ", 14);
        desc = number + i;
        len = sizeof number - (size_t)i;
    } else {
        len = a->measure(desc);  /* (over a static string: no state of the C library) */
    }
    spawn_write(desc, len);
    spawn_write("\n", 1);
    raw_syscall(SYS_exit_group, err == ENOENT ? 127 : 126, 0, 0, 0, 0);
    for (;;) raw_syscall(SYS_exit, 126, 0, 0, 0, 0);
}

static int spawn_child(void *arg) {
    struct spawn_args *a = arg;
    struct kernel_sigaction_ act, old;
    long rc;
    /* handlers of the tracer's become the defaults (an exec would do it; a signal before it
     * must not run one here), and the restored signals are as the command found them */
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        if (raw_syscall(SYS_rt_sigaction, sig, 0, (long)&old, 8, 0) != 0) continue;
        if (old.handler != SIG_DFL && old.handler != SIG_IGN) {
            memset(&act, 0, sizeof act);
            act.handler = SIG_DFL;
            raw_syscall(SYS_rt_sigaction, sig, (long)&act, 0, 8, 0);
        }
    }
    for (int i = 0; i < a->nsig_ign + a->nsig_dfl; i++) {
        memset(&act, 0, sizeof act);
        act.handler = i < a->nsig_ign ? SIG_IGN : SIG_DFL;
        raw_syscall(SYS_rt_sigaction,
                    i < a->nsig_ign ? a->sig_ign[i] : a->sig_dfl[i - a->nsig_ign],
                    (long)&act, 0, 8, 0);
    }
    raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&a->mask, 0, 8, 0);
    if (a->cwd != NULL && (rc = raw_syscall(SYS_chdir, (long)a->cwd, 0, 0, 0, 0)) != 0)
        spawn_fail(a, -rc);
    if (a->core && (rc = raw_syscall(SYS_setrlimit, RLIMIT_CORE, (long)a->core_limits, 0, 0, 0)))
        spawn_fail(a, -rc);
    if (a->nnp && (rc = raw_syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) != 0)
        spawn_fail(a, -rc);
    /* (no PR_SET_DUMPABLE: dumpable is the memory's, the tracer's own -- child_spawn runs
     * only where the tracer may seize and read its child as it is) */
    /* the tracer seizes us here */
    raw_syscall(SYS_kill, raw_syscall(SYS_getpid, 0, 0, 0, 0, 0), SIGSTOP, 0, 0, 0);
    for (int i = 0; i < a->nfilters; i++) {
        rc = raw_syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, (long)&a->filters[i], 0, 0);
        if (rc == -ENOSYS)
            rc = raw_syscall(SYS_prctl, PR_SET_SECCOMP, 2, (long)&a->filters[i], 0, 0);
        if (rc != 0) spawn_fail(a, -rc);
    }
    rc = raw_syscall(SYS_execve, (long)a->path, (long)a->argv, (long)a->envp, 0, 0);
    spawn_fail(a, -rc);
    return 126;
}

/* Whether this thread has CAP_SYS_PTRACE in its effective set (capget). */
static int spawn_may_ptrace(void) {
    struct { uint32_t version; int pid; } header = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct { uint32_t effective, permitted, inheritable; } data[2];
    if (syscall(SYS_capget, &header, data) != 0) return 0;
    return (data[0].effective >> 19 /* CAP_SYS_PTRACE */) & 1;
}

static void spawned_free(PyObject *capsule) {
    struct spawn_args *a = PyCapsule_GetPointer(capsule, "systrace_py._cloop.Spawned");
    if (a == NULL) {
        PyErr_Clear();
        return;
    }
    /* 0: the child still runs in this memory (it has not exec'd): leave it mapped */
    if (a->pid > 0 && syscall(SYS_kcmp, getpid(), a->pid, KCMP_VM_, 0, 0) == 0) return;
    munmap(a, a->size);
}

/* Copy a list of bytes into the mapping as a NULL-ended vector; 0, or -1 (an error set). */
static int spawn_vector(PyObject *list, char ***vector, char **cursor) {
    Py_ssize_t n = PyList_GET_SIZE(list);
    /* (aligned: the strings before it leave the cursor anywhere -- a store of a misaligned
     * char * is undefined behaviour, which UBSan found (red team 85); child_spawn's 64 spare
     * bytes hold the 7 this may skip) */
    *cursor = (char *)(((uintptr_t)*cursor + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1));
    char **v = (char **)*cursor;
    *cursor += sizeof(char *) * (size_t)(n + 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        char *text;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(PyList_GET_ITEM(list, i), &text, &len) < 0) return -1;
        memcpy(*cursor, text, (size_t)len + 1);
        v[i] = *cursor;
        *cursor += len + 1;
    }
    v[n] = NULL;
    *vector = v;
    return 0;
}

static size_t spawn_vector_size(PyObject *list) {
    size_t size = sizeof(char *) * (size_t)(PyList_GET_SIZE(list) + 1);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *item = PyList_GET_ITEM(list, i);
        size += PyBytes_Check(item) ? (size_t)PyBytes_GET_SIZE(item) + 1 : 0;
    }
    return size;
}

/* spawn(path, argv, envp, cwd, ignored, defaults, mask, core, nnp, filters) -> (pid, Spawned)
 * or None (the tracer is not dumpable and may not trace a child that is not: fork instead):
 * the program's process, stopped by its own SIGSTOP before its filters and its exec
 * (waitpid(WUNTRACED) sees it).  path, cwd: bytes (cwd may be None); argv, envp: lists of
 * bytes without NULs; ignored, defaults: the signals set to SIG_IGN / SIG_DFL; mask: the
 * blocked signals; core: (soft, hard) RLIMIT_CORE or None; filters: BPF programs (bytes). */
static PyObject *child_spawn(PyObject *module, PyObject *args) {
    PyObject *path, *argv, *envp, *cwd, *ign, *dfl, *mask, *core, *filters;
    int nnp;
    if (!PyArg_ParseTuple(args, "SO!O!OO!O!O!OpO!", &path, &PyList_Type, &argv, &PyList_Type,
                          &envp, &cwd, &PyList_Type, &ign, &PyList_Type, &dfl, &PyList_Type,
                          &mask, &core, &nnp, &PyList_Type, &filters))
        return NULL;
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1 && !spawn_may_ptrace())
        Py_RETURN_NONE;  /* (the child would have to be made dumpable, and the tracer with it) */
    if (PyList_GET_SIZE(argv) < 1 || PyList_GET_SIZE(ign) > SPAWN_MAX_SIGNALS ||
        PyList_GET_SIZE(dfl) > SPAWN_MAX_SIGNALS || PyList_GET_SIZE(filters) > SPAWN_MAX_FILTERS ||
        (cwd != Py_None && !PyBytes_Check(cwd))) {
        PyErr_SetString(PyExc_ValueError, "spawn: bad arguments");
        return NULL;
    }
    size_t size = sizeof(struct spawn_args) + (size_t)PyBytes_GET_SIZE(path) + 1 +
                  spawn_vector_size(argv) + spawn_vector_size(envp) +
                  (cwd != Py_None ? (size_t)PyBytes_GET_SIZE(cwd) + 1 : 0) + 64;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(filters); i++) {
        PyObject *item = PyList_GET_ITEM(filters, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) % 8 || PyBytes_GET_SIZE(item) == 0) {
            PyErr_SetString(PyExc_ValueError, "spawn: a filter is 8-byte instructions");
            return NULL;
        }
        size += (size_t)PyBytes_GET_SIZE(item) + 8;
    }
    size_t data = (size + 15) & ~(size_t)15;
    size = (data + SPAWN_STACK + 4095) & ~(size_t)4095;
    struct spawn_args *a = mmap(NULL, size, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (a == MAP_FAILED) return PyErr_SetFromErrno(PyExc_OSError);
    memset(a, 0, sizeof *a);
    a->size = size;
    char *cursor = (char *)(a + 1);
    cursor = (char *)(((uintptr_t)cursor + 15) & ~(uintptr_t)15);
    if (spawn_vector(argv, &a->argv, &cursor) < 0 || spawn_vector(envp, &a->envp, &cursor) < 0)
        goto fail;
    memcpy(cursor, PyBytes_AS_STRING(path), (size_t)PyBytes_GET_SIZE(path) + 1);
    a->path = cursor;
    cursor += PyBytes_GET_SIZE(path) + 1;
    if (cwd != Py_None) {
        memcpy(cursor, PyBytes_AS_STRING(cwd), (size_t)PyBytes_GET_SIZE(cwd) + 1);
        a->cwd = cursor;
        cursor += PyBytes_GET_SIZE(cwd) + 1;
    }
    a->name = a->argv[0];
    a->name_len = strlen(a->argv[0]);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(filters); i++) {
        PyObject *item = PyList_GET_ITEM(filters, i);
        cursor = (char *)(((uintptr_t)cursor + 7) & ~(uintptr_t)7);
        memcpy(cursor, PyBytes_AS_STRING(item), (size_t)PyBytes_GET_SIZE(item));
        a->filters[i].len = (unsigned short)(PyBytes_GET_SIZE(item) / 8);
        a->filters[i].filter = (struct sock_filter *)cursor;
        cursor += PyBytes_GET_SIZE(item);
    }
    a->nfilters = (int)PyList_GET_SIZE(filters);
    a->nsig_ign = (int)PyList_GET_SIZE(ign);
    a->nsig_dfl = (int)PyList_GET_SIZE(dfl);
    for (int i = 0; i < a->nsig_ign; i++)
        if ((a->sig_ign[i] = (int)PyLong_AsLong(PyList_GET_ITEM(ign, i))) <= 0) goto bad;
    for (int i = 0; i < a->nsig_dfl; i++)
        if ((a->sig_dfl[i] = (int)PyLong_AsLong(PyList_GET_ITEM(dfl, i))) <= 0) goto bad;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(mask); i++) {
        long sig = PyLong_AsLong(PyList_GET_ITEM(mask, i));
        if (sig <= 0 || sig > 64) goto bad;
        a->mask |= (uint64_t)1 << (sig - 1);
    }
    if (core != Py_None) {
        if (!PyArg_ParseTuple(core, "kk", &a->core_limits[0], &a->core_limits[1])) goto fail;
        a->core = 1;
    }
    a->nnp = nnp;
    a->describe = strerrordesc_np;
    a->measure = strlen;
    if ((char *)a + data < cursor) {
        PyErr_SetString(PyExc_SystemError, "spawn: arguments overran their mapping");
        goto fail;
    }
    /* every signal blocked over the clone, glibc's own two too (pthread_sigmask leaves them):
     * the child unblocks its mask once no handler of ours is left */
    uint64_t all = ~(uint64_t)0, saved = 0;
    raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&saved, 8, 0);
    pid_t pid = clone(spawn_child, (char *)a + size, CLONE_VM | SIGCHLD, a);
    int err = errno;
    raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&saved, 0, 8, 0);
    if (pid < 0) {
        munmap(a, size);
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    a->pid = pid;
    PyObject *capsule = PyCapsule_New(a, "systrace_py._cloop.Spawned", spawned_free);
    if (capsule == NULL) return NULL;  /* (left mapped: the child runs on it) */
    return Py_BuildValue("(iN)", (int)pid, capsule);
bad:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "spawn: bad signal number");
fail:
    munmap(a, size);
    return NULL;
}

static PyMethodDef cloop_methods[] = {
    {"run", cloop_run, METH_VARARGS, "Serve an armed task's stops; the first one for Python."},
    {"births", cloop_births, METH_NOARGS, "The children noted since the last call."},
    {"execs", cloop_execs, METH_NOARGS, "The execs let go since the last call."},
    {"ends", cloop_ends, METH_NOARGS, "The children's ends noted since the last call."},
    {"early", cloop_early, METH_NOARGS, "The first stops kept that no birth took."},
    {"stubs", cloop_stubs, METH_NOARGS, "The ends of Python's stubs seen since the last call."},
    {"stub", cloop_stub, METH_VARARGS, "Set a task at its exec event to map the area by a stub."},
    {"set_exec_rules", cloop_set_exec_rules, METH_VARARGS, "What exec handling needs from Python."},
    {"set_seal", cloop_set_seal, METH_VARARGS, "Whether the area mapped at an exec is sealed."},
    {"set_stand_ins", cloop_set_stand_ins, METH_VARARGS,
     "The devices that stand for another terminal or screen."},
    {"stands_in", cloop_stands_in, METH_VARARGS,
     "Whether the loop takes a character device for one that stands for another."},
    {"set_no_new_privs", child_set_no_new_privs, METH_NOARGS, "prctl(PR_SET_NO_NEW_PRIVS, 1)."},
    {"session_keyring", child_session_keyring, METH_NOARGS,
     "The serial of the caller's session keyring."},
    {"set_dumpable", child_set_dumpable, METH_VARARGS, "prctl(PR_SET_DUMPABLE, value=1)."},
    {"set_ptracer", child_set_ptracer, METH_VARARGS, "prctl(PR_SET_PTRACER, pid): its result."},
    {"load_filter", child_load_filter, METH_VARARGS, "Load a seccomp BPF program (bytes)."},
    {"spawn", child_spawn, METH_VARARGS, "The program's process, sharing no copy of ours, stopped before its exec."},
    {"set_answered", cloop_set_answered, METH_VARARGS,
     "The mount points of file systems a process answers, and a mountinfo descriptor."},
    {"counts", cloop_counts, METH_NOARGS, "(permitted, refused, signals passed on, missing paths answered) by the native loop so far."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cloop_module = {
    PyModuleDef_HEAD_INIT, "_cloop", "The stop loop's common case in native code.", -1,
    cloop_methods,
};

PyMODINIT_FUNC PyInit__cloop(void) {
    if (PyType_Ready(&PlanType) < 0) return NULL;
    PyObject *m = PyModule_Create(&cloop_module);
    if (!m) return NULL;
    Py_INCREF(&PlanType);
    if (PyModule_AddObject(m, "Plan", (PyObject *)&PlanType) < 0) {
        Py_DECREF(&PlanType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "WHY_OTHER", WHY_OTHER);
    PyModule_AddIntConstant(m, "WHY_PYTHON", WHY_PYTHON);
    PyModule_AddIntConstant(m, "WHY_VARIANT", WHY_VARIANT);
    PyModule_AddIntConstant(m, "MAX_VARIANTS", MAX_VARIANTS);
    PyModule_AddIntConstant(m, "RESTART", RESTART_OFF);
    PyModule_AddIntConstant(m, "RECORD", RECORD_OFF);
    PyModule_AddIntConstant(m, "CLONE_ARGS", CLONE_ARGS_OFF);
    return m;
}
