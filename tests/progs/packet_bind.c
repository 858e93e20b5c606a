/* A packet socket bound to the loopback interface (LTP sendto03's set-up): a socket whose
 * destinations the engine cannot see, in a call (bind) a path rule stops for unix socket
 * files.
 *
 *   packet_bind
 *
 * Prints "socket -> ok|ERRNO" and, when the socket was made, "bind -> ok|ERRNO". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    printf("socket -> %s\n", s >= 0 ? "ok" : strerrorname_np(errno));
    if (s < 0)
        return 0;
    struct sockaddr_ll addr;
    memset(&addr, 0, sizeof addr);
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = (int)if_nametoindex("lo");
    int rc = bind(s, (struct sockaddr *)&addr, sizeof addr);
    printf("bind -> %s\n", rc == 0 ? "ok" : strerrorname_np(errno));
    close(s);
    return 0;
}
