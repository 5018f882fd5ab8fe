/* Prints what the runtime chose: `ft-info wait` prints the wait layer
 * (the test driver uses it to skip implementations the kernel lacks);
 * no argument prints everything. */
#include <stdio.h>
#include <string.h>

#include "freethreading.h"

int main(int argc, char **argv)
{
	struct ft_runtime_info info;
	int r = ft_runtime_info(&info);

	if (r < 0) {
		fprintf(stderr, "ft-info: %s\n", ft_strerror(r));
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "wait")) {
		puts(info.wait);
		return 0;
	}
	printf("backend:       %s\nwait:          %s\nspawn thread:  %s\n"
	       "spawn process: %s\narena:         %zu bytes reserved, %zu used\n",
	       info.backend, info.wait, info.spawn_thread, info.spawn_process,
	       info.arena_size, info.arena_used);
	return 0;
}
