/* Checked messages for the queue tests: a header naming the producer, a
 * round and a sequence number, a payload, and a checksum over both, so a
 * torn, mixed or misdelivered message is told from a good one. */
#ifndef FT_TEST_QUEUE_MSG_H
#define FT_TEST_QUEUE_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAGIC 0x51554555u

struct hdr {
	uint32_t magic;
	uint32_t src;   /* producer id */
	uint32_t round; /* kill round (0 elsewhere) */
	uint32_t seq;   /* per-producer sequence */
	uint32_t plen;  /* payload bytes after the header */
	uint32_t sum;   /* checksum of all the above and the payload */
};

static inline uint32_t checksum(const struct hdr *h, const unsigned char *p)
{
	uint32_t x = 2166136261u;
	uint32_t f[5] = { h->magic, h->src, h->round, h->seq, h->plen };
	for (int i = 0; i < 5; i++)
		x = (x ^ f[i]) * 16777619u;
	for (uint32_t i = 0; i < h->plen; i++)
		x = (x ^ p[i]) * 16777619u;
	return x;
}

/* Build message (src, round, seq) with @plen payload bytes into @buf. */
static inline size_t build(unsigned char *buf, uint32_t src, uint32_t round,
			   uint32_t seq, uint32_t plen)
{
	struct hdr h = { MAGIC, src, round, seq, plen, 0 };
	unsigned char *p = buf + sizeof(h);
	for (uint32_t i = 0; i < plen; i++)
		p[i] = (unsigned char)(seq * 131 + i * 7 + src);
	h.sum = checksum(&h, p);
	memcpy(buf, &h, sizeof(h));
	return sizeof(h) + plen;
}

/* Whether @len bytes at @buf are one whole, untorn message; fills @h. */
static inline bool valid(const unsigned char *buf, size_t len, struct hdr *h)
{
	if (len < sizeof(*h))
		return false;
	memcpy(h, buf, sizeof(*h));
	return h->magic == MAGIC && len == sizeof(*h) + h->plen &&
	       checksum(h, buf + sizeof(*h)) == h->sum;
}

#endif /* FT_TEST_QUEUE_MSG_H */
