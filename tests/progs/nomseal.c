/* nomseal MODE prog args...: install a seccomp filter answering mseal (462) with MODE
 * (kill | errno | trap), everything else allowed, then exec prog.  Three more modes answer
 * EPERM to some seals only (close 25: an area the engine could not seal -- where no program
 * can make the seal made at an exec fail):
 *   area  an mseal of any address but 0 (the tracer's probe of the kernel's mseal,
 *         mseal(0, 0, 0), answers 0; every seal of the scratch area fails)
 *   low   an mseal made from an instruction below 0x700000000000: a static program's image,
 *         where the premap's trap code runs at its entry -- not the vDSO, where the
 *         exec-time stub runs, nor ld.so, nor the tracer's libc
 *   vdso  an mseal of any address but 0 made from an instruction above that: the stub's
 *         seal, not the premap's in a static program */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#define LOAD(at) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (at))
#define ADDRESS offsetof(struct seccomp_data, args[0])
#define IP_HIGH (offsetof(struct seccomp_data, instruction_pointer) + 4)
int main(int argc, char **argv) {
    const char *mode = argv[1];
    int area = !strcmp(mode, "area") || !strcmp(mode, "vdso");
    int low = !strcmp(mode, "low"), high = !strcmp(mode, "vdso");
    unsigned int act = !strcmp(mode, "kill") ? SECCOMP_RET_KILL_PROCESS
                     : !strcmp(mode, "trap") ? SECCOMP_RET_TRAP : (SECCOMP_RET_ERRNO | EPERM);
    struct sock_filter f[16];
    int n = 0;
    /* each test jumps to the last instruction (allow) when it lets the call through; the
     * jump offsets are set once the length is known */
    int allow_from[8], nallow = 0;
    f[n++] = (struct sock_filter)LOAD(offsetof(struct seccomp_data, nr));
    allow_from[nallow++] = n;
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 462, 0, 0);  /* jf */
    if (area) {
        f[n++] = (struct sock_filter)LOAD(ADDRESS);
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2);
        f[n++] = (struct sock_filter)LOAD(ADDRESS + 4);
        allow_from[nallow++] = n;
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0);  /* jt */
    }
    if (low || high) {
        f[n++] = (struct sock_filter)LOAD(IP_HIGH);
        allow_from[nallow++] = n;
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x7000, 0, 0);
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, act);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    for (int i = 0; i < nallow; i++) {
        int at = allow_from[i];
        unsigned char to = (unsigned char)(n - 1 - at - 1);
        if (i == 0) f[at].jf = to;                      /* not mseal */
        else if (f[at].code == (BPF_JMP | BPF_JEQ | BPF_K)) f[at].jt = to;  /* address 0 */
        else if (low) f[at].jt = to;                    /* from high up: let through */
        else f[at].jf = to;                             /* vdso: from low down: through */
    }
    struct sock_fprog p = {(unsigned short)n, f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) { perror("filter"); return 1; }
    execvp(argv[2], argv + 2);
    perror("exec"); return 127;
}
