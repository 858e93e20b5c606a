/* tr_ldlib_lib.c: a library a helper of an approver needs (tests/escape/tr_ldlib.c).  Built
 * with -DPLANT it is the tree's: its constructor reads $ESC_TARGET and writes it to
 * $ESC_MARKER, in whatever process loads it; with -DHELPER, the approver's helper that needs
 * it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef HELPER
int tr_ldlib_answer(void);
int main(void) { return tr_ldlib_answer(); } /* the approver's helper: needs the library */
#else
int tr_ldlib_answer(void) { return 0; }

#ifdef PLANT
__attribute__((constructor)) static void planted(void) {
    const char *target = getenv("ESC_TARGET"), *marker = getenv("ESC_MARKER");
    if (!target || !marker)
        return;
    char got[512] = "";
    int fd = open(target, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, got, sizeof got - 1);
        got[n > 0 ? n : 0] = 0;
        close(fd);
    }
    FILE *out = fopen(marker, "a");
    if (out) {
        fprintf(out, "libtr_ldlib ran in %d: %s", (int)getpid(), got);
        fclose(out);
    }
}
#endif
#endif
