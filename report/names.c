/* names.c - see names.h.  Tables, looked up by value; no switch per command. */
#include "names.h"
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct name { uint32_t v; const char *n; };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const struct name *t, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].n;
	return NULL;
}

_Static_assert(AF_UNIX == 1 && AF_INET == 2 && AF_INET6 == 10 && SOCK_STREAM == 1 &&
		       SOCK_DGRAM == 2 && SOCK_SEQPACKET == 5 && IPPROTO_TCP == 6,
	       "the host's socket constants are the recorded (Linux) numbers");

int names_is_ip(uint32_t family)
{
	return family == AF_INET || family == AF_INET6;
}

int names_is_conn(uint32_t family, uint32_t type, uint32_t protocol)
{
	if (names_is_ip(family))
		return protocol == IPPROTO_TCP || type == SOCK_STREAM;
	return family == AF_UNIX && (type == SOCK_STREAM || type == SOCK_SEQPACKET);
}

/* Linux AF_* values (include/linux/socket.h). */
static const struct name families[] = {
	{ 0, "?" }, { 1, "UNIX" }, { 2, "INET" }, { 3, "AX25" }, { 4, "IPX" }, { 5, "APPLETALK" },
	{ 9, "X25" }, { 10, "INET6" }, { 15, "KEY" }, { 16, "NETLINK" }, { 17, "PACKET" },
	{ 21, "RDS" }, { 24, "PPPOX" }, { 26, "LLC" }, { 27, "IB" }, { 28, "MPLS" }, { 29, "CAN" },
	{ 30, "TIPC" }, { 31, "BLUETOOTH" }, { 35, "PHONET" }, { 38, "ALG" }, { 40, "VSOCK" },
	{ 42, "QIPCRTR" }, { 43, "SMC" }, { 44, "XDP" }, { 45, "MCTP" },
};

static const struct name socktypes[] = {
	{ 1, "STREAM" }, { 2, "DGRAM" }, { 3, "RAW" }, { 4, "RDM" }, { 5, "SEQPACKET" },
	{ 6, "DCCP" }, { 10, "PACKET" },
};

/* IPPROTO_* of the IP families (0 is "the default": no name shown). */
static const struct name ipprotos[] = {
	{ 0, "" }, { 1, "ICMP" }, { 2, "IGMP" }, { 6, "TCP" }, { 17, "UDP" }, { 33, "DCCP" },
	{ 41, "IPV6" }, { 47, "GRE" }, { 50, "ESP" }, { 51, "AH" }, { 58, "ICMPV6" },
	{ 103, "PIM" }, { 132, "SCTP" }, { 136, "UDPLITE" }, { 255, "RAW" }, { 262, "MPTCP" },
};

/* NETLINK_* (include/uapi/linux/netlink.h): what `ss -f netlink` shows. */
static const struct name nlprotos[] = {
	{ 0, "NETLINK_ROUTE" }, { 1, "NETLINK_UNUSED" }, { 2, "NETLINK_USERSOCK" },
	{ 3, "NETLINK_FIREWALL" }, { 4, "NETLINK_SOCK_DIAG" }, { 5, "NETLINK_NFLOG" },
	{ 6, "NETLINK_XFRM" }, { 7, "NETLINK_SELINUX" }, { 8, "NETLINK_ISCSI" },
	{ 9, "NETLINK_AUDIT" }, { 10, "NETLINK_FIB_LOOKUP" }, { 11, "NETLINK_CONNECTOR" },
	{ 12, "NETLINK_NETFILTER" }, { 13, "NETLINK_IP6_FW" }, { 14, "NETLINK_DNRTMSG" },
	{ 15, "NETLINK_KOBJECT_UEVENT" }, { 16, "NETLINK_GENERIC" }, { 18, "NETLINK_SCSITRANSPORT" },
	{ 19, "NETLINK_ECRYPTFS" }, { 20, "NETLINK_RDMA" }, { 21, "NETLINK_CRYPTO" },
	{ 22, "NETLINK_SMC" },
};

/* include/net/tcp_states.h, by value (index = state). */
static const char *const tcp_states[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
					  "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
					  "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
					  "NEW_SYN_RECV" };

/* enum srec_release_how and enum srec_origin, by value (spec/srec-format.md). */
static const char *const hows[] = { "unknown", "close", "dup2", "exit", "other", "close_range",
				    "freed", "accept-failed", "reused" };
static const char *const origins[] = { "unknown", "socket", "socketpair", "accept", "accept4",
				       "kernel", "other-syscall" };
static const char *const loss_kinds[] = { "?", "ringbuf", "sockmap", "stack", "procmap", "other",
					  "hook_skipped", "release_late", "kstack_mismatch" };

/* ss(8)'s Netid names, by (family, type); protocol refines IP. */
static const struct {
	uint32_t family, type, protocol; /* protocol ~0u: any */
	const char *n;
} netids[] = {
	{ 2, 1, 262, "mptcp" }, { 10, 1, 262, "mptcp" }, { 2, 1, 132, "sctp" }, { 10, 1, 132, "sctp" },
	{ 2, 5, 132, "sctp" }, { 10, 5, 132, "sctp" },
	{ 2, 1, ~0u, "tcp" }, { 10, 1, ~0u, "tcp" }, { 2, 2, ~0u, "udp" }, { 10, 2, ~0u, "udp" },
	{ 2, 3, ~0u, "raw" }, { 10, 3, ~0u, "raw" },
	{ 1, 1, ~0u, "u_str" }, { 1, 2, ~0u, "u_dgr" }, { 1, 5, ~0u, "u_seq" },
	{ 16, 2, ~0u, "nl" }, { 16, 3, ~0u, "nl" }, { 17, 3, ~0u, "p_raw" }, { 17, 2, ~0u, "p_dgr" },
	{ 40, 1, ~0u, "v_str" }, { 40, 2, ~0u, "v_dgr" }, { 44, 3, ~0u, "xdp" },
};

const char *names_netid(uint32_t family, uint32_t type, uint32_t protocol)
{
	for (size_t i = 0; i < NELEM(netids); i++)
		if (netids[i].family == family && netids[i].type == type &&
		    (netids[i].protocol == ~0u || netids[i].protocol == protocol))
			return netids[i].n;
	return "?";
}

const char *family_name(uint32_t f)
{
	const char *n = lookup(families, NELEM(families), f);
	return n ? n : "other";
}

const char *socktype_name(uint32_t t)
{
	const char *n = lookup(socktypes, NELEM(socktypes), t);
	return n ? n : "?";
}

const char *proto_name(uint32_t family, uint32_t p)
{
	const char *n = NULL;
	if (family == AF_UNIX)
		return "";
	if (family == AF_NETLINK)
		n = lookup(nlprotos, NELEM(nlprotos), p);
	else
		n = lookup(ipprotos, NELEM(ipprotos), p);
	return n ? n : "proto?";
}

const char *tcp_state_name(uint32_t s)
{
	return s < NELEM(tcp_states) ? tcp_states[s] : "?";
}

/* ss(8)'s spelling of the same states (its sstate_name table). */
static const char *const ss_states[] = { "UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV",
					 "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN",
					 "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
					 "NEW-SYN-RECV" };
_Static_assert(NELEM(ss_states) == NELEM(tcp_states), "one ss name per TCP state");

const char *tcp_state_ss(uint32_t s)
{
	return s < NELEM(ss_states) ? ss_states[s] : "UNKNOWN";
}

const char *how_name(uint32_t how)
{
	return how < NELEM(hows) ? hows[how] : "unknown";
}

const char *origin_name(uint32_t o)
{
	return o < NELEM(origins) ? origins[o] : "unknown";
}

const char *loss_kind_name(uint32_t k)
{
	return k < NELEM(loss_kinds) ? loss_kinds[k] : "?";
}

const char *errno_name(int e)
{
	if (e == 0)
		return "OK";
	/* glibc's table of every errno of this architecture (x86-64 and
	 * arm64 share the generic numbering the recorder's hosts use). */
	return e > 0 ? strerrorname_np(e) : NULL;
}

const char *names_errno_of(int64_t ret, char *buf, size_t cap)
{
	/* ret is a file's value: any int64, INT64_MIN included */
	const char *n = ret < 0 && ret > -4096 ? errno_name((int)-ret) : NULL;
	if (n)
		return n;
	snprintf(buf, cap, "errno %" PRId64, ret < 0 && ret != INT64_MIN ? -ret : ret);
	return buf;
}

void names_result(char *buf, size_t cap, int ret)
{
	char tmp[32];
	snprintf(buf, cap, "%s", ret >= 0 ? "OK" : names_errno_of(ret, tmp, sizeof(tmp)));
}

void names_kind(char *buf, size_t cap, uint32_t family, uint32_t type, uint32_t protocol)
{
	const char *p = proto_name(family, protocol);
	if (!family && !type) /* no SOCKINFO was seen for the socket: not "?/?" */
		snprintf(buf, cap, "unknown (no socket info)");
	else if (!strcmp(p, "proto?"))
		snprintf(buf, cap, "%s/%s/proto %u", family_name(family), socktype_name(type), protocol);
	else
		snprintf(buf, cap, "%s/%s%s%s", family_name(family), socktype_name(type),
			 p[0] ? "/" : "", p);
}

void names_ip(char *buf, size_t cap, const uint8_t *addr, uint32_t len)
{
	char a[INET6_ADDRSTRLEN];
	if ((len == 4 || len == 16) && inet_ntop(len == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a))) {
		snprintf(buf, cap, "%s", a);
		return;
	}
	size_t n = 0;
	if (cap)
		buf[0] = 0;
	for (uint32_t i = 0; i < len && n + 3 <= cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%02x", addr[i]);
}

void names_addr(char *buf, size_t cap, const uint8_t *addr, uint32_t len, uint16_t port)
{
	char a[INET6_ADDRSTRLEN + 8];
	int zero = 1;
	for (uint32_t i = 0; i < len; i++)
		zero &= !addr[i];
	if (zero && !port) {
		snprintf(buf, cap, "-");
		return;
	}
	names_ip(a, sizeof(a), addr, len);
	if (len == 16)
		snprintf(buf, cap, "[%s]:%u", a, port);
	else
		snprintf(buf, cap, "%s:%u", a, port);
}
