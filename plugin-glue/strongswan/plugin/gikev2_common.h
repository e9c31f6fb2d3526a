/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * gikev2 charon plugin: helpers shared by the key server and member roles.
 * All strongSwan object access lives in this C glue; the Rust library
 * (include/gikev2.h) sees only bytes and plain structs.
 */

#ifndef GIKEV2_COMMON_H_
#define GIKEV2_COMMON_H_

#include <daemon.h>
#include <library.h>
#include <encoding/message.h>

#include "gikev2.h"

/* RFC 9838 exchange and payload types (also in the libcharon patch) */
#define GIKEV2_XT_GSA_AUTH 39
#define GIKEV2_XT_GSA_REGISTRATION 40
#define GIKEV2_XT_GSA_REKEY 41
#define GIKEV2_XT_GSA_INBAND_REKEY 42
#define GIKEV2_PL_IDG 50
#define GIKEV2_PL_GSA 51
#define GIKEV2_PL_KD 52
#define GIKEV2_PROTO_GIKE_UPDATE 6
/* IKEv2 Transform Type 13 (RFC 9838 §2.1) */
#define GIKEV2_TRANSFORM_KWA 13

/** Monotonic milliseconds: the library's notion of "now". */
uint64_t gikev2_now_ms(void);

/** Payloads handed to the library, with the memory their bodies live in. */
typedef struct {
	gikev2_payload_t *items;
	size_t count;
	/* chunk_t per item that must be freed */
	chunk_t *owned;
} gikev2_payloads_t;

/**
 * Collect the payloads of a parsed message the library must see: IDg, GSA,
 * KD (typed generic payloads), SA, Notify and Delete (re-encoded).
 *
 * @param remove_sa		remove SA payloads from the message (SAg in GSA_AUTH,
 *						so charon's child_create sees a childless IKE_AUTH)
 */
void gikev2_payloads_from_message(message_t *message, bool remove_sa,
								  gikev2_payloads_t *out);

/** Free what gikev2_payloads_from_message() allocated. */
void gikev2_payloads_free(gikev2_payloads_t *payloads);

/** Add every payload of a library result to an outgoing message. */
void gikev2_payloads_to_message(const gikev2_result_t *result,
								message_t *message);

/**
 * Describe an IKE SA for the library: SPIs, PRF, KWA, SK_d, peer identity.
 * SK_d stays owned by charon's keymat and is only borrowed for the call.
 *
 * @return				FALSE if the SA is not IKEv2 or no KWA was negotiated
 */
bool gikev2_ike_sa_context(ike_sa_t *ike_sa, gikev2_ike_sa_t *ctx);

/**
 * Whether IKEv2 fragmentation (RFC 7383) is in use on an IKE SA: the peer sent
 * IKEV2_FRAGMENTATION_SUPPORTED and our own configuration allows it.
 */
bool gikev2_ike_sa_fragmentation(ike_sa_t *ike_sa);

/**
 * The two IKE SPIs of an ike_sa_id_t in wire order (ike_sa_id_t keeps them in
 * network order): SPIi into spi_i[8], SPIr into spi_r[8].
 */
void gikev2_ike_spis(ike_sa_id_t *id, uint8_t *spi_i, uint8_t *spi_r);

/** Convert a library traffic selector (owned by caller, destroy it). */
traffic_selector_t *gikev2_ts_to_strongswan(const gikev2_ts_t *ts);

/** The first address of a library traffic selector, with a port. */
host_t *gikev2_ts_host(const gikev2_ts_t *ts, uint16_t port);

/** Settings of one section, as the library takes them. */
typedef struct {
	gikev2_setting_t *items;
	size_t count;
	size_t capacity;
} gikev2_settings_t;

/**
 * Collect every setting below a section (e.g. "charon.plugins.gikev2.groups.x")
 * as dotted keys relative to it ("policies.p1.encr").
 */
void gikev2_settings_collect(const char *section, gikev2_settings_t *out);

void gikev2_settings_free(gikev2_settings_t *settings);

/** Map a library status to a log string. */
#define GIKEV2_STATUS(s) gikev2_status_str(s)

#endif /** GIKEV2_COMMON_H_ */
