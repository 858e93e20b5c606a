/* entry_data.c: a static program whose entry point is in a data page (readable and writable,
 * not executable), built with -static -nostdlib -Wl,-e,entry_here.  Its first instruction
 * cannot run: natively it dies of SIGSEGV at once.  (tr_entry.c execs it.) */
char entry_here[64] = {(char)0x0f, 0x05};
