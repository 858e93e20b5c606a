/* rseq_section: a thread blocked in read(2) on stdin inside an rseq critical section (glibc's
 * registered struct rseq, its rseq_cs pointing to the section around the call).  Prints
 * "ready PID"; says "ESCAPED" if the kernel ever sends it to the section's abort handler
 * (which it does when the thread goes back to user mode with its ip in the section, after
 * being scheduled out), "read returned N" if the read returns. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

struct cs { uint32_t version, flags; uint64_t start_ip, post_commit_offset, abort_ip; }
    __attribute__((aligned(32)));
static struct cs desc;
extern char cs_start[], cs_end[], cs_abort[];
long blocker(long fd, void *buf, long len);

void escaped(void) {
    syscall(SYS_write, 1, "ESCAPED\n", 8);
    for (;;) syscall(SYS_pause);
}

__asm__(".text\n.globl blocker\nblocker:\n"
        "cs_start:\n  mov $0, %eax\n  syscall\n  .fill 16,1,0x90\ncs_end:\n  ret\n"
        ".long 0x53053053\ncs_abort:\n  jmp escaped\n");

int main(void) {
    if (__rseq_size == 0) { puts("no rseq"); return 2; }
    volatile struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
    desc.start_ip = (uint64_t)cs_start;
    desc.post_commit_offset = (uint64_t)(cs_end - cs_start);
    desc.abort_ip = (uint64_t)cs_abort;
    printf("ready %d\n", getpid());
    fflush(stdout);
    char buf[8];
    rs->rseq_cs = (uint64_t)&desc;
    long r = blocker(0, buf, sizeof buf);
    rs->rseq_cs = 0;
    printf("read returned %ld\n", r);
    return 0;
}
