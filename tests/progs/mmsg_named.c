/* review 37: an honest sendmmsg -- two datagrams, each with its name (a unix socket's path)
 * in the program's own anonymous memory (its stack), to a socket bound at argv[1]; with a
 * second word "thread", from a process of two threads (the other waits in pause()).  Prints
 * "sent N" (the messages the kernel sent) or "sendmmsg: ERRNAME". */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void *waiter(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    pthread_t other;
    if (argc > 2 && strcmp(argv[2], "thread") == 0 && pthread_create(&other, NULL, waiter, NULL))
        return 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    struct sockaddr_un to[2];
    struct iovec iov[2];
    struct mmsghdr msgs[2];
    static char data[2][8] = {"one", "two"};
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < 2; i++) {
        memset(&to[i], 0, sizeof to[i]);
        to[i].sun_family = AF_UNIX;
        strncpy(to[i].sun_path, argv[1], sizeof to[i].sun_path - 1);
        iov[i].iov_base = data[i];
        iov[i].iov_len = 3;
        msgs[i].msg_hdr.msg_name = &to[i];
        msgs[i].msg_hdr.msg_namelen = sizeof to[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(fd, msgs, 2, 0);
    if (sent < 0)
        printf("sendmmsg: %s\n", strerrorname_np(errno));
    else
        printf("sent %d\n", sent);
    return 0;
}
