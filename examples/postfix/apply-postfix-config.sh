#!/bin/sh
# Configure a Postfix (3.x) as a simple "gateway" for the tdc-simulator conformance kit.
#
#   incoming listener  $INCOMING (default 127.0.0.1:2600): mail for $LOCAL_DOMAIN only; its own
#                      cleanup service ($CLEANUP) adds always_bcc = the intake address, so each
#                      incoming message is copied once to Threat Defense
#   outgoing listener  $OUTGOING (default 127.0.0.1:2601): relaying for $RELAY_NETWORKS, default
#                      cleanup, no copy (Postfix's own bounces also go through the default cleanup)
#   transport_maps     $LOCAL_DOMAIN and every other domain -> the kit's mailbox host ($MAILBOX);
#                      the intake domain -> transport "$TDC_TRANSPORT" -> the kit's Threat Defense ($TD)
#   TLS to Threat Defense  smtp_tls_policy_maps: "secure", match=<intake domain>, protocols >= TLSv1.2,
#                      trusting only the kit's CA ($CA_CERT); copies share one TLS connection
#                      (smtp_tls_connection_reuse through a dedicated tlsproxy), at most 10 on each
#   body_checks        (incoming only) EICAR -> DISCARD (dropped), GTUBE -> HOLD (quarantined)
#   maillog_file       $MAILLOG (written by postlogd; no syslog daemon needed)
#
# Every setting is made with postconf -e / -M / -P (and two small lookup tables), so running it
# again gives the same configuration. It does not start or reload Postfix: do that afterwards.
# Every value can be changed through the environment, e.g.
#   INCOMING=127.0.0.1:2600 TD=127.0.0.1:2603 CA_CERT=/path/kit-ca.pem sh apply-postfix-config.sh
set -eu

CONFIG_DIR=${CONFIG_DIR:-/etc/postfix}
INCOMING=${INCOMING:-127.0.0.1:2600}
OUTGOING=${OUTGOING:-127.0.0.1:2601}
MAILBOX=${MAILBOX:-127.0.0.1:2602}          # [gateway.mailbox] listen in conform.toml
TD=${TD:-127.0.0.1:2603}                    # [gateway.threat_defense] listen in conform.toml
LOCAL_DOMAIN=${LOCAL_DOMAIN:-corp.example.com}
INTAKE_ADDRESS=${INTAKE_ADDRESS:-kit-tenant@intake.threatdefense.test}
RELAY_NETWORKS=${RELAY_NETWORKS:-127.0.0.0/8}
CA_CERT=${CA_CERT:-$(cd "$(dirname "$0")" && pwd)/kit-ca.pem}
MAILLOG=${MAILLOG:-/var/log/postfix-tdc.log}
CLEANUP=${CLEANUP:-cleanup_tdc}             # the incoming listener's cleanup service (the driver's too)
TDC_TRANSPORT=${TDC_TRANSPORT:-tdc}         # the smtp transport to Threat Defense
BODY_CHECKS=${BODY_CHECKS:-yes}             # "no": no dropped/quarantined samples (those checks not run)
TDC_CONCURRENCY=${TDC_CONCURRENCY:-1}       # parallel connections to Threat Defense (1: copies share one)

INTAKE_DOMAIN=${INTAKE_ADDRESS#*@}
TRANSPORT_MAP=$CONFIG_DIR/tdc_transport
TLS_POLICY_MAP=$CONFIG_DIR/tdc_tls_policy
BODY_CHECKS_FILE=$CONFIG_DIR/tdc_body_checks
pc() { postconf -c "$CONFIG_DIR" "$@"; }
bracket() { host=${1%:*}; port=${1##*:}; echo "[$host]:$port"; }   # 127.0.0.1:2603 -> [127.0.0.1]:2603

[ -r "$CA_CERT" ] || { echo "no CA certificate at $CA_CERT (make it first: see README.md)" >&2; exit 2; }

# --- lookup tables ----------------------------------------------------------------------------------
cat > "$TRANSPORT_MAP" <<EOF
# written by apply-postfix-config.sh: where the gateway sends mail (the kit's counterparts)
$LOCAL_DOMAIN	smtp:$(bracket "$MAILBOX")
$INTAKE_DOMAIN	$TDC_TRANSPORT:$(bracket "$TD")
*	smtp:$(bracket "$MAILBOX")
EOF
cat > "$TLS_POLICY_MAP" <<EOF
# written by apply-postfix-config.sh: TLS to the kit's Threat Defense (keyed by the transport's nexthop)
$(bracket "$TD")	secure match=$INTAKE_DOMAIN protocols=>=TLSv1.2
EOF
postmap "hash:$TRANSPORT_MAP"
postmap "hash:$TLS_POLICY_MAP"
cat > "$BODY_CHECKS_FILE" <<'EOF'
# written by apply-postfix-config.sh: the incoming listener's content policy (the kit's samples)
/EICAR-STANDARD-ANTIVIRUS-TEST-FILE/	DISCARD dropped: EICAR test file
/GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL/	HOLD quarantined: GTUBE test spam
EOF

# --- main.cf ----------------------------------------------------------------------------------------
pc -e "maillog_file = $MAILLOG" \
      "relay_domains = $LOCAL_DOMAIN" \
      "transport_maps = hash:$TRANSPORT_MAP" \
      "minimal_backoff_time = 30s" \
      "maximal_backoff_time = 120s" \
      "queue_run_delay = 30s" \
      "${TDC_TRANSPORT}_destination_concurrency_limit = $TDC_CONCURRENCY"

# --- master.cf: the two listeners ---------------------------------------------------------------------
pc -M "$INCOMING/inet=$INCOMING inet n - n - - smtpd"
pc -P "$INCOMING/inet/syslog_name=postfix/tdc-incoming" \
      "$INCOMING/inet/cleanup_service_name=$CLEANUP" \
      "$INCOMING/inet/smtpd_relay_restrictions=reject_unauth_destination"
pc -M "$OUTGOING/inet=$OUTGOING inet n - n - - smtpd"
pc -P "$OUTGOING/inet/syslog_name=postfix/tdc-outgoing" \
      "$OUTGOING/inet/mynetworks=$RELAY_NETWORKS" \
      "$OUTGOING/inet/smtpd_relay_restrictions=permit_mynetworks,reject"

# --- master.cf: the incoming cleanup, which makes the copy (the driver switches always_bcc) -----------
# -M replaces the entry with its -o settings, so the copy is switched on again here: always_bcc.
pc -M "$CLEANUP/unix=$CLEANUP unix n - n - 0 cleanup"
pc -P "$CLEANUP/unix/syslog_name=postfix/tdc-cleanup" \
      "$CLEANUP/unix/always_bcc=$INTAKE_ADDRESS"
if [ "$BODY_CHECKS" = yes ]; then
    pc -P "$CLEANUP/unix/body_checks=regexp:$BODY_CHECKS_FILE"
fi

# --- master.cf: the transport to Threat Defense ------------------------------------------------------
pc -M "$TDC_TRANSPORT/unix=$TDC_TRANSPORT unix - - n - - smtp"
pc -P "$TDC_TRANSPORT/unix/syslog_name=postfix/tdc" \
      "$TDC_TRANSPORT/unix/smtp_tls_policy_maps=hash:$TLS_POLICY_MAP" \
      "$TDC_TRANSPORT/unix/smtp_tls_CAfile=$CA_CERT" \
      "$TDC_TRANSPORT/unix/smtp_tls_loglevel=1" \
      "$TDC_TRANSPORT/unix/smtp_tls_connection_reuse=yes" \
      "$TDC_TRANSPORT/unix/tlsproxy_service_name=${TDC_TRANSPORT}_tlsproxy" \
      "$TDC_TRANSPORT/unix/smtp_connection_reuse_count_limit=10"
# Several copies per TLS connection (smtp_tls_connection_reuse) need a tlsproxy(8) in the client role;
# the stock Debian master.cf has no tlsproxy, and its client role is off unless
# tlsproxy_client_security_level is set (postfix 3.7.11 then crashed with signal 11 here). A dedicated
# one, unchrooted (it reads the CA file), with the smtp client's TLS settings so that it does not warn.
pc -M "${TDC_TRANSPORT}_tlsproxy/unix=${TDC_TRANSPORT}_tlsproxy unix - - n - 0 tlsproxy"
pc -P "${TDC_TRANSPORT}_tlsproxy/unix/syslog_name=postfix/tdc-tlsproxy" \
      "${TDC_TRANSPORT}_tlsproxy/unix/tlsproxy_client_security_level=secure" \
      "${TDC_TRANSPORT}_tlsproxy/unix/tlsproxy_client_CAfile=$CA_CERT" \
      "${TDC_TRANSPORT}_tlsproxy/unix/tlsproxy_client_loglevel=1"

pc -n maillog_file relay_domains transport_maps >/dev/null   # fails loudly on a broken main.cf
postfix -c "$CONFIG_DIR" check
echo "Postfix in $CONFIG_DIR configured: incoming $INCOMING, outgoing $OUTGOING, mailbox $MAILBOX," \
     "Threat Defense $TD ($INTAKE_ADDRESS), log $MAILLOG. Start or reload Postfix now."
