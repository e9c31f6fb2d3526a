/*
 * A whole group life through the C API only: a key server with a multicast group and an
 * inband group, two members registering over GSA_AUTH (and one over GSA_REGISTRATION),
 * one refused, the keys compared across members, an exclusion and a forced rekey carried
 * as GSA_REKEY datagrams, retransmissions, GSA_INBAND_REKEY, timers, leaving, and the log
 * checked for key bytes.
 */
#include "harness.h"

#include <pthread.h>

#define T0 1000000ull


/* An executor with a thread per job, as a daemon would hand the key server. */
typedef struct {
	gikev2_job_fn job;
	void *job_ctx;
	size_t index;
} job_arg_t;

static void *job_thread(void *p)
{
	job_arg_t *a = p;

	a->job(a->job_ctx, a->index);
	return NULL;
}

static void run_on_threads(void *user, size_t n, gikev2_job_fn job, void *job_ctx)
{
	pthread_t threads[16];
	job_arg_t args[16];
	bool started[16] = {false};
	size_t i;

	if (user)
	{
		(*(size_t *)user)++;
	}
	for (i = 0; i < n; i++)
	{
		if (i < 16)
		{
			args[i] = (job_arg_t){job, job_ctx, i};
			started[i] = pthread_create(&threads[i], NULL, job_thread, &args[i]) == 0;
		}
		if (i >= 16 || !started[i])
		{
			job(job_ctx, i);
		}
	}
	for (i = 0; i < n && i < 16; i++)
	{
		if (started[i])
		{
			pthread_join(threads[i], NULL);
		}
	}
}

static const uint8_t group_addr[4] = {239, 1, 1, 1};

typedef struct {
	uint8_t spi[4];
	uint8_t key[64];
	size_t key_len;
	uint8_t salt[8];
	size_t salt_len;
} sa_copy_t;

static void check_video_install(const gikev2_result_t *r, sa_copy_t *copy,
								uint64_t now)
{
	gikev2_sa_install_t sa;

	CHECK(gikev2_result_install_count(r) == 1);
	CHECK_OK(gikev2_result_install(r, 0, &sa));
	CHECK(strcmp(sa.group, "fqdn:video.example.com") == 0);
	CHECK(sa.protocol == 3);
	CHECK(sa.direction == GIKEV2_DIR_IN);
	CHECK(!sa.transport_mode);
	CHECK(ts_is(&sa.dst, group_addr, 17, 5000));
	CHECK(sa.src.ts_type == 7 && sa.src.end_addr[0] == 255);
	CHECK(sa.encr_alg == 20 && sa.encr_key_bits == 256); /* AES-GCM-16 */
	CHECK(sa.integ_alg == 0 && sa.integ_key_len == 0 && sa.integ_key != NULL);
	CHECK(sa.sn == 2);
	CHECK(sa.encr_key_len == 32 && sa.salt_len == 4);
	CHECK(sa.lifetime_secs > 0 && sa.lifetime_secs <= 3600);
	CHECK(sa.expires_at_ms > now && sa.expires_at_ms <= now + 3600 * 1000ull);
	CHECK(sa.send_from_ms == 0);
	memcpy(copy->spi, sa.spi, 4);
	memcpy(copy->key, sa.encr_key, sa.encr_key_len);
	copy->key_len = sa.encr_key_len;
	memcpy(copy->salt, sa.salt, sa.salt_len);
	copy->salt_len = sa.salt_len;
}

static int same_sa(const sa_copy_t *a, const sa_copy_t *b)
{
	return memcmp(a->spi, b->spi, 4) == 0 && a->key_len == b->key_len &&
		   memcmp(a->key, b->key, a->key_len) == 0 && a->salt_len == b->salt_len &&
		   memcmp(a->salt, b->salt, a->salt_len) == 0;
}

/* Datagrams of a key server result, copied. */
typedef struct {
	uint8_t *data[16];
	size_t len[16];
	uint32_t id[16];
	size_t count;
} datagrams_t;

static void datagrams_copy(const gikev2_result_t *r, datagrams_t *d)
{
	gikev2_datagram_t g;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->count = gikev2_result_datagram_count(r);
	CHECK(d->count <= COUNT(d->data));
	for (i = 0; i < d->count; i++) {
		CHECK_OK(gikev2_result_datagram(r, i, &g));
		CHECK(strcmp(g.group, "video") == 0);
		CHECK(ts_is(&g.dst, group_addr, 17, 500));
		CHECK(g.len > 28 && g.data[17] == 0x20 && g.data[18] == 41); /* v2, GSA_REKEY */
		d->data[i] = malloc(g.len);
		CHECK(d->data[i] != NULL);
		memcpy(d->data[i], g.data, g.len);
		d->len[i] = g.len;
		d->id[i] = g.message_id;
	}
}

static void datagrams_free(datagrams_t *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		free(d->data[i]);
	d->count = 0;
}

static size_t count_kind(const gikev2_result_t *r, gikev2_event_kind_t kind,
						 const char *member)
{
	gikev2_event_t e;
	size_t i, n = 0;

	for (i = 0; i < gikev2_result_event_count(r); i++) {
		CHECK_OK(gikev2_result_event(r, i, &e));
		CHECK(e.detail != NULL && e.group != NULL);
		if (e.kind == kind &&
			(member == NULL || (e.member && strcmp(e.member, member) == 0)))
			n++;
	}
	return n;
}

/* Hands every datagram of key server result `r` to member `gm`: each message completes on
 * its last fragment. */
static void deliver_all(const gikev2_result_t *r, gikev2_gm_t *gm, uint64_t now)
{
	gikev2_datagram_t d, next;
	gikev2_result_t *done = NULL;
	size_t i, n = gikev2_result_datagram_count(r);

	for (i = 0; i < n; i++) {
		CHECK_OK(gikev2_result_datagram(r, i, &d));
		if (i + 1 < n)
			CHECK_OK(gikev2_result_datagram(r, i + 1, &next));
		/* a message: one Rekey SA SPI (the first 16 octets) and Message ID */
		if (i + 1 == n || next.message_id != d.message_id ||
			memcmp(next.data, d.data, 16) != 0) {
			CHECK_OK(gikev2_gm_process_rekey(gm, d.data, d.len, now, &done));
			gikev2_result_free(done);
		} else {
			CHECK_STATUS(gikev2_gm_process_rekey(gm, d.data, d.len, now, &done),
						 GIKEV2_ERR_INCOMPLETE);
		}
	}
}

/* A batch exclusion large enough for the key server to split its key wraps into jobs:
 * the host's executor (threads here) runs them through the library's job function, and
 * a remaining member follows every message. */
static void batch_on_threads(void)
{
	static const gikev2_setting_t settings[] = {
		{"id", "fqdn:video.example.com"},
		{"members", "*.gms.example"},
		{"policies.p1.encr", "aes256gcm16"},
		{"policies.p1.dst", "239.1.1.1/32[udp/5000]"},
		{"rekey.destination", "239.1.1.1[500]"},
		{"rekey.signature", "ed25519"},
		{"lkh_degree", "4"},
	};
	enum { MEMBERS = 1024, EXCLUDED = 40 };
	static char names[EXCLUDED][32];
	const char *excluded[EXCLUDED];
	gikev2_gcks_t *gcks = NULL;
	gikev2_membership_t *m = NULL;
	gikev2_gm_t *gm = NULL, *kept = NULL;
	gikev2_result_t *r = NULL;
	size_t i, runs = 0;
	ike_pair_t p;
	char fqdn[32];

	CHECK_OK(gikev2_gcks_new(&gcks));
	CHECK_OK(gikev2_gcks_add_group(gcks, "video", settings, COUNT(settings), T0));
	CHECK_OK(gikev2_membership_new("video", video_membership, COUNT(video_membership), &m));
	for (i = 0; i < MEMBERS; i++) {
		snprintf(fqdn, sizeof(fqdn), "b%zu.gms.example", i);
		ike_pair(&p, (uint8_t)i, fqdn);
		p.at_gcks.spi_i[6] = p.at_gm.spi_i[6] = (uint8_t)(i >> 8);
		p.at_gcks.spi_i[7] = p.at_gm.spi_i[7] = (uint8_t)i;
		CHECK_OK(gikev2_gm_new(&p.at_gm, &gm));
		r = registration(gcks, gm, m, &p, 39, T0, NULL);
		if (gikev2_result_outcome(r) != GIKEV2_OUTCOME_REGISTERED)
			fprintf(stderr, "member %zu: outcome %d notify %d\n", i,
					(int)gikev2_result_outcome(r), (int)gikev2_result_notify(r));
		CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
		gikev2_result_free(r);
		if (i == 1)
			kept = gm; /* stays in the group */
		else
			gikev2_gm_free(gm);
	}
	for (i = 0; i < EXCLUDED; i++) {
		/* spread over the tree: every chunk touches many nodes */
		snprintf(names[i], sizeof(names[i]), "fqdn:b%zu.gms.example", 2 + i * 25);
		excluded[i] = names[i];
	}
	CHECK_OK(gikev2_gcks_set_executor(gcks, run_on_threads, 4, &runs));
	CHECK_OK(gikev2_gcks_exclude(gcks, "video", excluded, EXCLUDED, T0 + 1000, &r));
	CHECK(runs > 0);
	CHECK(count_kind(r, GIKEV2_EVENT_MEMBER_EXCLUDED, NULL) == EXCLUDED);
	CHECK(count_kind(r, GIKEV2_EVENT_NOT_EXCLUDED, NULL) == 0);
	/* 40 members: two KEK changes (32 + 8), then the new TEKs */
	CHECK(gikev2_result_datagram_count(r) >= 3);
	deliver_all(r, kept, T0 + 1000);
	gikev2_result_free(r);
	CHECK_OK(gikev2_gcks_set_executor(gcks, NULL, 0, NULL));

	gikev2_gm_free(kept);
	gikev2_membership_free(m);
	gikev2_gcks_free(gcks);
}

/* RFC 9838 §2.4.1.2 through gikev2_ike_sa_t.fragmentation: GSA_REKEY is fragmented only
 * while every member's IKE SA negotiated IKEv2 fragmentation. */
static void fragmentation(void)
{
	static const gikev2_setting_t settings[] = {
		{"id", "fqdn:video.example.com"},
		{"members", "*.gms.example"},
		{"policies.p1.encr", "aes256gcm16"},
		{"policies.p1.dst", "239.1.1.1/32[udp/5000]"},
		{"rekey.destination", "239.1.1.1[500]"},
		{"rekey.signature", "ed25519"},
		{"fragment_size", "256"},
	};
	gikev2_gcks_t *gcks = NULL;
	gikev2_membership_t *m = NULL;
	gikev2_gm_t *a = NULL, *b = NULL;
	gikev2_result_t *r = NULL;
	gikev2_datagram_t d;
	gikev2_ike_sa_t renewed;
	ike_pair_t pa, pb;
	size_t i, moved = 0;

	ike_pair(&pa, 21, "fa.gms.example");
	pa.at_gcks.fragmentation = true;
	ike_pair(&pb, 22, "fb.gms.example"); /* zeroed: no fragmentation */
	CHECK(!pb.at_gcks.fragmentation);
	CHECK_OK(gikev2_gcks_new(&gcks));
	CHECK_OK(gikev2_gcks_add_group(gcks, "video", settings, COUNT(settings), T0));
	CHECK_OK(gikev2_membership_new("video", video_membership, COUNT(video_membership), &m));
	CHECK_OK(gikev2_gm_new(&pa.at_gm, &a));
	CHECK_OK(gikev2_gm_new(&pb.at_gm, &b));
	r = registration(gcks, a, m, &pa, 39, T0, NULL);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	gikev2_result_free(r);
	r = registration(gcks, b, m, &pb, 39, T0, NULL);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	gikev2_result_free(r);

	/* b's IKE SA did not negotiate fragmentation: both messages go whole. */
	CHECK_OK(gikev2_gcks_force_rekey(gcks, "video", T0 + 1000, &r));
	CHECK(gikev2_result_datagram_count(r) == 2);
	CHECK_OK(gikev2_result_datagram(r, 0, &d));
	CHECK(d.len > 256);
	deliver_all(r, a, T0 + 1000);
	deliver_all(r, b, T0 + 1000);
	gikev2_result_free(r);

	/* b's IKE SA is rekeyed into one that did: fragments of at most 256 octets. */
	renewed = pb.at_gcks;
	renewed.spi_i[0] ^= 0xff;
	renewed.fragmentation = true;
	CHECK_OK(gikev2_gcks_ike_sa_rekeyed(gcks, &pb.at_gcks, &renewed, &moved));
	CHECK(moved == 1);
	CHECK_OK(gikev2_gcks_force_rekey(gcks, "video", T0 + 2000, &r));
	CHECK(gikev2_result_datagram_count(r) > 2);
	for (i = 0; i < gikev2_result_datagram_count(r); i++) {
		CHECK_OK(gikev2_result_datagram(r, i, &d));
		CHECK(d.len <= 256);
	}
	deliver_all(r, a, T0 + 2000);
	deliver_all(r, b, T0 + 2000);
	gikev2_result_free(r);

	gikev2_gm_free(a);
	gikev2_gm_free(b);
	gikev2_membership_free(m);
	gikev2_gcks_free(gcks);
}

int main(void)
{
	gikev2_gcks_t *gcks = NULL;
	gikev2_membership_t *video = NULL, *inband = NULL;
	gikev2_gm_t *gm1 = NULL, *gm2 = NULL, *gm3 = NULL;
	gikev2_result_t *r = NULL, *g = NULL;
	ike_pair_t p1, p2, p3;
	sa_copy_t sa1, sa2, sa_new, sa_rekeyed;
	datagrams_t ex, fr, rt;
	gikev2_rekey_listen_t listen;
	gikev2_sa_removal_t rm;
	gikev2_event_t ev;
	gikev2_payload_t pl;
	gikev2_inband_target_t target;
	payload_copy_t pc;
	uint64_t deadline = 0;
	uint8_t rekey_spi1[16];
	bool owns = false;
	char key_hex[129], sk_d_hex[65];
	size_t i;
	const gikev2_setting_t inband_settings[] = {
		{"id", "keyid:inband"},
		{"members", "%any"},
		{"policies.p1.encr", "aes128gcm16"},
		{"policies.p1.dst", "239.2.2.2/32[udp/6000]"},
		{"policies.p1.lifetime", "600"},
	};
	const gikev2_setting_t sender_membership[] = {
		{"group", "keyid:inband"},
		{"connection", "gcks"},
		{"sender", "yes"},
		{"sender_ids", "2"},
	};

	CHECK(strcmp(gikev2_version(), "0.1.0") == 0);
	CHECK_OK(gikev2_set_logger(capture_log, &captured, GIKEV2_LOG_TRACE));

	/* Key server with two groups. */
	CHECK_OK(gikev2_gcks_new(&gcks));
	CHECK_OK(gikev2_gcks_add_group(gcks, "video", video_settings,
								   COUNT(video_settings), T0));
	CHECK_OK(gikev2_gcks_add_group(gcks, "inband", inband_settings,
								   COUNT(inband_settings), T0));
	CHECK_OK(gikev2_membership_new("video", video_membership,
								   COUNT(video_membership), &video));
	CHECK_OK(gikev2_membership_new("inband", sender_membership,
								   COUNT(sender_membership), &inband));
	/* results name the member's groups as the membership does */
	CHECK(strcmp(gikev2_membership_group(video), "fqdn:video.example.com") == 0);

	/* Member 1 joins in GSA_AUTH. */
	ike_pair(&p1, 1, "gm1.gms.example");
	CHECK_OK(gikev2_gm_new(&p1.at_gm, &gm1));
	CHECK_OK(gikev2_gm_join(gm1, video, &r));
	CHECK(gikev2_result_payload_count(r) == 2); /* receiver: IDg, SAg */
	CHECK_OK(gikev2_result_payload(r, 0, &pl));
	CHECK(pl.type == 50 && !pl.critical && pl.body_len == 4 + 17);
	CHECK(memcmp(pl.body + 4, "video.example.com", 17) == 0);
	CHECK_OK(gikev2_result_payload(r, 1, &pl));
	CHECK(pl.type == 33);
	gikev2_result_free(r);
	r = registration(gcks, gm1, video, &p1, 39, T0, &g);
	CHECK(gikev2_result_notify(g) == 0);
	CHECK(gikev2_result_payload_count(g) == 2);
	CHECK_OK(gikev2_result_payload(g, 0, &pl));
	CHECK(pl.type == 51); /* GSA */
	CHECK_OK(gikev2_result_payload(g, 1, &pl));
	CHECK(pl.type == 52); /* KD */
	CHECK(gikev2_result_datagram_count(g) == 0);
	CHECK(count_kind(g, GIKEV2_EVENT_MEMBER_JOINED, "fqdn:gm1.gms.example") == 1);
	CHECK_OK(gikev2_result_event(g, 0, &ev));
	CHECK(strcmp(ev.group, "video") == 0 && ev.sender_id_count == 0);
	gikev2_result_free(g);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	CHECK(gikev2_result_notify(r) == 0);
	check_video_install(r, &sa1, T0);
	CHECK(gikev2_result_listen_count(r) == 1);
	CHECK_OK(gikev2_result_listen(r, 0, &listen));
	CHECK(ts_is(&listen.dst, group_addr, 17, 500));
	CHECK(listen.expires_at_ms > T0);
	memcpy(rekey_spi1, listen.spi, 16);
	CHECK(count_kind(r, GIKEV2_EVENT_MEMBER_JOINED, NULL) == 1);
	gikev2_result_free(r);

	/* Member 2, another IKE SA (SPIs, SK_d, identity): the same SA and the same keys,
	 * delivered wrapped under a different GSK_w. */
	ike_pair(&p2, 2, "gm2.gms.example");
	CHECK_OK(gikev2_gm_new(&p2.at_gm, &gm2));
	r = registration(gcks, gm2, video, &p2, 39, T0 + 10, NULL);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	check_video_install(r, &sa2, T0 + 10);
	CHECK(same_sa(&sa1, &sa2));
	CHECK_OK(gikev2_result_listen(r, 0, &listen));
	CHECK(memcmp(listen.spi, rekey_spi1, 16) == 0);
	gikev2_result_free(r);

	/* A member the group does not authorise is refused with AUTHORIZATION_FAILED. */
	ike_pair(&p3, 3, "gm3.other.example");
	CHECK_OK(gikev2_gm_new(&p3.at_gm, &gm3));
	r = registration(gcks, gm3, video, &p3, 39, T0, &g);
	CHECK(gikev2_result_notify(g) == 46);
	CHECK(gikev2_result_payload_count(g) == 1);
	CHECK(gikev2_result_event_count(g) == 0);
	gikev2_result_free(g);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REFUSED);
	CHECK(gikev2_result_notify(r) == 46);
	CHECK(gikev2_result_install_count(r) == 0);
	gikev2_result_free(r);

	/* The member knows its Rekey SA. */
	CHECK_OK(gikev2_gm_owns_rekey_spi(gm1, rekey_spi1, 16, &owns));
	CHECK(owns);
	rekey_spi1[0] ^= 1;
	CHECK_OK(gikev2_gm_owns_rekey_spi(gm1, rekey_spi1, 16, &owns));
	CHECK(!owns);
	rekey_spi1[0] ^= 1;

	/* Operator views. */
	CHECK_OK(gikev2_gcks_status(gcks, T0 + 2000, &r));
	CHECK(strstr(gikev2_result_text(r), "group video (fqdn:video.example.com): 2 member(s)"));
	CHECK(strstr(gikev2_result_text(r), "member fqdn:gm1.gms.example: receiver"));
	CHECK(strstr(gikev2_result_text(r), "member fqdn:gm2.gms.example: receiver"));
	CHECK(strstr(gikev2_result_text(r), "group inband (keyid:inband): 0 member(s)"));
	gikev2_result_free(r);
	CHECK_OK(gikev2_gm_status(gm1, T0 + 2000, &r));
	CHECK(strstr(gikev2_result_text(r), "group fqdn:video.example.com: receiver"));
	gikev2_result_free(r);

	/* Member 1 registers again (GSA_REGISTRATION): same SA, same keys, nothing to
	 * remove. */
	r = registration(gcks, gm1, video, &p1, 40, T0 + 2500, &g);
	CHECK(count_kind(g, GIKEV2_EVENT_MEMBER_REREGISTERED, "fqdn:gm1.gms.example") == 1);
	gikev2_result_free(g);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	CHECK(count_kind(r, GIKEV2_EVENT_MEMBER_REREGISTERED, NULL) == 1);
	CHECK(gikev2_result_removal_count(r) == 0);
	check_video_install(r, &sa_new, T0 + 2500);
	CHECK(same_sa(&sa_new, &sa1));
	gikev2_result_free(r);

	/* Exclude member 2: a new KEK it cannot unwrap, then new TEKs under it. */
	{
		static const char *const gm2_only[] = {"fqdn:gm2.gms.example"};

	/* With the host's threads for the key wraps: the same protocol (a plan this
	 * small stays on the calling thread; the library splits thousands of wraps). */
	CHECK_OK(gikev2_gcks_set_executor(gcks, run_on_threads, 4, NULL));
	CHECK_OK(gikev2_gcks_exclude(gcks, "video", gm2_only, 1, T0 + 3000, &r));
	CHECK_OK(gikev2_gcks_set_executor(gcks, NULL, 0, NULL));
	CHECK(count_kind(r, GIKEV2_EVENT_MEMBER_EXCLUDED, "fqdn:gm2.gms.example") == 1);
	CHECK(count_kind(r, GIKEV2_EVENT_NOT_EXCLUDED, NULL) == 0);
	CHECK(count_kind(r, GIKEV2_EVENT_TEKS_OWED, NULL) == 0);
	}
	datagrams_copy(r, &ex);
	gikev2_result_free(r);
	CHECK(ex.count == 2);
	CHECK(memcmp(ex.data[0], ex.data[1], 16) != 0); /* old, then new Rekey SA */

	/* Member 1 follows: new Rekey SA, then the new data SA. */
	CHECK_OK(gikev2_gm_process_rekey(gm1, ex.data[0], ex.len[0], T0 + 3100, &r));
	CHECK(gikev2_result_listen_count(r) == 1);
	CHECK(gikev2_result_install_count(r) == 0);
	CHECK_OK(gikev2_result_listen(r, 0, &listen));
	CHECK(memcmp(listen.spi, rekey_spi1, 16) != 0);
	gikev2_result_free(r);
	CHECK_OK(gikev2_gm_process_rekey(gm1, ex.data[1], ex.len[1], T0 + 3100, &r));
	check_video_install(r, &sa_new, T0 + 3100);
	CHECK(memcmp(sa_new.spi, sa1.spi, 4) != 0);
	CHECK(memcmp(sa_new.key, sa1.key, 32) != 0);
	/* Old SAs go after DTD, through the timers. */
	CHECK(gikev2_result_removal_count(r) == 0);
	gikev2_result_free(r);

	/* Member 2 learns it is excluded and cannot follow. */
	CHECK_OK(gikev2_gm_process_rekey(gm2, ex.data[0], ex.len[0], T0 + 3100, &r));
	CHECK(count_kind(r, GIKEV2_EVENT_MEMBER_EXCLUDED, NULL) == 1);
	CHECK(gikev2_result_install_count(r) == 0);
	CHECK(gikev2_result_listen_count(r) == 0);
	CHECK(gikev2_result_removal_count(r) >= 1);
	CHECK_OK(gikev2_result_removal(r, gikev2_result_removal_count(r) - 1, &rm));
	CHECK(rm.protocol == 6 && rm.spi_len == 16 && memcmp(rm.spi, rekey_spi1, 16) == 0);
	gikev2_result_free(r);
	CHECK_STATUS(gikev2_gm_process_rekey(gm2, ex.data[1], ex.len[1], T0 + 3100, &r),
				 GIKEV2_ERR_NOT_FOUND);

	/* A replayed datagram changes nothing. */
	CHECK_STATUS(gikev2_gm_process_rekey(gm1, ex.data[1], ex.len[1], T0 + 3200, &r),
				 GIKEV2_ERR_REPLAY);

	/* Retransmissions are bit-identical copies. */
	CHECK_OK(gikev2_gcks_next_deadline(gcks, &deadline));
	CHECK(deadline == T0 + 4000);
	CHECK_OK(gikev2_gcks_on_timeout(gcks, deadline, &r));
	datagrams_copy(r, &rt);
	gikev2_result_free(r);
	CHECK(rt.count == 2);
	for (i = 0; i < 2; i++)
		CHECK(rt.len[i] == ex.len[i] && memcmp(rt.data[i], ex.data[i], ex.len[i]) == 0);
	datagrams_free(&rt);
	datagrams_free(&ex);

	/* After DTD (5 s) member 1 removes the old data SA and the old Rekey SA. */
	CHECK_OK(gikev2_gm_next_deadline(gm1, &deadline));
	CHECK(deadline == T0 + 3100 + 5000);
	CHECK_OK(gikev2_gm_on_timeout(gm1, deadline - 1, &r));
	CHECK(gikev2_result_removal_count(r) == 0);
	gikev2_result_free(r);
	CHECK_OK(gikev2_gm_on_timeout(gm1, deadline, &r));
	CHECK(gikev2_result_removal_count(r) == 2);
	{
		int esp = 0, kek = 0;

		for (i = 0; i < 2; i++) {
			CHECK_OK(gikev2_result_removal(r, i, &rm));
			CHECK(rm.at_ms == deadline);
			CHECK(strcmp(rm.group, "fqdn:video.example.com") == 0);
			if (rm.protocol == 3 && rm.spi_len == 4 && memcmp(rm.spi, sa1.spi, 4) == 0)
				esp++;
			if (rm.protocol == 6 && rm.spi_len == 16 &&
				memcmp(rm.spi, rekey_spi1, 16) == 0)
				kek++;
		}
		CHECK(esp == 1 && kek == 1);
	}
	gikev2_result_free(r);

	/* A forced rekey reaches member 1 too. */
	CHECK_OK(gikev2_gcks_force_rekey(gcks, "video", T0 + 10000, &r));
	datagrams_copy(r, &fr);
	gikev2_result_free(r);
	CHECK(fr.count == 2);
	CHECK_OK(gikev2_gm_process_rekey(gm1, fr.data[0], fr.len[0], T0 + 10000, &r));
	gikev2_result_free(r);
	CHECK_OK(gikev2_gm_process_rekey(gm1, fr.data[1], fr.len[1], T0 + 10000, &r));
	check_video_install(r, &sa_rekeyed, T0 + 10000);
	CHECK(memcmp(sa_rekeyed.spi, sa_new.spi, 4) != 0);
	gikev2_result_free(r);
	datagrams_free(&fr);

	/* GSA_INBAND_REKEY of the same group for member 1: the current SA, same keys. */
	CHECK_OK(gikev2_gcks_inband_rekey(gcks, &p1.at_gcks, "video", T0 + 11000, &r));
	payloads_copy(r, &pc);
	gikev2_result_free(r);
	CHECK(pc.count >= 2 && pc.p[0].type == 51 && pc.p[1].type == 52);
	CHECK_OK(gikev2_gm_process_inband_rekey(gm1, pc.p, pc.count, T0 + 11000, &r));
	payloads_free(&pc);
	check_video_install(r, &sa_new, T0 + 11000);
	CHECK(same_sa(&sa_new, &sa_rekeyed));
	gikev2_result_free(r);

	/* Member 1 also joins the inband group as a sender, in GSA_REGISTRATION. */
	r = registration(gcks, gm1, inband, &p1, 40, T0 + 12000, &g);
	CHECK(count_kind(g, GIKEV2_EVENT_MEMBER_JOINED, "fqdn:gm1.gms.example") == 1);
	CHECK_OK(gikev2_result_event(g, 0, &ev));
	CHECK(strcmp(ev.group, "inband") == 0 && ev.sender_id_count == 2);
	gikev2_result_free(g);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	CHECK(gikev2_result_listen_count(r) == 0);
	CHECK(gikev2_result_install_count(r) == 1);
	{
		gikev2_sa_install_t sa;

		CHECK_OK(gikev2_result_install(r, 0, &sa));
		CHECK(strcmp(sa.group, "keyid:inband") == 0);
		CHECK(sa.direction == GIKEV2_DIR_BOTH && sa.encr_key_bits == 128);
		CHECK(sa.send_from_ms >= T0 + 12000);
		memcpy(sa1.spi, sa.spi, 4);
	}
	CHECK_OK(gikev2_result_event(r, 0, &ev));
	CHECK(ev.kind == GIKEV2_EVENT_MEMBER_JOINED && ev.member == NULL);
	CHECK(ev.sender_id_count == 2 && strstr(ev.detail, "16 bits"));
	gikev2_result_free(r);

	/* Member 1's IKE SA was rekeyed (RFC 7296 §2.18): its memberships move to the
	 * new SPIs; an IKE SA nobody registered over moves nothing. */
	{
		gikev2_ike_sa_t rekeyed = p1.at_gcks;
		size_t moved = 99;

		rekeyed.spi_i[0] ^= 0xff;
		rekeyed.spi_r[7] ^= 0xff;
		CHECK_OK(gikev2_gcks_ike_sa_rekeyed(gcks, &p1.at_gcks, &rekeyed, &moved));
		CHECK(moved == 2); /* "video" and "inband" */
		CHECK_OK(gikev2_gcks_ike_sa_rekeyed(gcks, &p1.at_gcks, &rekeyed, &moved));
		CHECK(moved == 0);
		p1.at_gcks = rekeyed;
		p1.at_gm.spi_i[0] ^= 0xff;
		p1.at_gm.spi_r[7] ^= 0xff;
		CHECK_OK(gikev2_gm_update_ike_sa(gm1, &p1.at_gm));
	}
	/* Rekeying the inband group names member 1's (new) IKE SA ... */
	CHECK_OK(gikev2_gcks_force_rekey(gcks, "inband", T0 + 13000, &r));
	CHECK(gikev2_result_datagram_count(r) == 0);
	CHECK(gikev2_result_inband_count(r) == 1);
	CHECK_OK(gikev2_result_inband(r, 0, &target));
	CHECK(strcmp(target.group, "inband") == 0);
	CHECK(strcmp(target.member, "fqdn:gm1.gms.example") == 0);
	CHECK(memcmp(target.spi_i, p1.at_gcks.spi_i, 8) == 0);
	CHECK(memcmp(target.spi_r, p1.at_gcks.spi_r, 8) == 0);
	gikev2_result_free(r);
	/* ... whose GSA_INBAND_REKEY replaces the SA (the member is in two groups: the
	 * deleted SPI tells which). */
	CHECK_OK(gikev2_gcks_inband_rekey(gcks, &p1.at_gcks, "inband", T0 + 13000, &r));
	payloads_copy(r, &pc);
	gikev2_result_free(r);
	CHECK(pc.count == 3 && pc.p[2].type == 42);
	CHECK_OK(gikev2_gm_process_inband_rekey(gm1, pc.p, pc.count, T0 + 13000, &r));
	payloads_free(&pc);
	CHECK(gikev2_result_install_count(r) == 1);
	{
		gikev2_sa_install_t sa;

		CHECK_OK(gikev2_result_install(r, 0, &sa));
		CHECK(strcmp(sa.group, "keyid:inband") == 0);
		CHECK(memcmp(sa.spi, sa1.spi, 4) != 0);
	}
	gikev2_result_free(r);

	/* Member 1 leaves the video group. */
	CHECK_OK(gikev2_gm_leave(gm1, video, &r));
	payloads_copy(r, &pc);
	gikev2_result_free(r);
	CHECK(pc.count == 2 && pc.p[0].type == 50 && pc.p[1].type == 41);
	CHECK_OK(gikev2_gcks_handle_request(gcks, &p1.at_gcks, 40, pc.p, pc.count,
										T0 + 14000, &g));
	payloads_free(&pc);
	CHECK(gikev2_result_payload_count(g) == 0 && gikev2_result_notify(g) == 0);
	CHECK(count_kind(g, GIKEV2_EVENT_MEMBER_LEFT, "fqdn:gm1.gms.example") == 1);
	gikev2_result_free(g);
	CHECK_OK(gikev2_gm_process_response(gm1, video, NULL, 0, T0 + 14000, &r));
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_LEFT);
	CHECK(gikev2_result_removal_count(r) >= 2);
	for (i = 0; i < gikev2_result_removal_count(r); i++) {
		CHECK_OK(gikev2_result_removal(r, i, &rm));
		CHECK(rm.at_ms == T0 + 14000);
		CHECK(strcmp(rm.group, "fqdn:video.example.com") == 0);
	}
	gikev2_result_free(r);
	CHECK_OK(gikev2_gcks_status(gcks, T0 + 15000, &r));
	CHECK(strstr(gikev2_result_text(r), "group video (fqdn:video.example.com): 0 member(s)"));
	CHECK(strstr(gikev2_result_text(r), "group inband (keyid:inband): 1 member(s)"));
	CHECK(strstr(gikev2_result_text(r), "member fqdn:gm1.gms.example: sender-ids "));
	gikev2_result_free(r);

	/* Nothing secret was logged: neither a data key nor SK_d. */
	CHECK(captured.lines > 10);
	CHECK(log_contains("fqdn:gm2.gms.example"));
	hex(sa_rekeyed.key, sa_rekeyed.key_len, key_hex);
	CHECK(!log_contains(key_hex));
	hex(sa2.key, sa2.key_len, key_hex);
	CHECK(!log_contains(key_hex));
	hex(p1.sk_d, sizeof(p1.sk_d), sk_d_hex);
	CHECK(!log_contains(sk_d_hex));

	CHECK_OK(gikev2_set_logger(NULL, NULL, GIKEV2_LOG_ERROR));
	gikev2_gm_free(gm1);
	gikev2_gm_free(gm2);
	gikev2_gm_free(gm3);
	gikev2_membership_free(video);
	gikev2_membership_free(inband);
	gikev2_gcks_free(gcks);
	fragmentation();
	batch_on_threads();
	printf("abi_roundtrip: %d checks passed\n", checks);
	return 0;
}
