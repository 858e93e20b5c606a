/* Red team 75: a program mapped where the scratch area goes, run from a directory whose name
 * is no UTF-8 (tests/escape/test_escape_redteam75.py).
 *
 * Built -static -nostdlib -no-pie with its text at the scratch area's address (scratch.BASE,
 * 16 TiB): the exec-time stub's mmap of the area then fails (EEXIST: MAP_FIXED_NOREPLACE) and
 * stops at the stub's int3, where the tracer reads the task's /proc/PID/maps to tell the
 * stub's trap from the program's own.  Each line of the map names the program's file -- a
 * path the program chose, with any byte but a newline.  The tracer's Python reader decoded
 * the map as strict UTF-8: the run ended as an internal error, the tree killed (a denial of
 * service the program chose).  It prints "RAN" and exits 0, natively as traced. */
static const char msg[] = "RAN\n";

void _start(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "0"(1L), "D"(1L), "S"(msg), "d"(sizeof msg - 1)
                     : "rcx", "r11", "memory");
    __asm__ volatile("syscall" : : "a"(60L), "D"(0L) : "rcx", "r11", "memory");
    for (;;) {
    }
}
