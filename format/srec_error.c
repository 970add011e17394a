#include "srec_error.h"

const char *srec_strerror(int err)
{
	switch (err) {
	case SREC_OK: return "success";
	case SREC_E_IO: return "I/O error";
	case SREC_E_NOMEM: return "out of memory";
	case SREC_E_MAGIC: return "not a .srec file (bad magic)";
	case SREC_E_TEXTMODE: return "file damaged by a text-mode transfer (CR/LF translated)";
	case SREC_E_ENDIAN: return "byte-swapped file (wrong byte order)";
	case SREC_E_VERSION: return "file written by a newer, incompatible major version";
	case SREC_E_HEADER: return "malformed file header";
	case SREC_E_TRUNCATED: return "file truncated inside a block";
	case SREC_E_BLOCK: return "malformed block header";
	case SREC_E_CHECKSUM: return "block checksum mismatch";
	case SREC_E_DECOMPRESS: return "block payload does not decompress";
	case SREC_E_TOOBIG: return "length exceeds format limits";
	case SREC_E_RECORD: return "malformed record";
	case SREC_E_ARG: return "invalid argument";
	case SREC_E_COMPRESS: return "compression failed";
	case SREC_E_STATE: return "operation not valid in this state";
	case SREC_E_EMPTY: return "empty file (0 bytes)";
	case SREC_E_INDEX: return "index does not match the file";
	case SREC_E_NOINDEX: return "no index";
	default: return "unknown error";
	}
}
