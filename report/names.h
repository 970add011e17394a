/* names.h - the one place where the numbers of a recording get their names.
 *
 * Every command prints families, socket types, protocols (netlink ones
 * included), TCP states, errno values, release causes and origins through
 * these tables, and addresses through names_addr(): a new name is added
 * once, here, and every report (dump, pairs, states, summary, ss, ...)
 * shows it.  Unknown numbers never vanish: the lookups that can meet one
 * say so ("?", "other", NULL) and the formatting helpers print the number.
 */
#ifndef SOCKREPORT_NAMES_H
#define SOCKREPORT_NAMES_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Recordings carry Linux's numbers.  The reports test them with the names
 * of <sys/socket.h> and <netinet/in.h> (AF_INET, SOCK_STREAM, IPPROTO_TCP),
 * checked in names.c to be Linux's, and with enum tcp_st below. */

/* 1 for a connection-oriented socket: TCP (an IP socket of protocol TCP, or
 * a stream), UNIX stream or seqpacket (whose connect() blocks on a full
 * backlog until the server accepts). */
int names_is_conn(uint32_t family, uint32_t type, uint32_t protocol);
/* 1 for AF_INET and AF_INET6. */
int names_is_ip(uint32_t family);

/* "UNIX", "INET", "INET6", "NETLINK", ...; "other" for an unknown one, "?" for 0. */
const char *family_name(uint32_t f);
/* "STREAM", "DGRAM", ...; "?" if unknown. */
const char *socktype_name(uint32_t t);
/* "TCP", "UDP", ... for IP families, "NETLINK_ROUTE", ... for netlink, ""
 * for AF_UNIX and for protocol 0 of the IP families; "proto?" if unknown
 * (names_kind prints the number then). */
const char *proto_name(uint32_t family, uint32_t p);
/* "ESTABLISHED" ... "NEW_SYN_RECV"; "?" if unknown. */
/* TCP states by value, as include/net/tcp_states.h numbers them (the
 * recorded STATE records carry the kernel's numbers). */
enum tcp_st {
	TCP_ST_ESTABLISHED = 1, TCP_ST_SYN_SENT, TCP_ST_SYN_RECV, TCP_ST_FIN_WAIT1,
	TCP_ST_FIN_WAIT2, TCP_ST_TIME_WAIT, TCP_ST_CLOSE, TCP_ST_CLOSE_WAIT, TCP_ST_LAST_ACK,
	TCP_ST_LISTEN, TCP_ST_CLOSING, TCP_ST_NEW_SYN_RECV,
};
_Static_assert(TCP_ST_CLOSE == 7 && TCP_ST_CLOSE_WAIT == 8 && TCP_ST_NEW_SYN_RECV == 12,
	       "the kernel's TCP state numbers");
const char *tcp_state_name(uint32_t s);
/* As ss(8) prints it: "ESTAB", "SYN-SENT", "CLOSE-WAIT", "UNCONN" (CLOSE), ... */
const char *tcp_state_ss(uint32_t s);
/* RELEASE.how: "close", "dup2", "exit", ... */
const char *how_name(uint32_t how);
/* ALLOC/SOCKINFO origin: "socket", "accept", ... */
const char *origin_name(uint32_t o);
/* LOSS.kind: "ringbuf", "sockmap", ... */
const char *loss_kind_name(uint32_t k);
/* "OK" for 0, "ECONNREFUSED" for 111 (positive errno); NULL if unknown. */
const char *errno_name(int e);
/* A syscall result: "0 (OK)" style is the caller's; this gives "OK",
 * "ECONNREFUSED", or "errno 4242" for an unknown one, into buf. */
/* The errno name of a negative return value as a file holds it (any
 * int64), or "errno N" when it has none: never NULL (buf holds the text). */
const char *names_errno_of(int64_t ret, char *buf, size_t cap);
void names_result(char *buf, size_t cap, int ret);
/* "INET/STREAM/TCP", "NETLINK/RAW/NETLINK_ROUTE", "INET/RAW/proto 253";
 * "unknown (no socket info)" when neither family nor type was recorded. */
void names_kind(char *buf, size_t cap, uint32_t family, uint32_t type, uint32_t protocol);
/* ss's Netid column: "tcp", "udp", "u_str", "nl", ...; "?" if none fits. */
const char *names_netid(uint32_t family, uint32_t type, uint32_t protocol);
/* An address as people write it: "127.0.0.1:80", "[::1]:80"; "-" for
 * an all-zero address without port.  len is 4 or 16 (other lengths: hex). */
void names_addr(char *buf, size_t cap, const uint8_t *addr, uint32_t len, uint16_t port);
/* Same without the port: "127.0.0.1", "::1". */
void names_ip(char *buf, size_t cap, const uint8_t *addr, uint32_t len);

#endif
