/* syscall_server: runs the system calls it is told, with raw register values, and says what
 * each returned -- for tests that feed a traced process arguments no sane program passes.
 *
 *   syscall_server [threads] [whole]
 *
 * With "threads", a second thread stays alive all along (under a tracer, the calls of a tree
 * of more than one task have their checked arguments held).  With "whole", every answer says
 * the whole outcome of the call, for a differential test against the kernel
 * (tests/engine/test_differential_calls.py):
 *
 *   RESULT RCX R11 ARGS SAVED MEMORY
 *
 * RCX is "rip" when rcx holds the address after the syscall instruction (else its value),
 * R11 the flags, ARGS the six argument registers after the call (rdi,rsi,rdx,r10,r8,r9 in
 * hex), SAVED "ok" when rbx, rbp, r12, r13, r15 and r14 still hold what they held before,
 * MEMORY "-" or OFFSET:HEX,... -- the bytes of the readable pages (0, 2, 4-6) the call
 * changed.  A child that a clone, clone3, fork or vfork made leaves at once (SYS_exit, from
 * the instruction after the call: no stack touched); the caller waits for it (a thread:
 * until /proc/self/task no longer lists it).  Descriptors
 * but 0-2 and 100-104 are closed after every call (so that a call's numbers do not depend on
 * what earlier calls left open).
 * Its working directory must hold w/file, w/sub/ (writable by it), w/script (a script whose
 * interpreter does not exist) and secd/secret.  At the start it maps REGION (fixed: the same
 * addresses in every run) and prints one line
 *
 *   ready PID REGION NAME=OFFSET ... page=PAGE port=PORT
 *
 * naming what lies where (offsets from REGION): relative paths (so that any pointer into a
 * string, which names one of its suffixes, stays inside the working directory), socket
 * addresses, a msghdr, an open_how, exec argv... and the page layout; PORT is the UDP peer's
 * (the kernel's pick: the one content of the region that differs between two servers -- the
 * port bytes of inet_peer and inet6_peer, and their copies in page 2):
 *
 *   page 0 RW  the objects; "secd/secret" ends with its NUL on the page's last byte
 *   page 1     PROT_NONE (a copy of page 0 underneath)
 *   page 2     write-only copy of page 0 (the kernel reads it, process_vm_readv may not)
 *   page 3     unmapped
 *   page 4 RW  control messages, an argv array whose NULL is missing (it runs into page 5)
 *   page 5-6   long strings: a 4094-byte path to w/file; 4096 bytes with no NUL before page 7
 *   page 7     PROT_NONE
 *
 * Then, for every line "NR A0 A1 A2 A3 A4 A5 [OFFSET:HEX]..." (decimal, unsigned 64-bit) on
 * stdin, it puts the region back as it was (a call may have written into it), writes each HEX
 * at REGION+OFFSET (in a writable page: the test's own struct contents), runs
 * syscall(NR, A0..A5) and prints "RESULT" (the value) or "-ERRNO".  A descriptor an open
 * returned is closed.  Fixed descriptors: 100 an unconnected UDP socket, 101 another, 102 the
 * UDP peer the addresses name, 103 w/sub, 104 a UDP socket made afresh for every call (so
 * that what one call did to it -- connected, bound -- does not change the next one's answer).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
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
#include <sys/un.h>
#include <unistd.h>

#define REGION 0x10000000000UL
#define PAGE 4096UL
#define PAGES 8

static char pristine[PAGES * PAGE];

static void die(const char *what) {
    printf("error %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fixed_fd(int fd, int want) {
    if (fd < 0 || dup2(fd, want) < 0)
        die("descriptor");
    close(fd);
}

static void put(char *base, size_t at, const void *data, size_t size) {
    memcpy(base + at, data, size);
}

/* OFFSET:HEX into a writable page of the region; 0 when it is not one */
static int patch(char *r, const char *token) {
    char *end;
    unsigned long at = strtoul(token, &end, 10);
    if (*end != ':')
        return 0;
    const char *hex = end + 1;
    size_t size = strlen(hex) / 2;
    unsigned long page = at / PAGE, last = (at + size - 1) / PAGE;
    if (at + size > PAGES * PAGE || page == 1 || page == 3 || page == 7 || last != page)
        return 0;
    for (size_t i = 0; i < size; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return 0;
        r[at + i] = (char)byte;
    }
    return 1;
}

#define OBJECTS(X)                                                                             \
    X(file, 0) X(sub, 64) X(secret, 128) X(newname, 192) X(link, 256) X(script, 320)          \
    X(sock, 384) X(inet_peer, 448) X(inet_refused, 480) X(unix_sock, 512) X(inet6_peer, 640) \
    X(msghdr, 704) X(iovec, 800) X(byte, 832) X(open_how, 896) X(argv, 960) X(envp, 1088)    \
    X(mmsghdr, 1152) X(rlimit, 1280) X(times, 1296) X(buffer, 2048)                          \
    X(secret_at_page_end, PAGE - 12) X(control, 4 * PAGE) X(argv_runs_on, 5 * PAGE - 16)      \
    X(long_path, 5 * PAGE) X(no_nul_4096, 7 * PAGE - 4096)

enum {
#define ENUM(name, at) at_##name = (at),
    OBJECTS(ENUM)
#undef ENUM
};

static void layout(char *r, in_port_t peer_port) {
    memset(r, 0, PAGES * PAGE);
    strcpy(r + at_file, "w/file");
    strcpy(r + at_sub, "w/sub");
    strcpy(r + at_secret, "secd/secret");
    strcpy(r + at_newname, "w/newname");
    strcpy(r + at_link, "w/link");
    strcpy(r + at_script, "w/script");
    strcpy(r + at_sock, "w/sock");
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = peer_port,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in refused = {.sin_family = AF_INET, .sin_port = htons(9),
                                  .sin_addr.s_addr = htonl(0xC0000201)}; /* 192.0.2.1 */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, "w/sock");
    struct sockaddr_in6 peer6 = {.sin6_family = AF_INET6, .sin6_port = peer_port};
    peer6.sin6_addr.s6_addr[10] = peer6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&peer6.sin6_addr.s6_addr[12], &peer.sin_addr, 4);
    put(r, at_inet_peer, &peer, sizeof peer);
    put(r, at_inet_refused, &refused, sizeof refused);
    put(r, at_unix_sock, &un, sizeof un);
    put(r, at_inet6_peer, &peer6, sizeof peer6);
    struct iovec iov = {.iov_base = (void *)(REGION + at_byte), .iov_len = 1};
    put(r, at_iovec, &iov, sizeof iov);
    r[at_byte] = 'x';
    struct msghdr msg = {.msg_name = (void *)(REGION + at_inet_peer), .msg_namelen = sizeof peer,
                         .msg_iov = (void *)(REGION + at_iovec), .msg_iovlen = 1,
                         .msg_control = (void *)(REGION + at_control), .msg_controllen = 0};
    put(r, at_msghdr, &msg, sizeof msg);
    struct mmsghdr mm[2] = {{.msg_hdr = msg}, {.msg_hdr = msg}};
    mm[1].msg_hdr.msg_name = (void *)(REGION + at_inet_refused);
    put(r, at_mmsghdr, mm, sizeof mm);
    struct open_how how = {.flags = O_RDONLY};
    put(r, at_open_how, &how, sizeof how);
    uint64_t argv[] = {REGION + at_argv + 64, REGION + at_argv + 80, 0};
    put(r, at_argv, argv, sizeof argv);
    strcpy(r + at_argv + 64, "nope");
    strcpy(r + at_argv + 80, "arg");
    uint64_t envp[] = {REGION + at_envp + 32, 0};
    put(r, at_envp, envp, sizeof envp);
    strcpy(r + at_envp + 32, "A=1");
    put(r, at_argv_runs_on, argv, 16); /* no NULL: page 5's bytes come next */
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    put(r, at_times, times, sizeof times);
    strcpy(r + at_secret_at_page_end, "secd/secret");
    /* an IP_TTL control message (harmless), then room */
    struct cmsghdr *c = (struct cmsghdr *)(r + at_control);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_TTL;
    *(int *)CMSG_DATA(c) = 64;
    char *p = r + at_long_path;
    for (int i = 0; i < 2044; i++, p += 2)
        memcpy(p, "./", 2);
    strcpy(p, "w/file"); /* 4088 + 6 = 4094 bytes, and the NUL */
    memset(r + at_no_nul_4096, 'a', 4096);
}

/* raw_call(in, out): in = {nr, a0..a5, forklike}; out = {rax, rcx, r11, rdi, rsi, rdx, r10,
 * r8, r9, rbx, rbp, r12, r13, r15, r14}.  The callee-saved registers hold sentinels across
 * the syscall instruction; a child of a fork-like call (rax 0) leaves by SYS_exit at once. */
void raw_call(const uint64_t *in, uint64_t *out);
extern const char raw_call_ret[];
__asm__(".text\n.globl raw_call\n.type raw_call,@function\nraw_call:\n"
        "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
        "push %rsi\n"
        "mov 56(%rdi), %r14\n"
        "mov 0(%rdi), %rax\nmov 16(%rdi), %rsi\nmov 24(%rdi), %rdx\nmov 32(%rdi), %r10\n"
        "mov 40(%rdi), %r8\nmov 48(%rdi), %r9\nmov 8(%rdi), %rdi\n"
        "movabs $0x1111111111111111, %rbx\nmovabs $0x2222222222222222, %rbp\n"
        "movabs $0x3333333333333333, %r12\nmovabs $0x4444444444444444, %r13\n"
        "movabs $0x5555555555555555, %r15\n"
        "xor %ecx, %ecx\n" /* the same flags in every run (r11 takes them) */
        "syscall\n"
        ".globl raw_call_ret\nraw_call_ret:\n"
        "test %rax, %rax\njnz 1f\ntest %r14, %r14\njz 1f\n"
        "mov $60, %eax\nxor %edi, %edi\nsyscall\nud2\n"
        "1:\n"
        "xchg %r14, (%rsp)\n"
        "mov %rax, 0(%r14)\nmov %rcx, 8(%r14)\nmov %r11, 16(%r14)\nmov %rdi, 24(%r14)\n"
        "mov %rsi, 32(%r14)\nmov %rdx, 40(%r14)\nmov %r10, 48(%r14)\nmov %r8, 56(%r14)\n"
        "mov %r9, 64(%r14)\nmov %rbx, 72(%r14)\nmov %rbp, 80(%r14)\nmov %r12, 88(%r14)\n"
        "mov %r13, 96(%r14)\nmov %r15, 104(%r14)\npop %rax\nmov %rax, 112(%r14)\n"
        "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n"
        ".size raw_call, .-raw_call\n");

static int tasks(void) {
    DIR *dir = opendir("/proc/self/task");
    int n = 0;
    if (!dir)
        return -1;
    while (readdir(dir))
        n++;
    closedir(dir);
    return n;
}

static const int readable_pages[] = {0, 2, 4, 5, 6};
static char before[PAGES * PAGE];

static void whole_call(char *r, const unsigned long long *v) {
    long nr = (long)v[0];
    int forklike = nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork;
    uint64_t in[8] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], (uint64_t)forklike};
    uint64_t out[15];
    for (size_t i = 0; i < sizeof readable_pages / sizeof *readable_pages; i++)
        memcpy(before + readable_pages[i] * PAGE, r + readable_pages[i] * PAGE, PAGE);
    int before_tasks = forklike ? tasks() : 0;
    raw_call(in, out);
    long rc = (long)out[0];
    /* a child process is waited for; a thread (which no wait sees) until it is gone: what
     * it writes (CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID) is then written */
    if (forklike && rc > 0 && waitpid((pid_t)rc, NULL, __WALL) < 0)
        for (int i = 0; i < 1000000 && tasks() > before_tasks; i++)
            sched_yield();
    syscall(SYS_close_range, 3U, 99U, 0U);
    syscall(SYS_close_range, 105U, ~0U, 0U);
    printf("%ld ", rc);
    if (out[1] == (uint64_t)raw_call_ret)
        printf("rip");
    else
        printf("%lx", (unsigned long)out[1]);
    printf(" %lx %lx,%lx,%lx,%lx,%lx,%lx %s ", (unsigned long)out[2], (unsigned long)out[3],
           (unsigned long)out[4], (unsigned long)out[5], (unsigned long)out[6],
           (unsigned long)out[7], (unsigned long)out[8],
           out[9] == 0x1111111111111111UL && out[10] == 0x2222222222222222UL &&
                   out[11] == 0x3333333333333333UL && out[12] == 0x4444444444444444UL &&
                   out[13] == 0x5555555555555555UL && out[14] == (uint64_t)forklike
               ? "ok"
               : "bad");
    int any = 0;
    for (size_t i = 0; i < sizeof readable_pages / sizeof *readable_pages; i++) {
        size_t start = readable_pages[i] * PAGE;
        for (size_t at = start; at < start + PAGE;) {
            if (r[at] == before[at]) {
                at++;
                continue;
            }
            printf("%s%zu:", any++ ? "," : "", at);
            for (; at < start + PAGE && r[at] != before[at]; at++)
                printf("%02x", (unsigned char)r[at]);
        }
    }
    printf("%s\n", any ? "" : "-");
}

static void *idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t thread;
    int whole = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "threads") && pthread_create(&thread, NULL, idle, NULL))
            die("thread");
        whole |= !strcmp(argv[i], "whole");
    }
    int peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in self = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof self;
    if (peer < 0 || bind(peer, (struct sockaddr *)&self, sizeof self) ||
        getsockname(peer, (struct sockaddr *)&self, &len))
        die("peer socket");
    fixed_fd(socket(AF_INET, SOCK_DGRAM, 0), 100);
    fixed_fd(socket(AF_INET, SOCK_DGRAM, 0), 101);
    fixed_fd(peer, 102);
    fixed_fd(open("w/sub", O_RDONLY | O_DIRECTORY), 103);

    char *r = mmap((void *)REGION, PAGES * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (r != (char *)REGION)
        die("mmap");
    layout(r, self.sin_port);
    memcpy(r + 2 * PAGE, r, PAGE);
    memcpy(pristine, r, sizeof pristine);
    if (mprotect(r + PAGE, PAGE, PROT_NONE) || mprotect(r + 2 * PAGE, PAGE, PROT_WRITE) ||
        munmap(r + 3 * PAGE, PAGE) || mprotect(r + 7 * PAGE, PAGE, PROT_NONE))
        die("protections");

    printf("ready %d %lu", getpid(), REGION);
#define SAY(name, at) printf(" %s=%lu", #name, (unsigned long)(at));
    OBJECTS(SAY)
#undef SAY
    printf(" page=%lu port=%u\n", PAGE, (unsigned)ntohs(self.sin_port));

    static char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        unsigned long long v[7] = {0};
        int used = 0;
        if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu%n", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &used) != 7) {
            printf("bad request\n");
            continue;
        }
        /* put back what a call may have written (pages 0, 2, 4-6), then the test's bytes */
        memcpy(r, pristine, PAGE);
        memcpy(r + 2 * PAGE, pristine + 2 * PAGE, PAGE);
        memcpy(r + 4 * PAGE, pristine + 4 * PAGE, 3 * PAGE);
        int ok = 1;
        for (char *token = strtok(line + used, " \n"); token; token = strtok(NULL, " \n"))
            ok &= patch(r, token);
        if (!ok) {
            printf("bad patch\n");
            continue;
        }
        fixed_fd(socket(AF_INET, SOCK_DGRAM, 0), 104);
        if (whole) {
            whole_call(r, v);
            continue;
        }
        long rc = syscall((long)v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
        int err = errno;
        if (rc >= 0 && (v[0] == SYS_open || v[0] == SYS_openat || v[0] == SYS_openat2 ||
                        v[0] == SYS_creat) && rc > 2)
            close((int)rc);
        if (rc < 0)
            printf("-%d\n", err);
        else
            printf("%ld\n", rc);
    }
    return 0;
}
