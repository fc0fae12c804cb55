/*  ob_common.h — what every orderbus module includes: the generated wire
    types under short names, the standard headers, and a few shared limits.  */
#ifndef OB_COMMON_H
#define OB_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "orderbus.pb-c.h"

#define OB_VERSION_STRING "0.1.0"

/* Short names for the generated protobuf types. */
typedef Orderbus__V1__Envelope     ob_envelope_t;
typedef Orderbus__V1__WorkOrder    ob_workorder_t;
typedef Orderbus__V1__OrderRecord  ob_record_t;
typedef Orderbus__V1__NodeOrder    ob_nodeorder_t;
typedef Orderbus__V1__JournalEntry ob_journal_t;
typedef Orderbus__V1__Answer       ob_answer_t;
typedef Orderbus__V1__OrderState   ob_state_t;
typedef Orderbus__V1__OrderEvent   ob_event_t;
typedef Orderbus__V1__Role         ob_role_t;
typedef Orderbus__V1__ErrorCode    ob_errcode_t;

#define OB_ID_BYTES      16              /* order ids and msg ids */
#define OB_ID_HEX        (2 * OB_ID_BYTES + 1)
#define OB_CASE_NO_MAX   32              /* "YYYYMMDD-NNNNNN" + slack */
#define OB_DEPT_MAX      64              /* department id length cap */
#define OB_MAX_FRAME     (1024 * 1024)   /* largest frame any decoder accepts */

/* Forbid the unsafe string functions (git's banned.h). */
#undef strcpy
#define strcpy(a, b) OB_BANNED_strcpy
#undef strncpy
#define strncpy(a, b, c) OB_BANNED_strncpy
#undef sprintf
#define sprintf(...) OB_BANNED_sprintf
#undef strtok
#define strtok(a, b) OB_BANNED_strtok

#endif
