/*
 * A parallel word-frequency counter.  Main makes up a text, cuts it into
 * chunks and puts them on a queue; a pool of workers counts the words of
 * each chunk and sends its totals back, one array of counts per worker,
 * on a result queue.  When every chunk is queued, main shuts the chunk
 * queue down: each worker's get then returns -ESHUTDOWN once the queue is
 * empty, which tells it to stop (no sentinel messages needed).  Main adds
 * the partial counts up and checks them against a plain serial count.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freethreading.h>

#define NWORKERS 4
#define NWORDS 200000   /* words in the text */
#define CHUNK 8192      /* bytes per chunk, give or take a word */
#define PATIENCE 30.0   /* seconds main waits before it gives up */

static const char *const vocab[] = {
	"the", "of", "and", "to", "a", "in", "is", "it", "you", "that",
	"he", "was", "for", "on", "are", "with", "as", "his", "they", "be",
	"at", "one", "have", "this", "from", "or", "had", "by", "hot", "word",
	"but", "what", "some", "we", "can", "out", "other", "were", "all",
	"there", "when", "up", "use", "your", "how", "said", "an", "each",
	"she", "which",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

static ft_queue_t *chunks;  /* text chunks, main -> workers */
static ft_queue_t *results; /* long[NVOCAB] per worker, workers -> main */

/* Report a failed call and end the calling worker (the program, in main). */
static void die(const char *what, int err)
{
	fprintf(stderr, "wordcount: %s: %s\n", what, ft_strerror(err));
	ft_worker_exit(1);
}

/* A fixed-seed LCG, so that every run counts the same text. */
static unsigned long lcg(void)
{
	static unsigned long state = 20240601;

	state = (state * 1103515245 + 12345) & 0x7fffffff;
	return state >> 8;
}

/*
 * NWORDS words, ten to a line.  The smaller of two draws makes the first
 * words of the vocabulary the most frequent, as in real text.
 */
static char *make_text(size_t *len)
{
	char *text = malloc(NWORDS * 8), *p = text;

	if (!text)
		die("malloc", errno);
	for (int i = 0; i < NWORDS; i++) {
		unsigned long a = lcg() % NVOCAB, b = lcg() % NVOCAB;

		p = stpcpy(p, vocab[a < b ? a : b]);
		*p++ = i % 10 == 9 ? '\n' : ' ';
	}
	*len = (size_t)(p - text);
	return text;
}

static bool blank(char c)
{
	return c == ' ' || c == '\n';
}

/* Add the words of text[0..len) to counts; -1 for a word not in vocab. */
static int count_words(const char *text, size_t len, long *counts)
{
	for (size_t i = 0, n; i < len; i += n) {
		unsigned w;

		if (blank(text[i])) {
			n = 1;
			continue;
		}
		for (n = 0; i + n < len && !blank(text[i + n]); n++)
			;
		for (w = 0; w < NVOCAB; w++)
			if (!strncmp(vocab[w], text + i, n) && !vocab[w][n])
				break;
		if (w == NVOCAB)
			return -1;
		counts[w]++;
	}
	return 0;
}

static int counter(void *arg)
{
	long counts[NVOCAB] = { 0 };
	void *chunk;
	size_t len;
	int err;

	(void)arg;
	/* Chunks until the queue is shut down and empty: -ESHUTDOWN. */
	while (!(err = ft_queue_get_alloc(chunks, &chunk, &len, FT_FOREVER))) {
		int bad = count_words(chunk, len, counts);

		free(chunk);
		if (bad) {
			fprintf(stderr, "wordcount: a word not in vocab\n");
			return 1;
		}
	}
	if (err != -ESHUTDOWN)
		die("ft_queue_get_alloc", err);
	err = ft_queue_put(results, counts, sizeof(counts), FT_FOREVER);
	if (err)
		die("ft_queue_put", err);
	return 0;
}

/* Most frequent first, ties in alphabetical order. */
static long merged[NVOCAB];

static int by_count(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	if (merged[x] != merged[y])
		return merged[x] < merged[y] ? 1 : -1;
	return strcmp(vocab[x], vocab[y]);
}

int main(void)
{
	ft_worker_t *pool[NWORKERS];
	long partial[NVOCAB], serial[NVOCAB] = { 0 }, total = 0;
	unsigned order[NVOCAB];
	size_t len, off, got;
	char *text = make_text(&len);
	int err, code, nchunks = 0;

	chunks = ft_queue_new(16);
	results = ft_queue_new(0);
	if (!chunks || !results)
		die("ft_queue_new", errno);
	for (int i = 0; i < NWORKERS; i++) {
		pool[i] = ft_worker_new(NULL, counter, NULL, 0);
		if (!pool[i])
			die("ft_worker_new", errno);
		if ((err = ft_worker_start(pool[i])))
			die("ft_worker_start", err);
	}

	/* Cut the text after the first blank past each CHUNK bytes. */
	for (off = 0; off < len; off += got, nchunks++) {
		got = len - off < CHUNK ? len - off : CHUNK;
		while (off + got < len && !blank(text[off + got - 1]))
			got++;
		if ((err = ft_queue_put(chunks, text + off, got, PATIENCE)))
			die("ft_queue_put", err);
	}
	/* No more chunks: workers stop once they have taken every one. */
	if ((err = ft_queue_shutdown(chunks, false)))
		die("ft_queue_shutdown", err);

	for (int i = 0; i < NWORKERS; i++) {
		if ((err = ft_worker_join(pool[i], PATIENCE)))
			die("ft_worker_join", err);
		if ((err = ft_worker_exitcode(pool[i], &code)))
			die("ft_worker_exitcode", err);
		if (code != 0) {
			fprintf(stderr, "wordcount: %s failed (%d)\n",
				ft_worker_name(pool[i]), code);
			return 1;
		}
		if ((err = ft_worker_free(pool[i])))
			die("ft_worker_free", err);
	}
	/* Every worker has ended, so every partial count is queued. */
	for (int i = 0; i < NWORKERS; i++) {
		err = ft_queue_get_nowait(results, partial, sizeof(partial),
					  &got);
		if (err || got != sizeof(partial))
			die("ft_queue_get_nowait", err ? err : -EMSGSIZE);
		for (unsigned w = 0; w < NVOCAB; w++)
			merged[w] += partial[w];
	}

	/* The same count, the plain way. */
	if (count_words(text, len, serial)) {
		fprintf(stderr, "wordcount: a word not in vocab\n");
		return 1;
	}
	for (unsigned w = 0; w < NVOCAB; w++) {
		if (merged[w] != serial[w]) {
			fprintf(stderr, "wordcount: '%s': parallel count %ld, "
				"serial count %ld\n", vocab[w], merged[w],
				serial[w]);
			return 1;
		}
		total += merged[w];
		order[w] = w;
	}
	qsort(order, NVOCAB, sizeof(order[0]), by_count);

	printf("%ld words in %d chunks, %zu distinct, %d workers\n",
	       total, nchunks, NVOCAB, NWORKERS);
	printf("most frequent:\n");
	for (int i = 0; i < 5; i++)
		printf("  %-6s %ld\n", vocab[order[i]], merged[order[i]]);
	printf("parallel count matches serial count\n");

	free(text);
	if ((err = ft_queue_free(chunks)) || (err = ft_queue_free(results)))
		die("ft_queue_free", err);
	return 0;
}
