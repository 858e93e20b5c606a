/* area_unsealed.c: the lazily mapped scratch area left unsealed (review 54).
 *
 * No premap (SIGTRAP ignored at its exec); a mapping like the area's just above it (the
 * area's lazy mmap merges with it), the map count at vm.max_map_count - 1, and a thread that
 * takes the last VMA as soon as the area appears, between the lazy mmap and its seal: the
 * seal must split the merged VMA -- ENOMEM, the area unsealed in a run that seals.  Prints
 * the first held open's result and the area's VmFlags.  Closed: the call is refused (EPERM)
 * as for an area not mapped; every later held call too.
 *
 *   area_unsealed
 *   area_unsealed filter    under a seccomp filter of its own (allow all), made before the
 *                           exec (a filter made after it has the area mapped first, at its
 *                           install: Tracer._area_before_filter): the area is mapped and
 *                           sealed with its filters suspended (Tracer._map_scratch_suspended).
 *                           No race: the last VMA is taken before the open -- the area's mmap
 *                           merges with the mapping above (no VMA more), its seal must split
 *                           (close 25)
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#define BASE 0x100000000000UL
#define SIZE (1UL << 30)
static char *gr;
static long gi;
static volatile int bgo;
static int btook = -9;
static void *b(void *x) {
    (void)x;
    unsigned char v;
    while (!bgo) {}
    if (btook != -9) return NULL;
    while (mincore((void *)BASE, 4096, &v) != 0) {}
    btook = mprotect(gr + 2 * gi * 4096, 4096, PROT_READ);
    return NULL;
}
int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "filter")) {
        signal(SIGTRAP, SIG_IGN);
        struct sock_filter all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, all};
        if (argc >= 2 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
                          prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))) {
            perror("filter");
            return 1;
        }
        char *args[] = {argv[0], argc < 2 ? "in" : "early", NULL};
        execv("/proc/self/exe", args);
        return 127;
    }
    void *above = mmap((void *)(BASE + SIZE), 4096, PROT_READ | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    long pages = 140000, i = 0;
    char *r = mmap(NULL, pages * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    void *lone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t t;
    pthread_create(&t, NULL, b, NULL);
    for (; 2 * i < pages; i++)
        if (mprotect(r + 2 * i * 4096, 4096, PROT_READ)) break;
    gr = r; gi = i;
    munmap(lone, 4096);
    if (!strcmp(argv[1], "early"))  /* (the thread only makes the open held) */
        btook = mprotect(r + 2 * i * 4096, 4096, PROT_READ);
    bgo = 1;
    int fd = open("/etc/hostname", O_RDONLY);  /* the first held call: the lazy map */
    pthread_join(t, NULL);
    munmap(r, pages * 4096);
    static char buf[1 << 20];
    int s = open("/proc/self/smaps", O_RDONLY);
    ssize_t n = 0, got;
    while ((got = read(s, buf + n, sizeof buf - 1 - n)) > 0) n += got;
    buf[n] = 0;
    char *at = strstr(buf, "100000000000-");
    char *vm = at ? strstr(at, "VmFlags:") : NULL;
    if (vm) *strchr(vm, '\n') = 0;
    printf("btook=%d above=%p splits=%ld open=%d %.26s %s\n", btook, above, i, fd,
           at ? at : "-", vm ? vm : "no area");
    return 0;
}
