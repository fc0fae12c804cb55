/*  broker_zap.c — ZAP (ZeroMQ RFC 27) for the broker's two Curve servers: a
    key is a department (domain "node") or a client (domain "client") as the
    registry says, or it is refused. The ZAP User-Id handed to the sockets is
    the principal's id: a peer is who its key says, never what it claims.  */
#include "broker.h"
#include "ob_log.h"
#include "ob_registry.h"
#include <zmq.h>

/* A department on the node link; a dispatcher, supervisor or ops client on
   the client service. */
static bool s_admitted(const char *domain, ob_role_t role)
{
    if (strcmp(domain, "node") == 0)
        return role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT;
    return strcmp(domain, "client") == 0
           && (role == ORDERBUS__V1__ROLE__ROLE_DISPATCHER
               || role == ORDERBUS__V1__ROLE__ROLE_SUPERVISOR || role == ORDERBUS__V1__ROLE__ROLE_OPS);
}

void broker_zap_serve(broker_t *self)
{
    for (;;) {
        zmq_msg_t frames[8];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_init(&tmp);
            if (zmq_msg_recv(&tmp, self->zap_sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&tmp);
                if (n == 0)
                    return;
                break;
            }
            more = zmq_msg_more(&tmp);
            if (n < 8)
                frames[n++] = tmp;
            else
                zmq_msg_close(&tmp);
        }
#define FRAME_IS(i, s)                                                                     \
    (n > (i) && zmq_msg_size(&frames[i]) == strlen(s)                                      \
     && memcmp(zmq_msg_data(&frames[i]), s, strlen(s)) == 0)
        const char *status = "400", *text = "key not registered for this endpoint";
        char user[OB_DEPT_MAX] = "";
        const char *domain = FRAME_IS(2, "node") ? "node" : FRAME_IS(2, "client") ? "client" : "?";
        if (FRAME_IS(0, "1.0") && FRAME_IS(5, "CURVE") && n >= 7
            && zmq_msg_size(&frames[6]) == OB_KEY_BYTES) {
            MDB_txn *txn;
            if (ob_store_begin(self->store, false, &txn) == 0) {
                ob_role_t role = ORDERBUS__V1__ROLE__ROLE_UNSPECIFIED;
                if (ob_registry_id_of_key(self->store, txn, zmq_msg_data(&frames[6]), user,
                                          sizeof user) == 0)
                    role = ob_registry_role(self->store, txn, user);
                if (s_admitted(domain, role)) {
                    status = "200";
                    text = "OK";
                }
                mdb_txn_abort(txn);
            }
            if (strcmp(status, "200") != 0) {
                char z85[OB_Z85_LEN + 1];
                zmq_z85_encode(z85, zmq_msg_data(&frames[6]), OB_KEY_BYTES);
                ob_info("refused key %s on the %s endpoint: not registered for it", z85, domain);
                user[0] = '\0';
            }
        }
        const char *reply[6] = {"1.0", NULL, status, text, user, ""};
        for (int i = 0; i < 6; i++) {
            int flags = i < 5 ? ZMQ_SNDMORE : 0;
            if (i == 1) {
                if (n > 1)
                    zmq_send(self->zap_sock, zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]),
                             flags);
                else
                    zmq_send(self->zap_sock, "", 0, flags);
            } else
                zmq_send(self->zap_sock, reply[i], strlen(reply[i]), flags);
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
#undef FRAME_IS
    }
}
