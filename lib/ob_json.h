/*  ob_json.h — work orders and records to and from JSON (jansson).

    JSON is what people and scripts see: `orderbus submit FILE.json`,
    `--batch FILE.jsonl`, and every `--json` output. Field names are the
    proto's; enums are names without prefix ("PHONE", "COMPLAINT");
    ids are hex; times are unix ms plus an ISO string where useful.       */
#ifndef OB_JSON_H
#define OB_JSON_H

#include "ob_common.h"
#include <jansson.h>

/* Builds a WorkOrder from a JSON object. Every field is malloc'd so that
   orderbus__v1__work_order__free_unpacked(wo, NULL) frees it. Validates:
   UTF-8, title or content present, category up to 3 levels, lengths capped
   (title 512 bytes, content 64 KiB, each other string 1 KiB), enum names
   known, lat/lon in range. Unknown fields are an error (typos must not pass
   silently). NULL with a message naming the field in err on failure;
   the message never quotes field values (they may be personal data). */
ob_workorder_t *ob_json_to_workorder(json_t *obj, char *err, size_t errlen);
ob_workorder_t *ob_json_parse_workorder(const char *text, size_t len, char *err, size_t errlen);

/* JSON views; `with_contact` false leaves the complainant's contact out. */
json_t *ob_json_from_workorder(const ob_workorder_t *wo, bool with_contact);
json_t *ob_json_from_record(const ob_record_t *rec, bool with_contact);
json_t *ob_json_from_journal(const ob_journal_t *entry);
json_t *ob_json_from_nodeorder(const ob_nodeorder_t *order);
json_t *ob_json_from_status(const Orderbus__V1__BrokerStatus *status);
json_t *ob_json_from_stats(const Orderbus__V1__DeptStats *stats);
json_t *ob_json_from_local_status(const Orderbus__V1__LocalStatus *status);

void ob_json_test(bool verbose);

#endif
