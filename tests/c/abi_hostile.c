/*
 * The C API under hostile or careless use: NULL for every pointer argument of every
 * function, outputs left untouched on failure, empty and out-of-range arguments, invalid
 * enum values, non-UTF-8 strings, bad settings, garbage, truncated, forged and replayed
 * network input. Every call must return its documented status and never crash.
 */
#include "harness.h"

#define T0 5000000ull

static uint8_t big[70000];

static gikev2_result_t *const SENTINEL = (gikev2_result_t *)&checks;

/* A result pointer that must not be touched by a failing call. */
#define OUT_UNTOUCHED(r) CHECK((r) == SENTINEL)

static void null_getters(void)
{
	gikev2_payload_t p;
	gikev2_datagram_t d;
	gikev2_sa_install_t i;
	gikev2_sa_removal_t rm;
	gikev2_rekey_listen_t l;
	gikev2_inband_target_t t;
	gikev2_event_t e;

	gikev2_result_free(NULL);
	gikev2_gcks_free(NULL);
	gikev2_gm_free(NULL);
	gikev2_membership_free(NULL);
	CHECK(gikev2_membership_group(NULL) != NULL &&
		  gikev2_membership_group(NULL)[0] == '\0');
	CHECK(gikev2_result_notify(NULL) == 0);
	CHECK(gikev2_result_outcome(NULL) == GIKEV2_OUTCOME_NONE);
	CHECK(gikev2_result_text(NULL) != NULL && gikev2_result_text(NULL)[0] == '\0');
	CHECK(gikev2_result_payload_count(NULL) == 0);
	CHECK(gikev2_result_datagram_count(NULL) == 0);
	CHECK(gikev2_result_install_count(NULL) == 0);
	CHECK(gikev2_result_removal_count(NULL) == 0);
	CHECK(gikev2_result_listen_count(NULL) == 0);
	CHECK(gikev2_result_inband_count(NULL) == 0);
	CHECK(gikev2_result_event_count(NULL) == 0);
	CHECK_STATUS(gikev2_result_payload(NULL, 0, &p), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_datagram(NULL, 0, &d), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_install(NULL, 0, &i), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_removal(NULL, 0, &rm), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_listen(NULL, 0, &l), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_inband(NULL, 0, &t), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_event(NULL, 0, &e), GIKEV2_ERR_NULL);
}

/* Index checks and NULL outputs on a real (status) result. */
static void result_indices(gikev2_result_t *r)
{
	gikev2_payload_t p;
	gikev2_datagram_t d;
	gikev2_sa_install_t i;
	gikev2_sa_removal_t rm;
	gikev2_rekey_listen_t l;
	gikev2_inband_target_t t;
	gikev2_event_t e;

	memset(&p, 0xa5, sizeof(p));
	CHECK_STATUS(gikev2_result_payload(r, 0, &p), GIKEV2_ERR_ARGUMENT);
	CHECK(p.type == 0xa5); /* untouched */
	CHECK_STATUS(gikev2_result_payload(r, (size_t)-1, &p), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_datagram(r, 0, &d), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_install(r, 0, &i), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_removal(r, 0, &rm), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_listen(r, 0, &l), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_inband(r, 0, &t), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_event(r, 0, &e), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_result_payload(r, 0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_datagram(r, 0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_install(r, 0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_removal(r, 0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_listen(r, 0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_inband(r, 0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_result_event(r, 0, NULL), GIKEV2_ERR_NULL);
}

static void misc(void)
{
	CHECK(strcmp(gikev2_status_str(GIKEV2_ERR_REPLAY), "GIKEV2_ERR_REPLAY") == 0);
	CHECK(strcmp(gikev2_status_str((gikev2_status_t)99), "GIKEV2_UNKNOWN_STATUS") == 0);
	CHECK(gikev2_version() != NULL);
	CHECK_STATUS(gikev2_set_logger(capture_log, &captured, (gikev2_log_level_t)0),
				 GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_set_logger(capture_log, &captured, (gikev2_log_level_t)6),
				 GIKEV2_ERR_ARGUMENT);
	/* NULL disables logging, whatever the level. */
	CHECK_OK(gikev2_set_logger(NULL, NULL, (gikev2_log_level_t)0));
	CHECK_OK(gikev2_set_logger(capture_log, &captured, GIKEV2_LOG_DEBUG));
}

/* NULL for every pointer argument of the key server functions. */
/** An executor that runs every job on the calling thread. */
static void run_inline(void *user, size_t n, gikev2_job_fn job, void *job_ctx)
{
	(void)user;
	for (size_t i = 0; i < n; i++)
	{
		job(job_ctx, i);
	}
}

static void gcks_nulls(gikev2_gcks_t *gcks, const ike_pair_t *pair)
{
	gikev2_result_t *r = SENTINEL;
	gikev2_payload_t pl = {50, false, NULL, 0};
	gikev2_setting_t bad_key[] = {{NULL, "x"}};
	gikev2_setting_t bad_value[] = {{"id", NULL}};
	uint64_t t = 7;

	CHECK_STATUS(gikev2_gcks_new(NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_add_group(NULL, "g", video_settings, COUNT(video_settings), T0),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, NULL, video_settings, COUNT(video_settings), T0),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "g", NULL, 1, T0), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "g", bad_key, 1, T0), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "g", bad_value, 1, T0), GIKEV2_ERR_NULL);

	CHECK_STATUS(gikev2_gcks_handle_request(NULL, &pair->at_gcks, 39, &pl, 1, T0, &r),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, NULL, 39, &pl, 1, T0, &r),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, NULL, 1, T0, &r),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, &pl, 1, T0, NULL),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_set_executor(NULL, run_inline, 2, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_set_executor(gcks, run_inline, 0, NULL), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gcks_set_executor(gcks, NULL, 0, NULL), GIKEV2_OK);
	{
		const char *a[] = {"fqdn:a.gms.example"};
		const char *with_null[] = {"fqdn:a.gms.example", NULL};

		CHECK_STATUS(gikev2_gcks_exclude(NULL, "video", a, 1, T0, &r), GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, NULL, a, 1, T0, &r), GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", NULL, 1, T0, &r), GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", with_null, 2, T0, &r),
					 GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", a, 1, T0, NULL), GIKEV2_ERR_NULL);
		/* NULL with count 0 is an empty list, which is refused. */
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", NULL, 0, T0, &r),
					 GIKEV2_ERR_ARGUMENT);
	}
	{
		size_t moved = 7;

		CHECK_STATUS(gikev2_gcks_ike_sa_rekeyed(NULL, &pair->at_gcks, &pair->at_gcks, &moved),
					 GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_ike_sa_rekeyed(gcks, NULL, &pair->at_gcks, &moved),
					 GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_ike_sa_rekeyed(gcks, &pair->at_gcks, NULL, &moved),
					 GIKEV2_ERR_NULL);
		CHECK_STATUS(gikev2_gcks_ike_sa_rekeyed(gcks, &pair->at_gcks, &pair->at_gcks, NULL),
					 GIKEV2_ERR_NULL);
		CHECK(moved == 7);
	}
	CHECK_STATUS(gikev2_gcks_force_rekey(NULL, "video", T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_force_rekey(gcks, NULL, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_force_rekey(gcks, "video", T0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_inband_rekey(NULL, &pair->at_gcks, "video", T0, &r),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_inband_rekey(gcks, NULL, "video", T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_inband_rekey(gcks, &pair->at_gcks, NULL, T0, &r),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_inband_rekey(gcks, &pair->at_gcks, "video", T0, NULL),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_next_deadline(NULL, &t), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_next_deadline(gcks, NULL), GIKEV2_ERR_NULL);
	CHECK(t == 7);
	CHECK_STATUS(gikev2_gcks_on_timeout(NULL, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_on_timeout(gcks, T0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_status(NULL, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gcks_status(gcks, T0, NULL), GIKEV2_ERR_NULL);
	OUT_UNTOUCHED(r);
}

/* NULL for every pointer argument of the member functions. */
static void gm_nulls(gikev2_gm_t *gm, const gikev2_membership_t *m,
					 const ike_pair_t *pair)
{
	gikev2_result_t *r = SENTINEL;
	gikev2_gm_t *g = (gikev2_gm_t *)SENTINEL;
	gikev2_membership_t *mo = (gikev2_membership_t *)SENTINEL;
	gikev2_payload_t pl = {51, false, NULL, 0};
	uint8_t spi[16] = {0};
	uint8_t dgram[40] = {0};
	bool owns = true;
	uint64_t t = 7;

	CHECK_STATUS(gikev2_membership_new(NULL, video_membership, COUNT(video_membership), &mo),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_membership_new("m", NULL, 1, &mo), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_membership_new("m", video_membership, COUNT(video_membership), NULL),
				 GIKEV2_ERR_NULL);
	CHECK(mo == (gikev2_membership_t *)SENTINEL);
	CHECK_STATUS(gikev2_gm_new(NULL, &g), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_new(&pair->at_gm, NULL), GIKEV2_ERR_NULL);
	CHECK(g == (gikev2_gm_t *)SENTINEL);
	CHECK_STATUS(gikev2_gm_update_ike_sa(NULL, &pair->at_gm), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_update_ike_sa(gm, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_join(NULL, m, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_join(gm, NULL, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_join(gm, m, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_leave(NULL, m, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_leave(gm, NULL, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_leave(gm, m, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_response(NULL, m, &pl, 1, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_response(gm, NULL, &pl, 1, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_response(gm, m, NULL, 1, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_response(gm, m, &pl, 1, T0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_owns_rekey_spi(NULL, spi, 16, &owns), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_owns_rekey_spi(gm, NULL, 16, &owns), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_owns_rekey_spi(gm, spi, 16, NULL), GIKEV2_ERR_NULL);
	CHECK(owns);
	CHECK_STATUS(gikev2_gm_process_rekey(NULL, dgram, sizeof(dgram), T0, &r),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_rekey(gm, NULL, sizeof(dgram), T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_rekey(gm, dgram, sizeof(dgram), T0, NULL),
				 GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_inband_rekey(NULL, &pl, 1, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_inband_rekey(gm, NULL, 1, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_process_inband_rekey(gm, &pl, 1, T0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_next_deadline(NULL, &t), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_next_deadline(gm, NULL), GIKEV2_ERR_NULL);
	CHECK(t == 7);
	CHECK_STATUS(gikev2_gm_on_timeout(NULL, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_on_timeout(gm, T0, NULL), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_status(NULL, T0, &r), GIKEV2_ERR_NULL);
	CHECK_STATUS(gikev2_gm_status(gm, T0, NULL), GIKEV2_ERR_NULL);
	OUT_UNTOUCHED(r);
}

/* Wrong IKE SA descriptions. */
static void bad_ike_sas(const ike_pair_t *pair)
{
	gikev2_gm_t *g = (gikev2_gm_t *)SENTINEL;
	gikev2_ike_sa_t sa;

	sa = pair->at_gm;
	sa.prf = 2; /* PRF_HMAC_SHA1: not supported */
	CHECK_STATUS(gikev2_gm_new(&sa, &g), GIKEV2_ERR_ARGUMENT);
	sa = pair->at_gm;
	sa.kwa = 0;
	CHECK_STATUS(gikev2_gm_new(&sa, &g), GIKEV2_ERR_ARGUMENT);
	sa = pair->at_gm;
	sa.sk_d_len = 0;
	CHECK_STATUS(gikev2_gm_new(&sa, &g), GIKEV2_ERR_ARGUMENT);
	sa = pair->at_gm;
	sa.sk_d = NULL;
	CHECK_STATUS(gikev2_gm_new(&sa, &g), GIKEV2_ERR_NULL);
	sa = pair->at_gm;
	sa.peer_id = NULL;
	CHECK_STATUS(gikev2_gm_new(&sa, &g), GIKEV2_ERR_NULL);
	CHECK(g == (gikev2_gm_t *)SENTINEL);
	/* the member may not know the key server's identity yet (remote %any) ... */
	sa = pair->at_gm;
	sa.peer_id_len = 0;
	CHECK_OK(gikev2_gm_new(&sa, &g));
	CHECK(g != NULL && g != (gikev2_gm_t *)SENTINEL);
	CHECK_OK(gikev2_gm_update_ike_sa(g, &sa));
	gikev2_gm_free(g);
	/* ... the key server must know the member's */
	{
		gikev2_gcks_t *gcks = NULL;
		gikev2_result_t *r = SENTINEL;
		gikev2_payload_t pl = {50, false, (const uint8_t *)"\x02\0\0\0x", 5};

		CHECK_OK(gikev2_gcks_new(&gcks));
		sa = pair->at_gcks;
		sa.peer_id_len = 0;
		CHECK_STATUS(gikev2_gcks_handle_request(gcks, &sa, 39, &pl, 1, T0, &r),
					 GIKEV2_ERR_ARGUMENT);
		OUT_UNTOUCHED(r);
		gikev2_gcks_free(gcks);
	}
}

/* Settings the daemon might hand over by mistake. */
static void bad_settings(gikev2_gcks_t *gcks)
{
	gikev2_membership_t *m = (gikev2_membership_t *)SENTINEL;
	gikev2_setting_t unknown[] = {{"id", "fqdn:x"}, {"members", "%any"}, {"colour", "blue"}};
	gikev2_setting_t bad_encr[] = {
		{"id", "fqdn:video2.example.com"},
		{"members", "%any"},
		{"policies.p1.encr", "aes999"},
		{"policies.p1.dst", "239.1.1.9/32[udp/5000]"},
	};
	gikev2_setting_t not_utf8[] = {{"id", "fqdn:\xff\xfe"}, {"members", "%any"}};
	gikev2_setting_t same_id[] = {
		{"id", "fqdn:video.example.com"},
		{"members", "%any"},
		{"policies.p1.dst", "239.1.1.9/32[udp/5000]"},
		{"policies.p1.lifetime", "0"},
	};
	gikev2_setting_t bad_member[] = {{"group", "g"}, {"sendr", "yes"}};

	log_reset();
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "bad", unknown, COUNT(unknown), T0),
				 GIKEV2_ERR_CONFIG);
	CHECK(log_contains("groups.bad.colour: unknown setting"));
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "video2", bad_encr, COUNT(bad_encr), T0),
				 GIKEV2_ERR_CONFIG);
	CHECK(log_contains("groups.video2.policies.p1.encr: unknown algorithm 'aes999' "
					   "(expected one of aes128, aes192, aes256, aes128gcm16"));
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "empty", NULL, 0, T0), GIKEV2_ERR_CONFIG);
	CHECK(log_contains("groups.empty.id: required setting missing"));
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "x", not_utf8, COUNT(not_utf8), T0),
				 GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "", video_settings, COUNT(video_settings), T0),
				 GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "a.b", video_settings, COUNT(video_settings), T0),
				 GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "\xc3", video_settings, COUNT(video_settings), T0),
				 GIKEV2_ERR_ARGUMENT);
	/* The section exists; another section with the same group ID. */
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "video", video_settings, COUNT(video_settings), T0),
				 GIKEV2_ERR_CONFIG);
	CHECK_STATUS(gikev2_gcks_add_group(gcks, "again", same_id, COUNT(same_id), T0),
				 GIKEV2_ERR_CONFIG);
	CHECK(log_contains("groups.again.id: group fqdn:video.example.com is configured already "
					   "in groups.video"));
	CHECK_STATUS(gikev2_membership_new("m", bad_member, COUNT(bad_member), &m),
				 GIKEV2_ERR_CONFIG);
	CHECK(log_contains("memberships.m.sendr: unknown setting"));
	CHECK_STATUS(gikev2_membership_new("m", NULL, 0, &m), GIKEV2_ERR_CONFIG);
	CHECK(m == (gikev2_membership_t *)SENTINEL);
}

/* Registration requests and responses that are malformed or refused. */
static void bad_registrations(gikev2_gcks_t *gcks, const ike_pair_t *pair)
{
	gikev2_result_t *r = SENTINEL, *req = NULL, *resp = NULL;
	gikev2_gm_t *gm = NULL;
	gikev2_membership_t *m = NULL, *picky = NULL;
	payload_copy_t rq, rs;
	gikev2_payload_t cut[16];
	uint8_t junk[3] = {2, 0, 0};
	gikev2_payload_t one = {50, false, junk, sizeof(junk)};
	gikev2_payload_t zero_type = {0, false, junk, sizeof(junk)};
	gikev2_payload_t null_body = {50, false, NULL, 5};
	const gikev2_setting_t picky_settings[] = {
		{"group", "fqdn:video.example.com"},
		{"accept.encr", "aes128"},
		{"accept.integ", "sha256"},
	};
	size_t i, n;

	CHECK_OK(gikev2_membership_new("video", video_membership, COUNT(video_membership), &m));
	CHECK_OK(gikev2_gm_new(&pair->at_gm, &gm));

	/* Key server: wrong exchange, truncated IDg, type 0, NULL body. */
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 41, &one, 1, T0, &r),
				 GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, &one, 1, T0, &r),
				 GIKEV2_ERR_DECODE);
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, &zero_type, 1, T0, &r),
				 GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, &null_body, 1, T0, &r),
				 GIKEV2_ERR_NULL);
	OUT_UNTOUCHED(r);
	/* No payloads at all: a well-formed request without IDg, refused INVALID_SYNTAX. */
	CHECK_OK(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, NULL, 0, T0, &r));
	CHECK(gikev2_result_notify(r) == 7);
	CHECK(gikev2_result_payload_count(r) == 1);
	{
		gikev2_payload_t p;

		CHECK_STATUS(gikev2_result_payload(r, 1, &p), GIKEV2_ERR_ARGUMENT);
		CHECK_OK(gikev2_result_payload(r, 0, &p));
		CHECK(p.type == 41 && p.body_len == 4 && p.body[2] == 0 && p.body[3] == 7);
	}
	gikev2_result_free(r);
	r = SENTINEL;

	/* Member: no request pending. */
	CHECK_STATUS(gikev2_gm_process_response(gm, m, NULL, 0, T0, &r), GIKEV2_ERR_NOT_FOUND);
	/* A join, then a response with a truncated GSA: rejected, state unchanged. */
	CHECK_OK(gikev2_gm_join(gm, m, &req));
	payloads_copy(req, &rq);
	gikev2_result_free(req);
	CHECK_OK(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 39, rq.p, rq.count, T0, &resp));
	payloads_free(&rq);
	payloads_copy(resp, &rs);
	gikev2_result_free(resp);
	CHECK(rs.count == 2);
	for (i = 0; i < rs.count; i++)
		cut[i] = rs.p[i];
	/* Cut inside the last substructure of the GSA, then of the KD. */
	for (n = 1; n <= 3; n++) {
		cut[0].body_len = rs.p[0].body_len - n;
		CHECK_STATUS(gikev2_gm_process_response(gm, m, cut, rs.count, T0, &r),
					 GIKEV2_ERR_DECODE);
	}
	cut[0] = rs.p[0];
	cut[1].body_len--;
	CHECK_STATUS(gikev2_gm_process_response(gm, m, cut, rs.count, T0, &r), GIKEV2_ERR_DECODE);
	/* A body longer than an IKEv2 payload can be. */
	cut[1].body = big;
	cut[1].body_len = sizeof(big);
	CHECK_STATUS(gikev2_gm_process_response(gm, m, cut, rs.count, T0, &r),
				 GIKEV2_ERR_ARGUMENT);
	OUT_UNTOUCHED(r);
	/* Without the KD the response is unusable: the member must leave. */
	CHECK_OK(gikev2_gm_process_response(gm, m, rs.p, 1, T0, &r));
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_MUST_LEAVE);
	CHECK(gikev2_result_notify(r) == 49);
	CHECK(gikev2_result_payload_count(r) == 2);
	CHECK(gikev2_result_install_count(r) == 0);
	payloads_copy(r, &rq);
	gikev2_result_free(r);
	CHECK(rq.p[0].type == 50 && rq.p[1].type == 41);
	CHECK_OK(gikev2_gcks_handle_request(gcks, &pair->at_gcks, 40, rq.p, rq.count, T0, &resp));
	payloads_free(&rq);
	CHECK(gikev2_result_payload_count(resp) == 0);
	gikev2_result_free(resp);
	CHECK_OK(gikev2_gm_process_response(gm, m, NULL, 0, T0, &r));
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_LEFT);
	gikev2_result_free(r);
	/* The full response now has no pending request any more. */
	r = SENTINEL;
	CHECK_STATUS(gikev2_gm_process_response(gm, m, rs.p, rs.count, T0, &r),
				 GIKEV2_ERR_NOT_FOUND);
	OUT_UNTOUCHED(r);
	payloads_free(&rs);

	/* A member that accepts only AES-CBC is refused NO_PROPOSAL_CHOSEN. */
	CHECK_OK(gikev2_membership_new("picky", picky_settings, COUNT(picky_settings), &picky));
	r = registration(gcks, gm, picky, pair, 40, T0, NULL);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REFUSED);
	CHECK(gikev2_result_notify(r) == 14);
	gikev2_result_free(r);

	/* Inband rekey for a member of no group. */
	r = SENTINEL;
	CHECK_STATUS(gikev2_gm_process_inband_rekey(gm, NULL, 0, T0, &r), GIKEV2_ERR_NOT_FOUND);
	CHECK_STATUS(gikev2_gm_process_inband_rekey(gm, &one, 1, T0, &r), GIKEV2_ERR_DECODE);
	OUT_UNTOUCHED(r);

	gikev2_membership_free(picky);
	gikev2_membership_free(m);
	gikev2_gm_free(gm);
}

/* GSA_REKEY datagrams: garbage, truncation, forgery, replay. */
static void bad_datagrams(gikev2_gcks_t *gcks, const ike_pair_t *pair)
{
	gikev2_result_t *r = SENTINEL;
	gikev2_gm_t *gm = NULL;
	gikev2_membership_t *m = NULL;
	gikev2_datagram_t d;
	uint8_t *copy, garbage[200];
	size_t i, len;
	bool owns = true;
	uint8_t spi[16];

	CHECK_OK(gikev2_membership_new("video", video_membership, COUNT(video_membership), &m));
	CHECK_OK(gikev2_gm_new(&pair->at_gm, &gm));
	r = registration(gcks, gm, m, pair, 39, T0, NULL);
	CHECK(gikev2_result_outcome(r) == GIKEV2_OUTCOME_REGISTERED);
	gikev2_result_free(r);
	r = SENTINEL;

	CHECK_STATUS(gikev2_gm_owns_rekey_spi(gm, spi, 15, &owns), GIKEV2_ERR_ARGUMENT);
	CHECK_STATUS(gikev2_gm_owns_rekey_spi(gm, NULL, 0, &owns), GIKEV2_ERR_ARGUMENT);
	CHECK(owns);

	/* Empty, short and random datagrams. */
	CHECK_STATUS(gikev2_gm_process_rekey(gm, NULL, 0, T0, &r), GIKEV2_ERR_DECODE);
	CHECK_STATUS(gikev2_gm_process_rekey(gm, garbage, 0, T0, &r), GIKEV2_ERR_DECODE);
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 151 + 7);
	CHECK_STATUS(gikev2_gm_process_rekey(gm, garbage, 10, T0, &r), GIKEV2_ERR_DECODE);
	/* Garbage whose first 16 octets name no Rekey SA of this member. */
	CHECK_STATUS(gikev2_gm_process_rekey(gm, garbage, sizeof(garbage), T0, &r),
				 GIKEV2_ERR_NOT_FOUND);
	OUT_UNTOUCHED(r);

	/* A real GSA_REKEY. */
	CHECK_OK(gikev2_gcks_force_rekey(gcks, "video", T0 + 1000, &r));
	CHECK(gikev2_result_datagram_count(r) == 2);
	CHECK_OK(gikev2_result_datagram(r, 0, &d));
	len = d.len;
	copy = malloc(len);
	CHECK(copy != NULL);
	memcpy(copy, d.data, len);
	gikev2_result_free(r);
	r = SENTINEL;
	memcpy(spi, copy, 16);
	CHECK_OK(gikev2_gm_owns_rekey_spi(gm, spi, 16, &owns));
	CHECK(owns);

	/* Garbage payloads after the real IKE header of the member's Rekey SA, the Length
	 * field set to fit. */
	memcpy(garbage, copy, 28);
	garbage[24] = 0;
	garbage[25] = 0;
	garbage[26] = 0;
	garbage[27] = sizeof(garbage);
	CHECK_STATUS(gikev2_gm_process_rekey(gm, garbage, sizeof(garbage), T0 + 1000, &r),
				 GIKEV2_ERR_DECODE);
	/* Truncated anywhere: does not decode. */
	for (i = 0; i < len; i += 13)
		CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, i, T0 + 1000, &r), GIKEV2_ERR_DECODE);
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len - 1, T0 + 1000, &r), GIKEV2_ERR_DECODE);
	/* Unknown Rekey SA. */
	copy[3] ^= 0x40;
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r), GIKEV2_ERR_NOT_FOUND);
	copy[3] ^= 0x40;
	/* Forged: a flipped bit in the ciphertext or ICV, or in the authenticated header. */
	copy[len - 1] ^= 1;
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r),
				 GIKEV2_ERR_AUTHENTICATION);
	copy[len - 1] ^= 1;
	copy[len - 40] ^= 0x10;
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r),
				 GIKEV2_ERR_AUTHENTICATION);
	copy[len - 40] ^= 0x10;
	copy[22] ^= 0x01; /* Message ID (octets 20-23) */
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r),
				 GIKEV2_ERR_AUTHENTICATION);
	copy[22] ^= 0x01;
	/* Not a GSA_REKEY. */
	copy[18] = 40;
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r), GIKEV2_ERR_PROTOCOL);
	copy[18] = 41;
	OUT_UNTOUCHED(r);

	/* None of that changed the member: the real datagram is accepted once, then a
	 * replay. */
	CHECK_OK(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r));
	CHECK(gikev2_result_listen_count(r) == 1);
	gikev2_result_free(r);
	r = SENTINEL;
	CHECK_STATUS(gikev2_gm_process_rekey(gm, copy, len, T0 + 1000, &r), GIKEV2_ERR_REPLAY);
	OUT_UNTOUCHED(r);
	free(copy);

	/* The key server: unknown names, a member named twice, a bad identity; each
	 * refusal changes nothing, even when the list also names this member. */
	{
		const char *nobody[] = {"fqdn:b.gms.example", "fqdn:nobody.gms.example"};
		const char *twice[] = {"fqdn:b.gms.example", "fqdn:b.gms.example"};
		const char *bad[] = {"fqdn:b.gms.example", "ipv4:300.1.1.1"};

		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", nobody, 2, T0, &r),
					 GIKEV2_ERR_NOT_FOUND);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "nosuch", nobody, 1, T0, &r),
					 GIKEV2_ERR_NOT_FOUND);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", twice, 2, T0, &r),
					 GIKEV2_ERR_ARGUMENT);
		CHECK_STATUS(gikev2_gcks_exclude(gcks, "video", bad, 2, T0, &r),
					 GIKEV2_ERR_ARGUMENT);
	}
	CHECK_STATUS(gikev2_gcks_force_rekey(gcks, "nosuch", T0, &r), GIKEV2_ERR_NOT_FOUND);
	CHECK_STATUS(gikev2_gcks_inband_rekey(gcks, &pair->at_gcks, "nosuch", T0, &r),
				 GIKEV2_ERR_NOT_FOUND);
	OUT_UNTOUCHED(r);
	/* The member is still in the group and follows the next rekey. */
	CHECK_OK(gikev2_gcks_force_rekey(gcks, "video", T0 + 2000, &r));
	CHECK(gikev2_result_datagram_count(r) == 2);
	for (i = 0; i < 2; i++) {
		gikev2_result_t *followed = NULL;

		CHECK_OK(gikev2_result_datagram(r, i, &d));
		CHECK_OK(gikev2_gm_process_rekey(gm, d.data, d.len, T0 + 2000, &followed));
		/* first the new Rekey SA, then the new data SA under it */
		CHECK(gikev2_result_listen_count(followed) == (i == 0 ? 1u : 0u));
		CHECK(gikev2_result_install_count(followed) == (i == 0 ? 0u : 1u));
		gikev2_result_free(followed);
	}
	gikev2_result_free(r);

	gikev2_membership_free(m);
	gikev2_gm_free(gm);
}

int main(void)
{
	gikev2_gcks_t *gcks = NULL, *empty = NULL;
	gikev2_gm_t *gm = NULL;
	gikev2_membership_t *m = NULL;
	gikev2_result_t *r = NULL;
	ike_pair_t pair, pair2;
	uint64_t t = 7;

	misc();
	null_getters();
	ike_pair(&pair, 9, "a.gms.example");
	ike_pair(&pair2, 10, "b.gms.example");

	CHECK_OK(gikev2_gcks_new(&gcks));
	CHECK_OK(gikev2_gcks_add_group(gcks, "video", video_settings, COUNT(video_settings), T0));
	CHECK_OK(gikev2_membership_new("video", video_membership, COUNT(video_membership), &m));
	CHECK_OK(gikev2_gm_new(&pair.at_gm, &gm));

	gcks_nulls(gcks, &pair);
	gm_nulls(gm, m, &pair);
	bad_ike_sas(&pair);
	bad_settings(gcks);

	/* Nothing scheduled yet. */
	CHECK_OK(gikev2_gcks_new(&empty));
	CHECK_STATUS(gikev2_gcks_next_deadline(empty, &t), GIKEV2_ERR_NOT_FOUND);
	CHECK_STATUS(gikev2_gm_next_deadline(gm, &t), GIKEV2_ERR_NOT_FOUND);
	CHECK(t == 7);
	CHECK_OK(gikev2_gcks_status(empty, T0, &r));
	CHECK(strcmp(gikev2_result_text(r), "") == 0);
	result_indices(r);
	gikev2_result_free(r);
	gikev2_gcks_free(empty);

	bad_registrations(gcks, &pair);
	bad_datagrams(gcks, &pair2);

	CHECK_OK(gikev2_set_logger(NULL, NULL, GIKEV2_LOG_ERROR));
	gikev2_gm_free(gm);
	gikev2_membership_free(m);
	gikev2_gcks_free(gcks);
	printf("abi_hostile: %d checks passed\n", checks);
	return 0;
}
