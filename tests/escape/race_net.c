/* race_net: rewrite the destination address after the tracer has read it.
 *
 *   race_net MODE PORT_A PORT_B [ITERATIONS [SECONDS]]
 *
 * Port PORT_A on 127.0.0.1 is permitted, PORT_B refused.  A thread flips the port in the
 * sockaddr buffer between the two while we send.
 *
 * MODE: connect   TCP connect() to a listener outside the tree on each port; ESCAPED when
 *                 getpeername() says PORT_B
 *       sendto    UDP sendto() of a datagram
 *       sendmsg   UDP sendmsg() with msg_name pointing at the buffer
 *       sendmmsg  UDP sendmmsg() of 2 messages: the first to PORT_A, the second to the buffer
 * For the UDP modes we bind receivers on both ports ourselves; ESCAPED when the PORT_B
 * receiver got a datagram.
 * Class 2 (races between check and use) for socket addresses.
 */
#include "race.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static volatile int stop;
static volatile long flips;
static struct sockaddr_in *addr;
static volatile unsigned short *port_slot;
static unsigned short pa, pb;

static void *flipper(void *arg) {
    (void)arg;
    while (!stop) {
        *port_slot = pa;
        *port_slot = pb;
        flips++;
    }
    return NULL;
}

static int udp_receiver(int port) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        skipped("bind %d: %s", port, ename(errno));
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
    if (argc < 4)
        usage("race_net MODE PORT_A PORT_B [ITERATIONS [SECONDS]]");
    const char *mode = argv[1];
    int port_a = atoi(argv[2]), port_b = atoi(argv[3]);
    struct budget budget;
    budget_args(&budget, argc, argv, 4);
    pa = htons(port_a);
    pb = htons(port_b);
    addr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    addr->sin_family = AF_INET;
    addr->sin_port = pa;
    port_slot = &addr->sin_port;
    inet_pton(AF_INET, "127.0.0.1", &addr->sin_addr);
    struct sockaddr_in fixed = *addr;
    int tcp = !strcmp(mode, "connect");
    int ra = -1, rb = -1, s = -1;
    if (!tcp) {
        if (strcmp(mode, "sendto") && strcmp(mode, "sendmsg") && strcmp(mode, "sendmmsg"))
            usage("MODE: connect sendto sendmsg sendmmsg");
        ra = udp_receiver(port_a);
        rb = udp_receiver(port_b);
        s = socket(AF_INET, SOCK_DGRAM, 0);
    }
    pthread_t th;
    pthread_create(&th, NULL, flipper, NULL);
    wait_for_peer(&flips);
    budget.start = now_s();
    long ok = 0, failed = 0, got_b = 0, got_a = 0;
    while (budget_left(&budget)) {
        if (tcp) {
            int c = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(c, (struct sockaddr *)addr, sizeof *addr) == 0) {
                struct sockaddr_in peer;
                socklen_t len = sizeof peer;
                getpeername(c, (struct sockaddr *)&peer, &len);
                if (ntohs(peer.sin_port) == port_b)
                    got_b++;
                ok++;
            } else {
                failed++;
            }
            close(c);
            continue;
        }
        char payload[] = "race";
        struct iovec iov = {.iov_base = payload, .iov_len = 4};
        int rc;
        if (!strcmp(mode, "sendto")) {
            rc = sendto(s, payload, 4, 0, (struct sockaddr *)addr, sizeof *addr);
        } else if (!strcmp(mode, "sendmsg")) {
            struct msghdr m = {.msg_name = addr, .msg_namelen = sizeof *addr, .msg_iov = &iov,
                               .msg_iovlen = 1};
            rc = sendmsg(s, &m, 0);
        } else {
            struct mmsghdr mm[2] = {
                {.msg_hdr = {.msg_name = &fixed, .msg_namelen = sizeof fixed, .msg_iov = &iov,
                             .msg_iovlen = 1}},
                {.msg_hdr = {.msg_name = addr, .msg_namelen = sizeof *addr, .msg_iov = &iov,
                             .msg_iovlen = 1}},
            };
            rc = sendmmsg(s, mm, 2, 0);
        }
        if (rc < 0)
            failed++;
        else
            ok++;
        if ((budget.done & 255) == 0) {
            got_a += drain(ra);
            got_b += drain(rb);
        }
    }
    stop = 1;
    pthread_join(th, NULL);
    if (!tcp) {
        usleep(50000);
        got_a += drain(ra);
        got_b += drain(rb);
    }
    note("%ld tries: %ld sent, %ld refused; port A got %ld, port B got %ld", budget.done - 1, ok,
         failed, got_a, got_b);
    if (got_b)
        escaped("%ld %s reached the refused port %d", got_b, tcp ? "connections" : "datagrams",
                port_b);
    blocked("nothing reached the refused port (%ld to the permitted one)", tcp ? ok : got_a);
}
