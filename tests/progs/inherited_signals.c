/* What a program inherits of its starter's signals: the dispositions left ignored (nohup's
 * SIGHUP, a shell's SIGINT and SIGQUIT for a background job) and the blocked mask, which
 * the fork and the exec keep natively.
 *
 *   inherited_signals
 *
 * "ignored": the signals 1-31 whose disposition is SIG_IGN, "blocked": those blocked, each
 * as a comma-separated list of numbers ("none").  "sighup": a child in pause() is sent
 * SIGHUP (LTP kill11's first case), then SIGTERM (which the caller leaves at its default):
 * "killed" by the SIGHUP, or "survived" it (ignored) and ended by the SIGTERM.  No timing:
 * a fatal SIGHUP ends the child when sent or, traced, is delivered before the SIGTERM
 * (standard signals go lowest first). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_set(const char *name, int (*member)(int))
{
	int any = 0;

	printf("%s -> ", name);
	for (int sig = 1; sig < 32; sig++) {
		if (!member(sig))
			continue;
		printf("%s%d", any ? "," : "", sig);
		any = 1;
	}
	printf("%s\n", any ? "" : "none");
}

static int ignored(int sig)
{
	struct sigaction sa;

	return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

static int blocked(int sig)
{
	sigset_t set;

	return sigprocmask(SIG_BLOCK, NULL, &set) == 0 && sigismember(&set, sig) == 1;
}

int main(void)
{
	print_set("ignored", ignored);
	print_set("blocked", blocked);

	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		pause();
		_exit(0);
	}
	int status;
	kill(pid, SIGHUP);
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
		printf("sighup -> other\n");
	else if (WTERMSIG(status) == SIGHUP)
		printf("sighup -> killed\n");
	else
		printf("sighup -> %s\n", WTERMSIG(status) == SIGTERM ? "survived" : "other");
	return 0;
}
