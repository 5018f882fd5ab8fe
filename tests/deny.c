/*
 * deny: run a command in a world where chosen system calls fail, the way
 * real profiles make them fail (a container's seccomp policy, an old
 * kernel): a seccomp filter, inherited by every thread and child.
 *
 *   deny SYSCALL=ERRNO[,SYSCALL=ERRNO...] COMMAND [ARG...]
 *   deny io_uring_setup=EPERM ./examples/primes
 *   deny futex_waitv=ENOSYS,futex_wait=ENOSYS,futex_wake=ENOSYS make check
 *
 * ERRNO is EPERM, ENOSYS, EACCES or EINVAL.  A system call this kernel or
 * libseccomp does not know is skipped with a note (it fails anyway).
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int errno_named(const char *s)
{
	static const struct { const char *name; int value; } known[] = {
		{ "EPERM", EPERM }, { "ENOSYS", ENOSYS },
		{ "EACCES", EACCES }, { "EINVAL", EINVAL },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(s, known[i].name))
			return known[i].value;
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: deny SYSCALL=ERRNO[,SYSCALL=ERRNO...] "
			"COMMAND [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "deny: seccomp_init failed\n");
		return 1;
	}
	char *rules = strdup(argv[1]), *save = NULL;
	if (!rules)
		return 1;
	for (char *r = strtok_r(rules, ",", &save); r;
	     r = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(r, '=');
		if (!eq)
			return usage();
		*eq = '\0';
		int e = errno_named(eq + 1);
		if (e < 0) {
			fprintf(stderr, "deny: unknown errno '%s'\n", eq + 1);
			return 2;
		}
		int nr = seccomp_syscall_resolve_name(r);
		if (nr == __NR_SCMP_ERROR) {
			fprintf(stderr, "deny: note: no system call '%s' here\n",
				r);
			continue;
		}
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)e), nr, 0);
		if (rc < 0) {
			fprintf(stderr, "deny: rule for %s: %s\n", r, strerror(-rc));
			return 1;
		}
	}
	free(rules);
	/* libseccomp sets no_new_privs itself (SCMP_FLTATR_CTL_NNP). */
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		fprintf(stderr, "deny: seccomp_load: %s\n", strerror(-rc));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "deny: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
