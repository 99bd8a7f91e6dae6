#ifndef CRABBITMQ_H
#define CRABBITMQ_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/// amqp_login_with_properties with PLAIN credentials, without the variadic tail Swift cannot call.
amqp_rpc_reply_t docflow_amqp_login_plain(amqp_connection_state_t state, const char *vhost, int channel_max,
                                          int frame_max, int heartbeat, const amqp_table_t *client_properties,
                                          const char *user, const char *password);

#endif
