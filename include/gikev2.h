/*
 * gikev2.h - C ABI of the gikev2 library: group key management for IPsec
 * (G-IKEv2, RFC 9838) as a sans-IO core for an existing IKEv2 daemon.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * Contract (every function follows it):
 *  - The object comes first, then inputs, then outputs.
 *  - Every function returns a gikev2_status_t (except the _free functions, the
 *    stringifiers and the few documented getters). GIKEV2_OK means success;
 *    outputs are written only on success, never on failure.
 *  - Every pointer argument is checked: NULL where a value is required gives
 *    GIKEV2_ERR_NULL. Every buffer is followed by its size_t length; a NULL
 *    buffer with length 0 is an empty buffer.
 *  - Exactly one _free per _new (or per function that hands out an owned
 *    object); _free accepts NULL. Objects are not thread-safe: the host
 *    serialises calls on one object (charon: one mutex per object).
 *  - Pointers found inside a result (payload bodies, keys, strings) are
 *    borrowed: they stay valid until that result is freed, and the host never
 *    frees them. Secret keys live in memory the library wipes when the result
 *    is freed; the host copies them only into the kernel/SA it installs.
 *  - No function panics across the boundary: an internal bug is caught and
 *    reported as GIKEV2_ERR_INTERNAL, and the object stays usable.
 *  - Time is always an input: milliseconds on the host's monotonic clock.
 *  - Strings are NUL-terminated UTF-8.
 *
 * Protocol errors carry the IKEv2 notify the daemon must send (RFC 9838 §4.7):
 * see gikev2_result_notify().
 */
#ifndef GIKEV2_H
#define GIKEV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

/** Result of every call. */
typedef enum gikev2_status {
	/** Success. */
	GIKEV2_OK = 0,
	/** A required pointer argument was NULL. */
	GIKEV2_ERR_NULL = 1,
	/** An argument is out of range or malformed (not UTF-8, unknown name). */
	GIKEV2_ERR_ARGUMENT = 2,
	/** A configuration setting is wrong or missing; the log line names it. */
	GIKEV2_ERR_CONFIG = 3,
	/** Bytes from the network do not decode (truncated, bad lengths). */
	GIKEV2_ERR_DECODE = 4,
	/** The message decodes but breaks RFC 9838 or this host's policy. */
	GIKEV2_ERR_PROTOCOL = 5,
	/** Integrity check, decryption, unwrap or signature failed. */
	GIKEV2_ERR_AUTHENTICATION = 6,
	/** A GSA_REKEY Message ID was already seen or is too old. */
	GIKEV2_ERR_REPLAY = 7,
	/** No such group, member, SA or pending request. */
	GIKEV2_ERR_NOT_FOUND = 8,
	/** More fragments are needed before the message can be processed. */
	GIKEV2_ERR_INCOMPLETE = 9,
	/** The operation does not fit the object's state (e.g. no Rekey SA). */
	GIKEV2_ERR_STATE = 10,
	/** The crypto library (OpenSSL) failed or lacks an algorithm. */
	GIKEV2_ERR_CRYPTO = 11,
	/** An internal error (a bug) was caught at the boundary. */
	GIKEV2_ERR_INTERNAL = 12,
} gikev2_status_t;

/** A static, human-readable name for a status, e.g. "GIKEV2_ERR_DECODE". */
const char *gikev2_status_str(gikev2_status_t status);

/** The library version, e.g. "0.1.0" (static string). */
const char *gikev2_version(void);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

/** Log levels (as in the Rust log crate). */
typedef enum gikev2_log_level {
	GIKEV2_LOG_ERROR = 1,
	GIKEV2_LOG_WARN = 2,
	GIKEV2_LOG_INFO = 3,
	GIKEV2_LOG_DEBUG = 4,
	GIKEV2_LOG_TRACE = 5,
} gikev2_log_level_t;

/**
 * Log callback: user data first, then the level and a NUL-terminated line
 * (valid during the call only). Called on the thread that called into the
 * library. Secrets are never logged (key IDs and lengths only).
 */
typedef void (*gikev2_log_fn)(void *user, gikev2_log_level_t level,
							  const char *line);

/**
 * Installs the process-wide log callback (NULL to disable) and the most
 * verbose level passed to it. May be called again to replace it.
 */
gikev2_status_t gikev2_set_logger(gikev2_log_fn fn, void *user,
								  gikev2_log_level_t max_level);

/* ------------------------------------------------------------------------ */
/* Plain data crossing the boundary                                          */
/* ------------------------------------------------------------------------ */

/** One configuration setting: a dotted key relative to the section and its
 *  value, both as the daemon's config file has them. */
typedef struct gikev2_setting {
	const char *key;
	const char *value;
} gikev2_setting_t;

/**
 * One IKEv2 payload (RFC 7296 §3.2) without its 4-octet generic header.
 * type: 33 SA (SAg), 41 Notify, 42 Delete, 50 IDg, 51 GSA, 52 KD, ...
 */
typedef struct gikev2_payload {
	uint8_t type;
	bool critical;
	const uint8_t *body;
	size_t body_len;
} gikev2_payload_t;

/**
 * The registration IKE SA as the daemon knows it after IKE_SA_INIT
 * (RFC 9838 §2.3): SPIs, negotiated PRF and Key Wrap Algorithm, SK_d, the
 * peer's identity (authenticated at the key server; configured at the member)
 * and whether IKEv2 fragmentation was negotiated.
 * The library derives GSK_w from SK_d at once and keeps no copy of SK_d.
 */
typedef struct gikev2_ike_sa {
	uint8_t spi_i[8];
	uint8_t spi_r[8];
	/** PRF transform ID (IKEv2 Transform Type 2), e.g. 5 PRF_HMAC_SHA2_256. */
	uint16_t prf;
	/** KWA transform ID (Transform Type 13), e.g. 3 KW_5649_256. */
	uint16_t kwa;
	const uint8_t *sk_d;
	size_t sk_d_len;
	/** IKEv2 ID Type of the peer (1 IPv4, 2 FQDN, 3 RFC822, 5 IPv6, 11 KEY_ID).
	 *  At the member the peer ID may be empty: the key server's identity is not
	 *  known before IKE_AUTH when the connection accepts any (gikev2_gm_new,
	 *  then gikev2_gm_update_ike_sa once it is). */
	uint8_t peer_id_type;
	const uint8_t *peer_id;
	size_t peer_id_len;
	/** Both peers sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (RFC 7383
	 *  §2.3; strongSwan: supports_extension(EXT_IKE_FRAGMENTATION)). The key
	 *  server fragments GSA_REKEY (setting fragment_size) only while every
	 *  member of the group registered over such an IKE SA (RFC 9838 §2.4.1.2);
	 *  false (e.g. a zeroed struct) means no. Unused at the member. */
	bool fragmentation;
} gikev2_ike_sa_t;

/** A traffic selector (RFC 7296 §3.13.1). Addresses in network order; IPv4
 *  uses the first 4 octets. */
typedef struct gikev2_ts {
	/** 7 TS_IPV4_ADDR_RANGE or 8 TS_IPV6_ADDR_RANGE. */
	uint8_t ts_type;
	/** IP protocol, 0 for any. */
	uint8_t ip_proto;
	uint16_t start_port;
	uint16_t end_port;
	uint8_t start_addr[16];
	uint8_t end_addr[16];
} gikev2_ts_t;

/** Which way a group SA is installed (RFC 9838 §2.3.3). */
typedef enum gikev2_direction {
	GIKEV2_DIR_IN = 1,
	GIKEV2_DIR_OUT = 2,
	GIKEV2_DIR_BOTH = 3,
} gikev2_direction_t;

/** A Data-Security SA to install (member side). */
typedef struct gikev2_sa_install {
	/** Group ID in text form, e.g. "fqdn:video.example.com". */
	const char *group;
	/** 3 ESP or 2 AH. */
	uint8_t protocol;
	/** SPI in network order. */
	uint8_t spi[4];
	gikev2_direction_t direction;
	bool transport_mode;
	gikev2_ts_t src;
	gikev2_ts_t dst;
	/** ENCR transform ID (0 for AH) and key length in bits (0 if fixed). */
	uint16_t encr_alg;
	uint16_t encr_key_bits;
	/** INTEG transform ID (0 none/AEAD). */
	uint16_t integ_alg;
	/** Sequence Numbers transform ID (RFC 9838 §2.6). */
	uint16_t sn;
	/** Encryption key without salt; salt (AEAD/CTR, else empty); integrity key. */
	const uint8_t *encr_key;
	size_t encr_key_len;
	const uint8_t *salt;
	size_t salt_len;
	const uint8_t *integ_key;
	size_t integ_key_len;
	/** GSA_KEY_LIFETIME in seconds (0: none); absolute expiry in ms (0: none). */
	uint32_t lifetime_secs;
	uint64_t expires_at_ms;
	/** When this member may start sending on it (now + GWP_ATD; 0 if inbound). */
	uint64_t send_from_ms;
} gikev2_sa_install_t;

/** An SA to remove, and when (member side, after GWP_DTD). Each removal is reported
 *  once, when due: SAs a rekey replaces by gikev2_gm_on_timeout() after GWP_DTD (see
 *  gikev2_gm_next_deadline()); SAs that go at once (leaving, an exclusion, SAs a new
 *  registration no longer lists) by that operation, with at_ms = now. */
typedef struct gikev2_sa_removal {
	const char *group;
	/** 3 ESP, 2 AH, 6 GIKE_UPDATE (a Rekey SA). */
	uint8_t protocol;
	/** 4 octets (ESP/AH) or 16 (GIKE_UPDATE), network order. */
	uint8_t spi[16];
	size_t spi_len;
	uint64_t at_ms;
} gikev2_sa_removal_t;

/** A Rekey SA the member must listen on: join dst's multicast address and
 *  receive GSA_REKEY on dst's port (RFC 9838 §2.4). */
typedef struct gikev2_rekey_listen {
	const char *group;
	uint8_t spi[16];
	gikev2_ts_t src;
	gikev2_ts_t dst;
	uint64_t expires_at_ms;
} gikev2_rekey_listen_t;

/** A datagram the key server must send: one GSA_REKEY (or one fragment of it),
 *  without the non-ESP marker, from src to dst (the Rekey SA selectors). */
typedef struct gikev2_datagram {
	/** Group section name. */
	const char *group;
	uint32_t message_id;
	const uint8_t *data;
	size_t len;
	gikev2_ts_t src;
	gikev2_ts_t dst;
} gikev2_datagram_t;

/** A member whose IKE SA must carry a GSA_INBAND_REKEY (RFC 9838 §2.4.2):
 *  build its payloads with gikev2_gcks_inband_rekey(). */
typedef struct gikev2_inband_target {
	/** Group section name. */
	const char *group;
	/** Member identity, text form. */
	const char *member;
	uint8_t spi_i[8];
	uint8_t spi_r[8];
} gikev2_inband_target_t;

/** What happened, for the daemon's log and the operator. */
typedef enum gikev2_event_kind {
	GIKEV2_EVENT_MEMBER_JOINED = 1,
	GIKEV2_EVENT_MEMBER_REREGISTERED = 2,
	GIKEV2_EVENT_MEMBER_LEFT = 3,
	GIKEV2_EVENT_MEMBER_EXCLUDED = 4,
	/** Member side: register again (GSA_REGISTRATION or a new GSA_AUTH). */
	GIKEV2_EVENT_REREGISTER = 5,
	/** Key server: gikev2_gcks_exclude() left this member in the group: the
	 *  KEK change that was to exclude it failed (an internal error, the detail
	 *  says which) after earlier ones went through. Nothing of the member's
	 *  changed; exclude it again. */
	GIKEV2_EVENT_NOT_EXCLUDED = 6,
	/** Key server (member NULL): the new Data-Security SAs that must follow a
	 *  KEK change (RFC 9838 §3.2.1) could not be built (detail). The KEK change
	 *  is in the result and must be sent; the library retries the SAs from
	 *  gikev2_gcks_on_timeout() every 5 s. Until then, members that left can
	 *  still read group traffic. Reported by gikev2_gcks_exclude(); after a
	 *  forced or periodic rekey the same state is only logged. */
	GIKEV2_EVENT_TEKS_OWED = 7,
} gikev2_event_kind_t;

typedef struct gikev2_event {
	gikev2_event_kind_t kind;
	/** Group section name (key server) or group ID text (member). */
	const char *group;
	/** Member identity (key server side) or NULL. */
	const char *member;
	/** Sender-IDs given (first, count), count 0 if none. At the member, one
	 *  MEMBER_JOINED / MEMBER_REREGISTERED event per run of consecutive Sender-IDs;
	 *  the detail names GWP_SENDER_ID_BITS. */
	uint32_t sender_id_first;
	uint32_t sender_id_count;
	/** Human-readable detail (reason), never NULL. */
	const char *detail;
} gikev2_event_t;

/** Outcome of a registration exchange as seen by the member. */
typedef enum gikev2_outcome {
	/** Nothing to report (operations other than a registration). */
	GIKEV2_OUTCOME_NONE = 0,
	/** Registered: install the SAs of the result. */
	GIKEV2_OUTCOME_REGISTERED = 1,
	/** Left the group: remove its SAs. */
	GIKEV2_OUTCOME_LEFT = 2,
	/** The key server refused; gikev2_result_notify() names its notify. */
	GIKEV2_OUTCOME_REFUSED = 3,
	/** The member cannot use what it got and must leave: send the result's
	 *  payloads in a GSA_REGISTRATION (notify NO_PROPOSAL_CHOSEN or
	 *  REGISTRATION_FAILED). */
	GIKEV2_OUTCOME_MUST_LEAVE = 4,
} gikev2_outcome_t;

/* ------------------------------------------------------------------------ */
/* Results                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Everything one operation asks the host to do, in this order:
 *  1. send the datagrams (GSA_REKEY) - before the response payloads, when both
 *     are present (backward access control rekeys the group first);
 *  2. put the payloads into the response / request being built;
 *  3. remove, install, listen, run the inband rekeys;
 *  4. log the events.
 * Lists not relevant to an operation are empty. Free with gikev2_result_free().
 */
typedef struct gikev2_result gikev2_result_t;

void gikev2_result_free(gikev2_result_t *result);

/** The IKEv2 notify type the payloads carry as an error (key server) or the
 *  key server refused with (member), 0 if none. */
uint16_t gikev2_result_notify(const gikev2_result_t *result);
gikev2_outcome_t gikev2_result_outcome(const gikev2_result_t *result);

size_t gikev2_result_payload_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_payload(const gikev2_result_t *result,
									  size_t index, gikev2_payload_t *out);
size_t gikev2_result_datagram_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_datagram(const gikev2_result_t *result,
									   size_t index, gikev2_datagram_t *out);
size_t gikev2_result_install_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_install(const gikev2_result_t *result,
									  size_t index, gikev2_sa_install_t *out);
size_t gikev2_result_removal_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_removal(const gikev2_result_t *result,
									  size_t index, gikev2_sa_removal_t *out);
size_t gikev2_result_listen_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_listen(const gikev2_result_t *result,
									 size_t index, gikev2_rekey_listen_t *out);
size_t gikev2_result_inband_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_inband(const gikev2_result_t *result,
									 size_t index, gikev2_inband_target_t *out);
size_t gikev2_result_event_count(const gikev2_result_t *result);
gikev2_status_t gikev2_result_event(const gikev2_result_t *result,
									size_t index, gikev2_event_t *out);
/** Text attached to the result (gikev2_gcks_status(), gikev2_gm_status()):
 *  one line per group/member/SA; "" if none. Never NULL for a valid result. */
const char *gikev2_result_text(const gikev2_result_t *result);

/* ------------------------------------------------------------------------ */
/* Key server (GCKS)                                                         */
/* ------------------------------------------------------------------------ */

typedef struct gikev2_gcks gikev2_gcks_t;

gikev2_status_t gikev2_gcks_new(gikev2_gcks_t **out);
void gikev2_gcks_free(gikev2_gcks_t *gcks);

/** One of the library's jobs: the executor calls it once per index. */
typedef void (*gikev2_job_fn)(void *job_ctx, size_t index);

/**
 * Runs jobs for the library (it starts no threads itself): must call
 * job(job_ctx, i) exactly once for every i in [0, n), on any threads and in any
 * order, and return only when every call has returned. Neither `run` nor a job
 * may call back into the key server that asked (it is in the middle of a call).
 * A job that was not run, or that failed inside, fails the KEK change it
 * belonged to like any internal error, and nothing of that change is sent: the
 * call returns GIKEV2_ERR_INTERNAL if nothing had changed yet; an exclusion
 * whose earlier chunks went through returns GIKEV2_OK with their datagrams and
 * GIKEV2_EVENT_NOT_EXCLUDED for the rest; a periodic rekey in
 * gikev2_gcks_on_timeout() is logged and tried again 5 s later.
 */
typedef void (*gikev2_executor_fn)(void *user, size_t n, gikev2_job_fn job,
								   void *job_ctx);

/**
 * Hands the key server the host's threads for the key wraps of large LKH rekeys
 * (a batch exclusion of many members, RFC 9838 §3.2): they are split into at
 * most `parallelism` jobs (>= 1) that `run` executes; `run` and `user` must be
 * usable from any thread that calls into this key server. `run` NULL goes back
 * to the calling thread (`parallelism` and `user` are then ignored). Applies to
 * every group; the messages are the same either way.
 *
 * @return GIKEV2_ERR_NULL if `gcks` is NULL, GIKEV2_ERR_ARGUMENT if `run` is
 *         set and `parallelism` is 0, else GIKEV2_OK
 */
gikev2_status_t gikev2_gcks_set_executor(gikev2_gcks_t *gcks,
										 gikev2_executor_fn run,
										 size_t parallelism, void *user);

/**
 * Adds the group configured in the daemon's section `name` (e.g. strongSwan's
 * charon.plugins.gikev2.groups.<name>). Keys are relative to that section;
 * see docs/configuration.md. GIKEV2_ERR_CONFIG names the wrong setting in the
 * log (e.g. "groups.video.policies.p1.encr: unknown algorithm 'aes999'").
 */
gikev2_status_t gikev2_gcks_add_group(gikev2_gcks_t *gcks, const char *name,
									  const gikev2_setting_t *settings,
									  size_t count, uint64_t now_ms);

/**
 * Handles the group part of a GSA_AUTH (exchange 39) or GSA_REGISTRATION (40)
 * request, after the daemon authenticated the peer: `payloads` are the
 * request's IDg, SAg (SA), N and other payloads (decrypted). The result's
 * payloads go into the response (GSA + KD, or the error notify, or nothing
 * when the member leaves); its datagrams are sent first. Another exchange
 * type is GIKEV2_ERR_ARGUMENT; payloads that do not decode GIKEV2_ERR_DECODE.
 */
gikev2_status_t gikev2_gcks_handle_request(gikev2_gcks_t *gcks,
										   const gikev2_ike_sa_t *ike_sa,
										   uint8_t exchange,
										   const gikev2_payload_t *payloads,
										   size_t count, uint64_t now_ms,
										   gikev2_result_t **out);

/** The IKE SA `old` was rekeyed into `new` (RFC 7296 §2.18): members that
 *  registered over it are reached over the new one from now on (their
 *  GSA_INBAND_REKEY targets carry the new SPIs), and new->fragmentation is
 *  recorded for them (RFC 9838 §2.4.1.2). Only the SPIs of the two descriptions
 *  and new->fragmentation are used. `*out_moved` is how many memberships moved. */
gikev2_status_t gikev2_gcks_ike_sa_rekeyed(gikev2_gcks_t *gcks,
										   const gikev2_ike_sa_t *old,
										   const gikev2_ike_sa_t *new_sa,
										   size_t *out_moved);

/**
 * Excludes `count` (at least 1) members, given as identity texts (e.g.
 * "fqdn:gm3.example"), from group section `group`: LKH rekey datagrams (RFC
 * 9838 §3.2, §3.2.1; more than 32 members in several KEK changes) or inband
 * targets for a group without a Rekey SA. The members are refused if they
 * register again.
 *
 * An error status means nothing changed: GIKEV2_ERR_NOT_FOUND for an unknown
 * group or member, GIKEV2_ERR_ARGUMENT for a malformed identity, a member named
 * twice or count 0, another status for an internal failure before the first
 * KEK change went out.
 *
 * GIKEV2_OK means at least one KEK change was made: send every datagram, in
 * order, also when the operation was only partly done. The events say what
 * happened: GIKEV2_EVENT_MEMBER_EXCLUDED for each member excluded,
 * GIKEV2_EVENT_NOT_EXCLUDED for each member a later KEK change failed to
 * exclude (still a member), GIKEV2_EVENT_TEKS_OWED when the new Data-Security
 * SAs follow later.
 */
gikev2_status_t gikev2_gcks_exclude(gikev2_gcks_t *gcks, const char *group,
									const char *const *members, size_t count,
									uint64_t now_ms, gikev2_result_t **out);

/** Rekeys group section `group` now. */
gikev2_status_t gikev2_gcks_force_rekey(gikev2_gcks_t *gcks, const char *group,
										uint64_t now_ms, gikev2_result_t **out);

/** The payloads of a GSA_INBAND_REKEY request (exchange 42) for the member on
 *  `ike_sa`, group section `group`: the current group SAs and their keys; for a
 *  member an exclusion listed (RFC 9838 §2.4.3), only Deletes of the SAs it holds
 *  and a Delete of GIKE_UPDATE SPI 0 (a charon member needs libcharon patch 0005
 *  to parse it), once. GIKEV2_ERR_NOT_FOUND for anyone else who is not a member. */
gikev2_status_t gikev2_gcks_inband_rekey(gikev2_gcks_t *gcks,
										 const gikev2_ike_sa_t *ike_sa,
										 const char *group, uint64_t now_ms,
										 gikev2_result_t **out);

/** Earliest time gikev2_gcks_on_timeout() has work; GIKEV2_ERR_NOT_FOUND if
 *  none. */
gikev2_status_t gikev2_gcks_next_deadline(const gikev2_gcks_t *gcks,
										  uint64_t *out_ms);

/** Periodic rekeys and retransmissions due at now_ms. */
gikev2_status_t gikev2_gcks_on_timeout(gikev2_gcks_t *gcks, uint64_t now_ms,
									   gikev2_result_t **out);

/** Operator view: groups, members, Sender-IDs, SPIs (gikev2_result_text()). */
gikev2_status_t gikev2_gcks_status(const gikev2_gcks_t *gcks, uint64_t now_ms,
								   gikev2_result_t **out);

/* ------------------------------------------------------------------------ */
/* Group member (GM)                                                         */
/* ------------------------------------------------------------------------ */

/** A membership as configured (e.g. charon.plugins.gikev2.memberships.<name>):
 *  group ID, sender role, accepted algorithms. */
typedef struct gikev2_membership gikev2_membership_t;

gikev2_status_t gikev2_membership_new(const char *name,
									  const gikev2_setting_t *settings,
									  size_t count, gikev2_membership_t **out);
void gikev2_membership_free(gikev2_membership_t *membership);

/** The membership's group ID in text form, as results name it on the member
 *  side (e.g. "fqdn:video.example.com"); valid while the membership lives;
 *  "" for NULL. */
const char *gikev2_membership_group(const gikev2_membership_t *membership);

/** The member's side of one registration IKE SA. */
typedef struct gikev2_gm gikev2_gm_t;

gikev2_status_t gikev2_gm_new(const gikev2_ike_sa_t *ike_sa, gikev2_gm_t **out);
void gikev2_gm_free(gikev2_gm_t *gm);

/** The IKE SA was rekeyed: new SPIs and SK_d (new GSK_w). */
gikev2_status_t gikev2_gm_update_ike_sa(gikev2_gm_t *gm,
										const gikev2_ike_sa_t *ike_sa);

/** The payloads (IDg, SAg, N(GROUP_SENDER)) to add to a GSA_AUTH or
 *  GSA_REGISTRATION request joining `membership`'s group. */
gikev2_status_t gikev2_gm_join(gikev2_gm_t *gm,
							   const gikev2_membership_t *membership,
							   gikev2_result_t **out);

/** The payloads of a GSA_REGISTRATION leaving `membership`'s group
 *  (IDg + N(REGISTRATION_FAILED), RFC 9838 §2.3.2). */
gikev2_status_t gikev2_gm_leave(gikev2_gm_t *gm,
								const gikev2_membership_t *membership,
								gikev2_result_t **out);

/**
 * Processes the response to a join or leave for `membership`'s group: the
 * response's GSA, KD, N and other payloads. GIKEV2_OK with an outcome
 * (registered, left, refused, must leave) for every well-formed response;
 * an error status for malformed input, which changes no state.
 */
gikev2_status_t gikev2_gm_process_response(gikev2_gm_t *gm,
										   const gikev2_membership_t *membership,
										   const gikev2_payload_t *payloads,
										   size_t count, uint64_t now_ms,
										   gikev2_result_t **out);

/** True if a group of this member uses (or retires) the Rekey SA with this
 *  16-octet SPI (the IKE header's SPIi | SPIr of a GSA_REKEY). */
gikev2_status_t gikev2_gm_owns_rekey_spi(const gikev2_gm_t *gm,
										 const uint8_t *spi, size_t spi_len,
										 bool *out);

/**
 * Processes one raw GSA_REKEY datagram (exchange 41, IKE header first,
 * without the non-ESP marker; RFC 9838 §2.4.1.4). A rejected datagram changes
 * no state: GIKEV2_ERR_DECODE, _AUTHENTICATION, _REPLAY, _NOT_FOUND (unknown
 * Rekey SA), _PROTOCOL; GIKEV2_ERR_INCOMPLETE while fragments are missing.
 * A retransmission of a processed message is GIKEV2_ERR_REPLAY, and so is any
 * datagram on a Rekey SA the member replaced (nothing is accepted there; it is
 * only recognised until GWP_DTD). An excluded member gets a
 * GIKEV2_EVENT_MEMBER_EXCLUDED event and removals of its Rekey SA; it registers
 * again on GIKEV2_EVENT_REREGISTER from gikev2_gm_on_timeout().
 */
gikev2_status_t gikev2_gm_process_rekey(gikev2_gm_t *gm, const uint8_t *datagram,
										size_t len, uint64_t now_ms,
										gikev2_result_t **out);

/** Processes the payloads of a GSA_INBAND_REKEY request (exchange 42). The
 *  request carries no IDg: the SPIs it names pick the membership (a member of
 *  one group needs none); GIKEV2_ERR_NOT_FOUND if they name no single group. */
gikev2_status_t gikev2_gm_process_inband_rekey(gikev2_gm_t *gm,
											   const gikev2_payload_t *payloads,
											   size_t count, uint64_t now_ms,
											   gikev2_result_t **out);

/** Earliest time gikev2_gm_on_timeout() has work; GIKEV2_ERR_NOT_FOUND if
 *  none. */
gikev2_status_t gikev2_gm_next_deadline(const gikev2_gm_t *gm, uint64_t *out_ms);

/** SA removals after DTD, re-registration events. */
gikev2_status_t gikev2_gm_on_timeout(gikev2_gm_t *gm, uint64_t now_ms,
									 gikev2_result_t **out);

/** Operator view of this member's groups (gikev2_result_text()). */
gikev2_status_t gikev2_gm_status(const gikev2_gm_t *gm, uint64_t now_ms,
								 gikev2_result_t **out);

#ifdef __cplusplus
}
#endif

#endif /* GIKEV2_H */
