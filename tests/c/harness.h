/*
 * Shared helpers of the C ABI tests (abi_roundtrip.c, abi_hostile.c): checks that count
 * and report, a log capture, IKE SA contexts as a daemon would describe them, and a key
 * server with a member registered through the C API only.
 */
#ifndef GIKEV2_TEST_HARNESS_H
#define GIKEV2_TEST_HARNESS_H

#include "gikev2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks;

#define CHECK(cond)                                                          \
	do {                                                                     \
		checks++;                                                            \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
					#cond);                                                  \
			exit(1);                                                         \
		}                                                                    \
	} while (0)

#define CHECK_STATUS(call, want)                                                \
	do {                                                                        \
		gikev2_status_t got_ = (call);                                          \
		checks++;                                                               \
		if (got_ != (want)) {                                                   \
			fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__,  \
					__LINE__, #call, gikev2_status_str(got_),                   \
					gikev2_status_str(want));                                   \
			exit(1);                                                            \
		}                                                                       \
	} while (0)

#define CHECK_OK(call) CHECK_STATUS(call, GIKEV2_OK)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------ */
/* Log capture                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
	char text[1 << 16];
	size_t len;
	int lines;
} log_capture_t;

static log_capture_t captured;

static inline void capture_log(void *user, gikev2_log_level_t level, const char *line)
{
	log_capture_t *c = user;
	size_t n = strlen(line);

	(void)level;
	c->lines++;
	if (c->len + n + 2 < sizeof(c->text)) {
		memcpy(c->text + c->len, line, n);
		c->len += n;
		c->text[c->len++] = '\n';
		c->text[c->len] = '\0';
	}
}

static inline void log_reset(void)
{
	captured.len = 0;
	captured.lines = 0;
	captured.text[0] = '\0';
}

static inline int log_contains(const char *needle)
{
	return strstr(captured.text, needle) != NULL;
}

static inline void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ------------------------------------------------------------------------ */
/* IKE SAs and settings                                                      */
/* ------------------------------------------------------------------------ */

/* One registration IKE SA as both ends describe it: same SPIs, PRF, KWA and SK_d; each
 * side names the other as its peer. */
typedef struct {
	uint8_t sk_d[32];
	char member_id[64];
	gikev2_ike_sa_t at_gcks;
	gikev2_ike_sa_t at_gm;
} ike_pair_t;

static const char gcks_id[] = "gcks.example";

static inline void ike_pair(ike_pair_t *p, uint8_t seed, const char *member_fqdn)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < sizeof(p->sk_d); i++)
		p->sk_d[i] = (uint8_t)(seed * 31 + i * 7 + 1);
	snprintf(p->member_id, sizeof(p->member_id), "%s", member_fqdn);
	for (i = 0; i < 8; i++) {
		p->at_gcks.spi_i[i] = (uint8_t)(seed + i + 1);
		p->at_gcks.spi_r[i] = (uint8_t)(0x80 + seed + i);
	}
	p->at_gcks.prf = 5; /* PRF_HMAC_SHA2_256 */
	p->at_gcks.kwa = 3; /* KW_5649_256 */
	p->at_gcks.sk_d = p->sk_d;
	p->at_gcks.sk_d_len = sizeof(p->sk_d);
	p->at_gm = p->at_gcks;
	p->at_gcks.peer_id_type = 2; /* ID_FQDN */
	p->at_gcks.peer_id = (const uint8_t *)p->member_id;
	p->at_gcks.peer_id_len = strlen(p->member_id);
	p->at_gm.peer_id_type = 2;
	p->at_gm.peer_id = (const uint8_t *)gcks_id;
	p->at_gm.peer_id_len = strlen(gcks_id);
}

static const gikev2_setting_t video_settings[] = {
	{"id", "fqdn:video.example.com"},
	{"members", "*.gms.example"},
	{"policies.p1.protocol", "esp"},
	{"policies.p1.encr", "aes256gcm16"},
	{"policies.p1.dst", "239.1.1.1/32[udp/5000]"},
	{"rekey.destination", "239.1.1.1[500]"},
	{"rekey.signature", "ed25519"},
	{"dtd", "5"},
	{"lkh_degree", "2"},
};

static const gikev2_setting_t video_membership[] = {
	{"group", "fqdn:video.example.com"},
	{"connection", "gcks"},
};

/* Copies of the payloads of a result, so they outlive it. */
typedef struct {
	gikev2_payload_t p[16];
	uint8_t *bodies[16];
	size_t count;
} payload_copy_t;

static inline void payloads_copy(const gikev2_result_t *r, payload_copy_t *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->count = gikev2_result_payload_count(r);
	CHECK(c->count <= COUNT(c->p));
	for (i = 0; i < c->count; i++) {
		CHECK_OK(gikev2_result_payload(r, i, &c->p[i]));
		c->bodies[i] = malloc(c->p[i].body_len ? c->p[i].body_len : 1);
		CHECK(c->bodies[i] != NULL);
		memcpy(c->bodies[i], c->p[i].body, c->p[i].body_len);
		c->p[i].body = c->bodies[i];
	}
}

static inline void payloads_free(payload_copy_t *c)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		free(c->bodies[i]);
	c->count = 0;
}

/* Runs a join for `m` from `gm` through the key server over `pair`, hands the response to
 * the member and returns the member's result (the key server's in *gcks_result if
 * wanted). */
static inline gikev2_result_t *registration(gikev2_gcks_t *gcks, gikev2_gm_t *gm,
									 const gikev2_membership_t *m,
									 const ike_pair_t *pair, uint8_t exchange,
									 uint64_t now, gikev2_result_t **gcks_result)
{
	gikev2_result_t *req = NULL, *resp = NULL, *done = NULL;
	payload_copy_t rq, rs;

	CHECK_OK(gikev2_gm_join(gm, m, &req));
	payloads_copy(req, &rq);
	gikev2_result_free(req);
	CHECK_OK(gikev2_gcks_handle_request(gcks, &pair->at_gcks, exchange, rq.p,
										rq.count, now, &resp));
	payloads_free(&rq);
	payloads_copy(resp, &rs);
	CHECK_OK(gikev2_gm_process_response(gm, m, rs.p, rs.count, now, &done));
	payloads_free(&rs);
	if (gcks_result)
		*gcks_result = resp;
	else
		gikev2_result_free(resp);
	return done;
}

static inline int ts_is(const gikev2_ts_t *ts, const uint8_t addr[4], uint8_t proto,
				 uint16_t port)
{
	return ts->ts_type == 7 && ts->ip_proto == proto && ts->start_port == port &&
		   ts->end_port == port && memcmp(ts->start_addr, addr, 4) == 0 &&
		   memcmp(ts->end_addr, addr, 4) == 0;
}

#endif /* GIKEV2_TEST_HARNESS_H */
