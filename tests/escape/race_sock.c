/* race_sock: change where a send goes after the tracer decided it -- through what it did not
 * name when checked (a msghdr without an address, control data), or through the socket
 * itself (another socket at the descriptor, a bind).
 *
 *   race_sock MODE PORT [ITERATIONS [SECONDS]]
 *
 * 127.0.0.2 is refused; we bind UDP receivers on 127.0.0.1:PORT and 127.0.0.2:PORT ourselves.
 * A thread keeps changing one thing while the main thread sends:
 *
 * MODE: name_null        sendmsg on an unconnected UDP socket, msg_name flipping between NULL
 *                        (EDESTADDRREQ: nothing to check) and 127.0.0.2:PORT
 *       mmsg_name_null   the same with a one-message sendmmsg
 *       control_pktinfo  sendmsg to 0.0.0.0:PORT (the source's address) with an IP_PKTINFO
 *                        whose ipi_spec_dst flips between 127.0.0.1 and 127.0.0.2
 *       mmsg_pktinfo     the same with a one-message sendmmsg
 *       fd_swap          sendto(fd, AF_UNSPEC 127.0.0.2:PORT) while the thread dup2s a TCP
 *                        socket (which ignores the address: EPIPE) and a UDP one (which sends
 *                        to it) over fd
 *       bind_race        sendto(0.0.0.0:PORT) on a fresh UDP socket each time while the thread
 *                        binds it to 127.0.0.2 (after which 0.0.0.0 means 127.0.0.2)
 * ESCAPED when the 127.0.0.2 receiver got a datagram.  Class 2 (races between check and use)
 * for socket addresses, and class 7 (the socket decides what an address means).
 */
#include "race.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static volatile int stop;
static volatile long flips;
static const char *mode;
static struct msghdr *header;             /* the message the main thread sends */
static unsigned char *control;            /* its control data */
static struct sockaddr_in *refused;       /* 127.0.0.2:PORT */
static int swap_fd, tcp_fd, udp_fd;
static volatile int current = -1;         /* bind_race: the socket to bind */

static void *flipper(void *arg) {
    (void)arg;
    struct in_pktinfo *info = (struct in_pktinfo *)CMSG_DATA((struct cmsghdr *)control);
    struct sockaddr_in local = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &local.sin_addr);
    while (!stop) {
        if (!strcmp(mode, "name_null") || !strcmp(mode, "mmsg_name_null")) {
            header->msg_name = NULL;
            __asm__ volatile("" ::: "memory");
            header->msg_name = refused;
        } else if (!strcmp(mode, "control_pktinfo") || !strcmp(mode, "mmsg_pktinfo")) {
            info->ipi_spec_dst.s_addr = inet_addr("127.0.0.1");
            __asm__ volatile("" ::: "memory");
            info->ipi_spec_dst.s_addr = inet_addr("127.0.0.2");
        } else if (!strcmp(mode, "fd_swap")) {
            /* (a moment in each state: a dup2 is slow next to the other thread's send) */
            dup2(tcp_fd, swap_fd);
            for (volatile int k = 0; k < 2000; k++)
                ;
            dup2(udp_fd, swap_fd);
            for (volatile int k = 0; k < 2000; k++)
                ;
        } else {
            int s = current;
            if (s >= 0)
                bind(s, (struct sockaddr *)&local, sizeof local);
        }
        __asm__ volatile("" ::: "memory");
        flips++;
    }
    return NULL;
}

static int udp_receiver(const char *host, int port) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        skipped("bind %s:%d: %s", host, port, ename(errno));
    return s;
}

static long drain(int s) {
    char buf[256];
    long n = 0;
    while (recv(s, buf, sizeof buf, 0) >= 0)
        n++;
    return n;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("race_sock MODE PORT [ITERATIONS [SECONDS]]");
    mode = argv[1];
    int port = atoi(argv[2]);
    struct budget budget;
    budget_args(&budget, argc, argv, 3);
    int permitted_rx = udp_receiver("127.0.0.1", port), refused_rx = udp_receiver("127.0.0.2", port);
    /* everything the thread rewrites, on a page of its own */
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    refused = (struct sockaddr_in *)page;
    *refused = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.2", &refused->sin_addr);
    struct sockaddr_in *any = (struct sockaddr_in *)(page + 64);
    *any = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in unspec = *refused;
    unspec.sin_family = AF_UNSPEC;
    control = page + 128;
    struct cmsghdr *c = (struct cmsghdr *)control;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct iovec iov = {.iov_base = "race", .iov_len = 4};
    struct mmsghdr *mm = (struct mmsghdr *)(page + 256);
    header = &mm->msg_hdr;
    header->msg_iov = &iov;
    header->msg_iovlen = 1;
    header->msg_namelen = sizeof *refused;
    int pktinfo = !strcmp(mode, "control_pktinfo") || !strcmp(mode, "mmsg_pktinfo");
    if (pktinfo) {
        header->msg_name = any;
        header->msg_control = control;
        header->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (!strcmp(mode, "fd_swap")) {
        swap_fd = s;
        tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
        udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
    } else if (strcmp(mode, "bind_race") && strcmp(mode, "name_null") &&
               strcmp(mode, "mmsg_name_null") && !pktinfo) {
        usage("MODE: name_null mmsg_name_null control_pktinfo mmsg_pktinfo fd_swap bind_race");
    }
    int many = !strncmp(mode, "mmsg_", 5);
    pthread_t th;
    pthread_create(&th, NULL, flipper, NULL);
    wait_for_peer(&flips);
    long sent = 0, failed = 0, got_refused = 0, got_permitted = 0;
    while (budget_left(&budget)) {
        int rc;
        if (!strcmp(mode, "fd_swap")) {
            rc = sendto(swap_fd, "race", 4, MSG_NOSIGNAL, (struct sockaddr *)&unspec,
                        sizeof unspec);
        } else if (!strcmp(mode, "bind_race")) {
            int fresh = socket(AF_INET, SOCK_DGRAM, 0);
            current = fresh;
            /* (a moment for the thread's bind, some of the time) */
            for (volatile long k = budget.done % 2 * 50000; k > 0; k--)
                ;
            rc = sendto(fresh, "race", 4, 0, (struct sockaddr *)any, sizeof *any);
            current = -1;
            close(fresh);
        } else if (many) {
            rc = sendmmsg(s, mm, 1, 0);
        } else {
            rc = sendmsg(s, header, 0);
        }
        if (rc < 0)
            failed++;
        else
            sent++;
        if ((budget.done & 255) == 0) {
            got_refused += drain(refused_rx);
            got_permitted += drain(permitted_rx);
        }
    }
    stop = 1;
    pthread_join(th, NULL);
    usleep(50000);
    got_refused += drain(refused_rx);
    got_permitted += drain(permitted_rx);
    note("%ld tries: %ld sent, %ld failed; 127.0.0.1 got %ld, 127.0.0.2 got %ld",
         budget.done - 1, sent, failed, got_permitted, got_refused);
    if (got_refused)
        escaped("%ld datagrams reached the refused 127.0.0.2", got_refused);
    blocked("nothing reached 127.0.0.2 (%ld datagrams to 127.0.0.1)", got_permitted);
}
