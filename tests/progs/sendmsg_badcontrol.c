/* A sendmsg whose destination (a unix socket's path) reads well and whose control data is at
 * a bad pointer (tests/engine/test_parity_regressions.py; LTP sendmsg01's "invalid cmsg
 * pointer"): the kernel answers EFAULT before any lookup.  A thread beside it makes the
 * tree more than one task, so the call, whose unix path the kernel would look up again, is
 * run with the others stopped -- where reading its control data failed inside the tracer and
 * killed the tree (internal error), then failed the call with EAGAIN ("its arguments
 * changed").  Prints "sendmsg -> ERRNO" (or "ok"). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void *idle(void *unused)
{
    (void)unused;
    pause();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sendmsg_badcontrol SOCKET_PATH\n");
        return 2;
    }
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
    struct sockaddr_un where = {.sun_family = AF_UNIX};
    strncpy(where.sun_path, argv[1], sizeof where.sun_path - 1);
    int server = socket(AF_UNIX, SOCK_DGRAM, 0), client = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (server < 0 || client < 0 || bind(server, (struct sockaddr *)&where, sizeof where) != 0)
        return 3;
    char byte = 'x';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {.msg_name = &where, .msg_namelen = sizeof where, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = (void *)-1, .msg_controllen = 20};
    ssize_t sent = sendmsg(client, &msg, 0);
    printf("sendmsg -> %s\n", sent >= 0 ? "ok" : strerrorname_np(errno));
    return 0;
}
