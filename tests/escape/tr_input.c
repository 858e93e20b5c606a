/* tr_input: what the tracer reads at a stop that the traced program controls -- its memory,
 * the files it execs, its own name -- made so that reading it otherwise than the kernel does
 * gives another answer than the kernel's, or fails inside the tracer (which then kills the
 * whole traced tree).
 *
 *   tr_input memory THREADS DECOY SECRET SCRIPT
 *   tr_input exec FILE...
 *   tr_input name_kill
 *
 * memory   system calls whose pointers the kernel cannot read, or reads only in part: paths,
 *          socket addresses, msghdrs and their control data, open_how, exec argv, rlimits in
 *          a PROT_NONE page, an unmapped one, at 2^63, at 2^64-1, at a kernel address; strings
 *          ending just before a PROT_NONE page or running into it; paths of 4095 and 4096
 *          bytes; paths in write-only and execute-only pages (the kernel reads those); a
 *          name that is not UTF-8.  One line "LABEL: RESULT" per call (ok, a count, or the
 *          errno's name), then "DONE".
 *          THREADS=1 keeps a second thread alive meanwhile (a tracer then holds arguments).
 *          DECOY is a readable file, SECRET one a policy refuses, SCRIPT an executable
 *          script whose interpreter does not exist (so no exec of it can succeed).
 * exec     fork and exec each FILE (odd #! lines, broken ELF headers, a FIFO): one line
 *          "exec N: RESULT" per file (the errno, or how the child ended), then "DONE".
 * name_kill  name ourselves with bytes that are not UTF-8, then kill(0, SIGKILL).
 *
 * Class 6 (attacks on the tracer).  No verdict line: the test compares the results with the
 * control run's, and a tracer that fails takes the program down before DONE.
 */
#include "attack.h"

#include <linux/openat2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

static long page;

static void result(const char *label, long rc, int err) {
    if (rc < 0)
        printf("%s: %s\n", label, ename(err));
    else if (rc == 0)
        printf("%s: ok\n", label);
    else
        printf("%s: %ld\n", label, rc);
    fflush(stdout);
}

/* a descriptor returned is closed: only whether the call worked matters */
static void result_fd(const char *label, long fd, int err) {
    if (fd >= 0)
        close((int)fd);
    result(label, fd < 0 ? -1 : 0, err);
}

static void path_calls(const char *label, const char *path) {
    char name[128];
    struct stat st;
    char *argv[] = {"x", NULL};
    snprintf(name, sizeof name, "%s/open", label);
    long r = syscall(SYS_open, path, O_RDONLY);
    result_fd(name, r, errno);
    snprintf(name, sizeof name, "%s/openat", label);
    r = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    result_fd(name, r, errno);
    snprintf(name, sizeof name, "%s/stat", label);
    r = syscall(SYS_stat, path, &st);
    result(name, r, errno);
    snprintf(name, sizeof name, "%s/execve", label);
    r = syscall(SYS_execve, path, argv, environ); /* never a program: it cannot succeed */
    result(name, r, errno);
    snprintf(name, sizeof name, "%s/rename", label);
    r = syscall(SYS_rename, path, path);
    result(name, r, errno);
    snprintf(name, sizeof name, "%s/mkdir", label);
    r = syscall(SYS_mkdir, path, 0700);
    result(name, r, errno);
}

static void *idle(void *arg) {
    char c;
    (void)read(*(int *)arg, &c, 1); /* until main is done */
    return NULL;
}

/* pages: 0 RW, 1 NONE, 2 WRITE-only, 3 EXEC-only, 4 unmapped, 5-6 RW, 7 NONE */
static char *region(void) {
    char *p = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        skipped("mmap: %s", ename(errno));
    memset(p, 0, 8 * page);
    return p;
}

static void memory_mode(int threads, const char *decoy, const char *secret, const char *script) {
    page = sysconf(_SC_PAGESIZE);
    int hold[2];
    pthread_t thread;
    if (pipe(hold) != 0)
        skipped("pipe: %s", ename(errno));
    if (threads && pthread_create(&thread, NULL, idle, &hold[0]) != 0)
        skipped("pthread_create failed");

    char *p = region();
    char *none = p + page, *wonly = p + 2 * page, *xonly = p + 3 * page, *unmapped = p + 4 * page;
    char *tail = p + 7 * page; /* PROT_NONE after two readable pages */
    strcpy(none, decoy);
    strcpy(none + 2048, secret);
    strcpy(wonly, decoy);
    strcpy(wonly + 2048, secret);
    strcpy(xonly, decoy);
    memcpy(p + page - 10, "/dev/null", 10); /* its NUL is the page's last byte */
    mprotect(none, page, PROT_NONE);
    mprotect(wonly, page, PROT_WRITE);
    mprotect(xonly, page, PROT_EXEC);
    munmap(unmapped, page);
    mprotect(tail, page, PROT_NONE);

    /* --- paths ------------------------------------------------------------------------------ */
    path_calls("decoy", decoy);
    path_calls("decoy_in_prot_none", none);
    path_calls("secret_in_prot_none", none + 2048);
    path_calls("decoy_in_write_only", wonly);
    path_calls("decoy_in_exec_only", xonly);
    path_calls("unmapped", unmapped);
    path_calls("small", (char *)16);
    path_calls("bit63", (char *)(1UL << 63));
    path_calls("all_ones", (char *)~0UL);
    path_calls("kernel", (char *)0xffff888000000000UL);
    path_calls("ends_before_prot_none", p + page - 10);
    memcpy(p + page - 9, "/dev/null", 9);  /* now without a NUL: it runs into page 1 */
    path_calls("runs_into_prot_none", p + page - 9);

    char *long_at = tail - 4096;           /* 4095 bytes and a NUL, right before page 7 */
    memset(long_at, '/', 4087);
    memcpy(long_at + 4087, "dev/null", 9);
    path_calls("path_4095_at_page_end", long_at);
    memset(long_at, '/', 4096);            /* 4096 bytes, then PROT_NONE: too long first */
    path_calls("path_4096_then_prot_none", long_at);
    path_calls("path_4095_into_prot_none", long_at + 1);
    /* a name that is no UTF-8 (the tracer once encoded paths strictly, and failed) */
    char odd[4096];
    snprintf(odd, sizeof odd, "%.*s/\xc0\xff(", (int)(strrchr(decoy, '/') - decoy), decoy);
    path_calls("name_not_utf8", odd);
    char *huge = malloc(6000);
    memset(huge, 'a', 5999);
    huge[5999] = 0;
    path_calls("path_5999", huge);

    /* open flags the kernel checks before the path */
    long r = syscall(SYS_open, none, O_TMPFILE | O_RDONLY);
    result_fd("tmpfile_read_only_in_prot_none/open", r, errno);
    r = syscall(SYS_open, none, O_DIRECTORY | O_CREAT | O_RDWR, 0600);
    result_fd("directory_create_in_prot_none/open", r, errno);

    /* --- openat2's struct --------------------------------------------------------------------- */
    struct open_how *how = (struct open_how *)(p + page - sizeof(struct open_how));
    memset(how, 0, sizeof *how);
    how->flags = O_RDONLY;
    r = syscall(SYS_openat2, AT_FDCWD, decoy, how, sizeof *how);
    result_fd("openat2/plain", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, decoy, none, sizeof *how);
    result_fd("openat2/how_in_prot_none", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, decoy, (void *)(1UL << 63), sizeof *how);
    result_fd("openat2/how_at_bit63", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, decoy, how, 23);
    result_fd("openat2/size_23", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, decoy, how, page + 1);
    result_fd("openat2/size_page_plus_1", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, decoy, how, (size_t)-1);
    result_fd("openat2/size_max", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, decoy, how, sizeof *how + 8); /* tail in page 1 */
    result_fd("openat2/tail_in_prot_none", r, errno);
    struct open_how *wide = (struct open_how *)(p + 512);
    memset(wide, 0, 64);
    wide->flags = O_RDONLY;
    ((char *)wide)[40] = 1;
    r = syscall(SYS_openat2, AT_FDCWD, decoy, wide, 64);
    result_fd("openat2/nonzero_tail", r, errno);
    r = syscall(SYS_openat2, AT_FDCWD, none, how, sizeof *how);
    result_fd("openat2/path_in_prot_none", r, errno);
    how->flags = O_RDONLY | (1ULL << 40);
    r = syscall(SYS_openat2, AT_FDCWD, none, how, sizeof *how);
    result_fd("openat2/bad_flags_and_path_in_prot_none", r, errno);
    how->flags = O_RDONLY;
    how->mode = 0600;
    r = syscall(SYS_openat2, AT_FDCWD, none, how, sizeof *how);
    result_fd("openat2/mode_without_create_and_path_in_prot_none", r, errno);

    /* --- socket addresses --------------------------------------------------------------------- */
    int udp = socket(AF_INET, SOCK_DGRAM, 0), peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in self = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t self_len = sizeof self;
    if (udp < 0 || peer < 0 || bind(peer, (struct sockaddr *)&self, sizeof self) != 0 ||
        getsockname(peer, (struct sockaddr *)&self, &self_len) != 0)
        skipped("udp sockets: %s", ename(errno));
    struct sockaddr_in *at_end = (struct sockaddr_in *)(p + page - 8); /* half in page 1 */
    memcpy(at_end, &self, 8);
    struct {
        const char *label;
        void *addr;
        int len;
    } addrs[] = {
        {"addr_ok", &self, sizeof self},          {"addr_in_prot_none", none, 16},
        {"addr_unmapped", unmapped, 16},          {"addr_bit63", (void *)(1UL << 63), 16},
        {"addr_all_ones", (void *)~0UL, 16},      {"addr_runs_into_prot_none", at_end, 16},
        {"addr_len_200", &self, 200},             {"addr_len_minus_1", &self, -1},
        {"addr_null_len_16", NULL, 16},           {"addr_in_prot_none_len_0", none, 0},
        {"addr_in_write_only", wonly + 3000, 16},
    };
    memcpy(wonly + 3000, &self, sizeof self); /* a write-only page may be written */
    char label[128];
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        snprintf(label, sizeof label, "%s/sendto", addrs[i].label);
        r = syscall(SYS_sendto, udp, "x", 1, 0, addrs[i].addr, addrs[i].len);
        result(label, r, errno);
        int fresh = socket(AF_INET, SOCK_DGRAM, 0);
        snprintf(label, sizeof label, "%s/connect", addrs[i].label);
        r = syscall(SYS_connect, fresh, addrs[i].addr, addrs[i].len);
        result(label, r, errno);
        close(fresh);
    }

    /* sendmsg: the header, its name, its control data */
    struct iovec iov = {.iov_base = "x", .iov_len = 1};
    struct msghdr msg = {.msg_name = &self, .msg_namelen = sizeof self, .msg_iov = &iov,
                         .msg_iovlen = 1};
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/ok", r, errno);
    r = syscall(SYS_sendmsg, udp, none, 0);
    result("sendmsg/header_in_prot_none", r, errno);
    r = syscall(SYS_sendmsg, udp, (void *)(1UL << 63), 0);
    result("sendmsg/header_at_bit63", r, errno);
    msg.msg_name = none;
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/name_in_prot_none", r, errno);
    msg.msg_name = &self;
    msg.msg_namelen = -1;
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/name_len_minus_1", r, errno);
    msg.msg_namelen = 4096; /* cut to a sockaddr_storage by the kernel */
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/name_len_4096", r, errno);
    msg.msg_namelen = sizeof self;
    msg.msg_control = none;
    msg.msg_controllen = 32;
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/control_in_prot_none", r, errno);
    msg.msg_control = p + page - 16; /* 16 readable bytes, then page 1 */
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/control_runs_into_prot_none", r, errno);
    msg.msg_controllen = 1UL << 40;
    r = syscall(SYS_sendmsg, udp, &msg, 0);
    result("sendmsg/control_len_2^40", r, errno);
    msg.msg_control = NULL;
    msg.msg_controllen = 0;

    /* sendmmsg: the first message unreadable fails the call; a later one ends it there */
    struct mmsghdr *vec = (struct mmsghdr *)(p + page - sizeof(struct mmsghdr));
    memset(vec, 0, sizeof *vec);
    vec->msg_hdr = msg;
    r = syscall(SYS_sendmmsg, udp, vec, 2, 0);
    result("sendmmsg/second_in_prot_none", r, errno);
    r = syscall(SYS_sendmmsg, udp, none, 2, 0);
    result("sendmmsg/first_in_prot_none", r, errno);
    struct mmsghdr two[2];
    memset(two, 0, sizeof two);
    two[0].msg_hdr = msg;
    two[1].msg_hdr = msg;
    two[1].msg_hdr.msg_name = none;
    r = syscall(SYS_sendmmsg, udp, two, 2, 0);
    result("sendmmsg/second_name_in_prot_none", r, errno);
    two[0].msg_hdr.msg_namelen = -1;
    r = syscall(SYS_sendmmsg, udp, two, 2, 0);
    result("sendmmsg/first_name_len_minus_1", r, errno);
    r = syscall(SYS_sendmmsg, udp, (void *)~0UL, 1, 0);
    result("sendmmsg/vector_all_ones", r, errno);

    r = syscall(SYS_bind, socket(AF_INET, SOCK_DGRAM, 0), none, 16);
    result("bind/addr_in_prot_none", r, errno);

    /* --- exec argv ---------------------------------------------------------------------------- */
    char *args_ok[] = {"nope", "x", NULL};
    char *args_none[] = {"nope", none, NULL};
    char *args_high[] = {"nope", (char *)(1UL << 63), NULL};
    char *big = malloc(131073);
    memset(big, 'b', 131072);
    big[131072] = 0;
    char *args_big[] = {"nope", big, NULL};
    big[131071] = 0;
    char *args_edge_ok[] = {"nope", big, NULL};
    char **array_into_none = (char **)(p + page - 8); /* one pointer, then page 1 */
    array_into_none[0] = "nope";
    r = syscall(SYS_execve, script, args_ok, environ);
    result("argv/ok", r, errno);
    r = syscall(SYS_execve, script, none, environ);
    result("argv/array_in_prot_none", r, errno);
    r = syscall(SYS_execve, script, (void *)(1UL << 63), environ);
    result("argv/array_at_bit63", r, errno);
    r = syscall(SYS_execve, script, array_into_none, environ);
    result("argv/array_runs_into_prot_none", r, errno);
    r = syscall(SYS_execve, script, args_none, environ);
    result("argv/string_in_prot_none", r, errno);
    r = syscall(SYS_execve, script, args_high, environ);
    result("argv/string_at_bit63", r, errno);
    r = syscall(SYS_execve, script, args_edge_ok, environ);
    result("argv/string_of_131071", r, errno);
    big[131071] = 'b';
    r = syscall(SYS_execve, script, args_big, environ);
    result("argv/string_of_131072", r, errno);

    /* --- rlimits (read by the tracer's own guard) --------------------------------------------- */
    r = syscall(SYS_setrlimit, RLIMIT_CORE, none);
    result("setrlimit/core_in_prot_none", r, errno);
    r = syscall(SYS_setrlimit, RLIMIT_CORE, (void *)(1UL << 63));
    result("setrlimit/core_at_bit63", r, errno);
    struct rlimit backwards = {.rlim_cur = 1, .rlim_max = 0};
    r = syscall(SYS_setrlimit, RLIMIT_CORE, &backwards);
    result("setrlimit/core_current_above_maximum", r, errno);
    r = syscall(SYS_prlimit64, 0, RLIMIT_CORE, (void *)~0UL, NULL);
    result("prlimit64/core_all_ones", r, errno);

    /* --- the secret through a page only the kernel's copy may read ---------------------------- */
    r = syscall(SYS_openat, AT_FDCWD, wonly + 2048, O_RDONLY);
    if (r >= 0 && is_secret_fd((int)r))
        printf("note: the secret was read through a write-only page\n");
    result_fd("refused:secret_in_write_only/openat", r, errno);

    if (threads) {
        close(hold[1]);
        pthread_join(thread, NULL);
    }
    printf("DONE\n");
}

static void exec_mode(int count, char **files) {
    for (int i = 0; i < count; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *argv[] = {files[i], NULL};
            execve(files[i], argv, environ);
            printf("exec %d: %s\n", i, ename(errno));
            fflush(stdout);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 127)
            printf("exec %d: exit %d\n", i, WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            printf("exec %d: signal %d\n", i, WTERMSIG(status));
    }
    printf("DONE\n");
}

int main(int argc, char **argv) {
    if (argc >= 6 && !strcmp(argv[1], "memory"))
        memory_mode(atoi(argv[2]), argv[3], argv[4], argv[5]);
    else if (argc >= 3 && !strcmp(argv[1], "exec"))
        exec_mode(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "name_kill")) {
        prctl(PR_SET_NAME, "tr\xff\xfe(\n)", 0, 0, 0);
        printf("killing the group\n");
        fflush(stdout);
        kill(0, SIGKILL);
        printf("DONE (still alive)\n");
    } else
        usage("tr_input memory THREADS DECOY SECRET SCRIPT | exec FILE... | name_kill");
    return 0;
}
