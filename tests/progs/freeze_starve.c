/* A thread starved by other threads' frozen calls (LTP mkdir09, found by bench/ltp_parity.py
 * on 2026-12-04).
 *
 *   freeze_starve DIR [WORKERS [ROUNDS]]
 *
 * WORKERS threads (default 6) mkdir and rmdir names in DIR in a tight loop -- path calls of a
 * process whose threads share the cwd, so each one runs with the other tasks of the tree
 * stopped (PTRACE_INTERRUPT) -- until the main thread has started and joined ROUNDS (default
 * 1000) threads that do nothing; then they stop and "ok" is printed.  Natively the main thread
 * is done in milliseconds.  Traced, the main thread's stop kept by one worker's freeze must be
 * handled -- resumed -- at that freeze's end, not kept again by the next worker's freeze for
 * ever (mkdir09: its main thread sat in pthread_create for the whole 60 s of its timeout, its
 * three threads running their calls). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile int done;
static const char *dir;

static void *worker(void *arg)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/d.%ld", dir, (long)arg);
	while (!done) {
		if (mkdir(path, 0700) != 0 || rmdir(path) != 0) {
			perror(path);
			exit(2);
		}
	}
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: freeze_starve DIR [WORKERS [ROUNDS]]\n");
		return 2;
	}
	dir = argv[1];
	long workers = argc > 2 ? atol(argv[2]) : 6;
	long rounds = argc > 3 ? atol(argv[3]) : 1000;
	pthread_t threads[64];
	if (workers < 1 || workers > 64)
		return 2;
	for (long i = 0; i < workers; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0)
			return 3;
	for (long i = 0; i < rounds; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
			return 3;
	}
	done = 1;
	for (long i = 0; i < workers; i++)
		pthread_join(threads[i], NULL);
	printf("ok\n");
	return 0;
}
