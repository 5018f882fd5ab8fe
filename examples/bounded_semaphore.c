/* The guide's BoundedSemaphore example: over-release is an error code. */
#include <errno.h>
#include <stdio.h>

#include <freethreading.h>

int main(void)
{
	ft_semaphore_t *s = ft_semaphore_new(1);
	ft_semaphore_release(s, 1); /* no error, the counter increases */
	ft_semaphore_release(s, 1); /* still no error */
	printf("Semaphore value after two releases: %d\n", ft_semaphore_value(s));

	ft_semaphore_t *b = ft_bounded_semaphore_new(1);
	int r = ft_semaphore_release(b, 1);
	if (r == -EOVERFLOW)
		printf("ValueError: Semaphore released too many times\n");
	printf("BoundedSemaphore value is still: %d\n", ft_semaphore_value(b));
	return 0;
}
