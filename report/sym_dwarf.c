/* sym_dwarf.c - DWARF line tables and inlined scopes, read with libdwarf (symbolize_int.h). */
#include "symbolize_int.h"

/* ------------------------------------------------------------------ */
/* DWARF                                                               */

static void dwerr(Dwarf_Debug dbg, Dwarf_Error *err)
{
	if (*err)
		dwarf_dealloc_error(dbg, *err);
	*err = NULL;
}

static int push_range(struct dw_cu *cu, uint64_t lo, uint64_t hi)
{
	/* 0 and ~0 are the tombstones of code the linker dropped */
	if (hi <= lo || lo == 0 || lo >= UINT64_MAX - 1)
		return 0;
	struct dw_range *nv = grow(cu->ranges, &cu->capranges, cu->nranges + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	cu->ranges = nv;
	nv[cu->nranges++] = (struct dw_range){ lo, hi };
	return 0;
}

static int attr_offset(Dwarf_Debug dbg, Dwarf_Attribute at, Dwarf_Unsigned *val)
{
	Dwarf_Error err = NULL;
	Dwarf_Off o = 0;
	if (dwarf_global_formref(at, &o, &err) == DW_DLV_OK) {
		*val = o;
		return 0;
	}
	dwerr(dbg, &err);
	if (dwarf_formudata(at, val, &err) == DW_DLV_OK)
		return 0;
	dwerr(dbg, &err);
	return -1;
}

/* Appends the pc ranges of die to cu->ranges; 0 or -ENOMEM. */
static int die_ranges(struct dwmod *dm, struct dw_cu *cu, Dwarf_Die die)
{
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Addr lo = 0, hi = 0;
	Dwarf_Half form = 0;
	enum Dwarf_Form_Class cls;
	int r = dwarf_lowpc(die, &lo, &err);
	if (r == DW_DLV_OK) {
		r = dwarf_highpc_b(die, &hi, &form, &cls, &err);
		if (r == DW_DLV_OK) {
			if (cls != DW_FORM_CLASS_ADDRESS)
				hi += lo;
			return push_range(cu, lo, hi);
		}
	}
	dwerr(dbg, &err);

	Dwarf_Attribute at = NULL;
	if (dwarf_attr(die, DW_AT_ranges, &at, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return 0;
	}
	int rc = 0;
	Dwarf_Half ver = 0, offsz = 0;
	Dwarf_Unsigned val = 0;
	if (dwarf_get_version_of_die(die, &ver, &offsz) != DW_DLV_OK ||
	    dwarf_whatform(at, &form, &err) != DW_DLV_OK)
		goto out;
	if (ver >= 5) {
		if (form == DW_FORM_rnglistx) {
			if (dwarf_formudata(at, &val, &err) != DW_DLV_OK)
				goto out;
		} else if (attr_offset(dbg, at, &val) != 0) {
			goto out;
		}
		Dwarf_Rnglists_Head head = NULL;
		Dwarf_Unsigned count = 0, goff = 0;
		if (dwarf_rnglists_get_rle_head(at, form, val, &head, &count, &goff, &err) !=
		    DW_DLV_OK)
			goto out;
		for (Dwarf_Unsigned i = 0; i < count && rc == 0; i++) {
			unsigned elen = 0, code = 0;
			Dwarf_Unsigned raw1, raw2, c1 = 0, c2 = 0;
			Dwarf_Bool unavail = 0;
			if (dwarf_get_rnglists_entry_fields_a(head, i, &elen, &code, &raw1, &raw2,
							      &unavail, &c1, &c2, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				break;
			}
			if (unavail)
				continue;
			switch (code) {
			case DW_RLE_startx_endx:
			case DW_RLE_startx_length:
			case DW_RLE_offset_pair:
			case DW_RLE_start_end:
			case DW_RLE_start_length:
				rc = push_range(cu, c1, c2);
				break;
			default:
				break;
			}
		}
		dwarf_dealloc_rnglists_head(head);
	} else {
		if (attr_offset(dbg, at, &val) != 0)
			goto out;
		Dwarf_Ranges *rb = NULL;
		Dwarf_Signed cnt = 0;
		Dwarf_Unsigned bytes = 0;
		Dwarf_Off real = 0;
		if (dwarf_get_ranges_b(dbg, val, die, &real, &rb, &cnt, &bytes, &err) != DW_DLV_OK)
			goto out;
		uint64_t base = cu->base;
		for (Dwarf_Signed i = 0; i < cnt && rc == 0; i++) {
			if (rb[i].dwr_type == DW_RANGES_ENTRY)
				rc = push_range(cu, base + rb[i].dwr_addr1, base + rb[i].dwr_addr2);
			else if (rb[i].dwr_type == DW_RANGES_ADDRESS_SELECTION)
				base = rb[i].dwr_addr2;
			else
				break;
		}
		dwarf_ranges_dealloc(dbg, rb, cnt);
	}
out:
	dwerr(dbg, &err);
	dwarf_dealloc_attribute(at);
	return rc;
}

static int attr_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half name, Dwarf_Unsigned *v)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute at = NULL;
	*v = 0;
	if (dwarf_attr(die, name, &at, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return -1;
	}
	int r = dwarf_formudata(at, v, &err);
	dwerr(dbg, &err);
	if (r != DW_DLV_OK) {
		/* DWARF 5 DW_FORM_implicit_const: only formsdata reads it here */
		Dwarf_Signed s = 0;
		r = dwarf_formsdata(at, &s, &err);
		dwerr(dbg, &err);
		if (r == DW_DLV_OK && s >= 0)
			*v = (Dwarf_Unsigned)s;
		else
			r = DW_DLV_ERROR;
	}
	dwarf_dealloc_attribute(at);
	return r == DW_DLV_OK ? 0 : -1;
}

static int is_container(Dwarf_Half tag)
{
	switch (tag) {
	case DW_TAG_lexical_block:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_module:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return 1;
	default:
		return 0;
	}
}

/* Collects subprograms and inlined subroutines below parent. */
static int walk_dies(struct dwmod *dm, struct dw_cu *cu, Dwarf_Die parent, unsigned depth)
{
	if (depth > MAX_DIE_DEPTH)
		return 0;
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Die ch = NULL;
	if (dwarf_child(parent, &ch, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return 0;
	}
	int rc = 0;
	while (ch && rc == 0) {
		Dwarf_Half tag = 0;
		if (dwarf_tag(ch, &tag, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			tag = 0;
		}
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			size_t rstart = cu->nranges;
			rc = die_ranges(dm, cu, ch);
			/* no pc: a declaration or an abstract instance */
			if (rc == 0 && cu->nranges > rstart && cu->nranges - rstart < UINT32_MAX &&
			    cu->nnodes < UINT32_MAX - 1) {
				struct dw_node *nv = grow(cu->nodes, &cu->capnodes, cu->nnodes + 1,
							  sizeof(*nv));
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				cu->nodes = nv;
				size_t idx = cu->nnodes++;
				struct dw_node *nd = &nv[idx];
				memset(nd, 0, sizeof(*nd));
				nd->rfirst = (uint32_t)rstart;
				nd->rcount = (uint32_t)(cu->nranges - rstart);
				nd->inlined = tag == DW_TAG_inlined_subroutine;
				if (dwarf_dieoffset(ch, &nd->off, &err) != DW_DLV_OK)
					dwerr(dbg, &err);
				if (nd->inlined) {
					Dwarf_Unsigned f = 0, l = 0;
					if (attr_udata(dbg, ch, DW_AT_call_file, &f) != 0)
						f = 0; /* unknown file */
					if (attr_udata(dbg, ch, DW_AT_call_line, &l) != 0)
						l = 0;
					nd->call_file = f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
					nd->call_line = l > UINT32_MAX ? 0 : (uint32_t)l;
				} else {
					for (size_t r = rstart; r < cu->nranges; r++) {
						struct dw_top *tv = grow(cu->tops, &cu->captops,
									 cu->ntops + 1, sizeof(*tv));
						if (!tv) {
							rc = -ENOMEM;
							break;
						}
						cu->tops = tv;
						tv[cu->ntops++] = (struct dw_top){
							cu->ranges[r].lo, cu->ranges[r].hi, (uint32_t)idx };
					}
				}
				if (rc == 0)
					rc = walk_dies(dm, cu, ch, depth + 1);
				cu->nodes[idx].end = (uint32_t)cu->nnodes;
			}
		} else if (is_container(tag)) {
			rc = walk_dies(dm, cu, ch, depth + 1);
		}
		Dwarf_Die sib = NULL;
		int r = dwarf_siblingof_b(dbg, ch, 1, &sib, &err);
		dwarf_dealloc_die(ch);
		ch = NULL;
		if (r != DW_DLV_OK) {
			dwerr(dbg, &err);
			break;
		}
		ch = sib;
	}
	if (ch)
		dwarf_dealloc_die(ch);
	return rc;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct dw_row *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->hi < b->hi ? -1 : a->hi > b->hi;
}

static int top_cmp(const void *pa, const void *pb)
{
	const struct dw_top *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

static int read_lines(struct sym_ctx *c, struct dwmod *dm, struct dw_cu *cu, Dwarf_Die cudie)
{
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Unsigned ver = 0;
	Dwarf_Small tc = 0;
	Dwarf_Line_Context lctx = NULL;
	if (dwarf_srclines_b(cudie, &ver, &tc, &lctx, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return 0;
	}
	cu->line_ver = (unsigned)ver;
	int rc = 0;
	char **files = NULL;
	Dwarf_Signed nf = 0;
	if (dwarf_srcfiles(cudie, &files, &nf, &err) == DW_DLV_OK) {
		cu->files = nf > 0 ? calloc((size_t)nf, sizeof(*cu->files)) : NULL;
		if (nf > 0 && !cu->files)
			rc = -ENOMEM;
		for (Dwarf_Signed i = 0; i < nf; i++) {
			if (rc == 0 && files[i]) {
				cu->files[i] = arena_strdup(&c->str, files[i]);
				if (!cu->files[i])
					rc = -ENOMEM;
			}
			dwarf_dealloc(dbg, files[i], DW_DLA_STRING);
		}
		dwarf_dealloc(dbg, files, DW_DLA_LIST);
		if (rc == 0)
			cu->nfiles = (size_t)nf;
	} else {
		dwerr(dbg, &err);
	}

	Dwarf_Line *lines = NULL;
	Dwarf_Signed nl = 0;
	if (rc == 0 && dwarf_srclines_from_linecontext(lctx, &lines, &nl, &err) == DW_DLV_OK) {
		Dwarf_Addr prev_addr = 0, seq_start = 0;
		Dwarf_Unsigned prev_line = 0, prev_file = 0;
		int in_seq = 0;
		for (Dwarf_Signed i = 0; i < nl && rc == 0; i++) {
			Dwarf_Addr a = 0;
			Dwarf_Unsigned ln = 0, fno = 0;
			Dwarf_Bool endseq = 0;
			if (dwarf_lineaddr(lines[i], &a, &err) != DW_DLV_OK ||
			    dwarf_lineno(lines[i], &ln, &err) != DW_DLV_OK ||
			    dwarf_line_srcfileno(lines[i], &fno, &err) != DW_DLV_OK ||
			    dwarf_lineendsequence(lines[i], &endseq, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				in_seq = 0;
				continue;
			}
			if (in_seq && a > prev_addr && seq_start != 0 && seq_start < UINT64_MAX - 1) {
				struct dw_row *nv = grow(cu->rows, &cu->caprows, cu->nrows + 1,
							 sizeof(*nv));
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				cu->rows = nv;
				nv[cu->nrows++] = (struct dw_row){
					prev_addr, a,
					prev_file > UINT32_MAX ? UINT32_MAX : (uint32_t)prev_file,
					prev_line > UINT32_MAX ? 0 : (uint32_t)prev_line };
			}
			if (endseq) {
				in_seq = 0;
				continue;
			}
			if (!in_seq)
				seq_start = a;
			in_seq = 1;
			prev_addr = a;
			prev_line = ln;
			prev_file = fno;
		}
	} else {
		dwerr(dbg, &err);
	}
	dwarf_srclines_dealloc_b(lctx);
	if (rc == 0 && cu->nrows)
		qsort(cu->rows, cu->nrows, sizeof(*cu->rows), row_cmp);
	return rc;
}

static int cu_load(struct sym_ctx *c, struct dwmod *dm, struct dw_cu *cu)
{
	if (cu->state)
		return 0;
	cu->state = -1;
	Dwarf_Error err = NULL;
	Dwarf_Die cudie = NULL;
	if (cu->off_is_header) {
		/* only now is this unit's header read */
		Dwarf_Off die = 0;
		if (dwarf_get_cu_die_offset_given_cu_header_offset_b(dm->dbg, cu->off, 1, &die,
								     &err) != DW_DLV_OK) {
			dwerr(dm->dbg, &err);
			return 0;
		}
		cu->off = die;
		cu->off_is_header = 0;
	}
	if (dwarf_offdie_b(dm->dbg, cu->off, 1, &cudie, &err) != DW_DLV_OK) {
		dwerr(dm->dbg, &err);
		return 0;
	}
	if (!cu->base) {
		/* units found through .debug_aranges: DWARF 4 range lists
		 * are relative to this */
		Dwarf_Addr base = 0;
		if (dwarf_lowpc(cudie, &base, &err) == DW_DLV_OK)
			cu->base = base;
		dwerr(dm->dbg, &err);
	}
	int rc = read_lines(c, dm, cu, cudie);
	if (rc == 0)
		rc = walk_dies(dm, cu, cudie, 0);
	dwarf_dealloc_die(cudie);
	if (rc == 0 && cu->ntops)
		qsort(cu->tops, cu->ntops, sizeof(*cu->tops), top_cmp);
	if (rc == 0)
		cu->state = 1;
	return rc;
}

static const char *cu_file(const struct dw_cu *cu, uint32_t idx)
{
	/* DWARF 5 file numbers start at 0, earlier ones at 1 */
	if (cu->line_ver < 5) {
		if (idx == 0)
			return NULL;
		idx--;
	}
	/* nfiles is set only once files[] is allocated (cu_load_lines) */
	return idx < cu->nfiles ? cu->files[idx] : NULL; // NOLINT(clang-analyzer-core.NullDereference)
}

static const struct dw_row *cu_row(const struct dw_cu *cu, uint64_t a)
{
	size_t lo = 0, hi = cu->nrows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cu->rows[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++)
		if (a < cu->rows[i - 1].hi && a >= cu->rows[i - 1].lo)
			return &cu->rows[i - 1];
	return NULL;
}

static int node_has(const struct dw_cu *cu, uint32_t n, uint64_t a)
{
	const struct dw_node *nd = &cu->nodes[n];
	for (uint32_t i = 0; i < nd->rcount; i++) {
		const struct dw_range *r = &cu->ranges[nd->rfirst + i];
		if (a >= r->lo && a < r->hi)
			return 1;
	}
	return 0;
}

static uint64_t node_entry(const struct dw_cu *cu, uint32_t n)
{
	const struct dw_node *nd = &cu->nodes[n];
	uint64_t lo = UINT64_MAX;
	for (uint32_t i = 0; i < nd->rcount; i++)
		if (cu->ranges[nd->rfirst + i].lo < lo)
			lo = cu->ranges[nd->rfirst + i].lo;
	return lo;
}

/* Text of a string attribute of die, NULL if absent. */
static const char *die_str(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half name)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute at = NULL;
	Dwarf_Half form = 0;
	char *s = NULL;
	if (dwarf_attr(die, name, &at, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return NULL;
	}
	/* strings of a dwz/supplementary file, which is not read */
	if (dwarf_whatform(at, &form, &err) != DW_DLV_OK || form == DW_FORM_GNU_strp_alt ||
	    form == DW_FORM_strp_sup || dwarf_formstring(at, &s, &err) != DW_DLV_OK)
		s = NULL;
	dwerr(dbg, &err);
	dwarf_dealloc_attribute(at);
	return s;
}

/* Name of the function of node n: a linkage name anywhere on the
 * abstract_origin/specification chain (demangled), else DW_AT_name. */
static const char *node_name(struct sym_ctx *c, struct dwmod *dm, struct dw_node *nd)
{
	if (nd->named)
		return nd->name;
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Off off = nd->off;
	const char *plain = NULL, *link = NULL;
	char plainbuf[512];
	for (int hop = 0; hop < 8 && !link; hop++) {
		Dwarf_Die die = NULL;
		if (dwarf_offdie_b(dbg, off, 1, &die, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			break;
		}
		const char *s = die_str(dbg, die, DW_AT_linkage_name);
		if (!s)
			s = die_str(dbg, die, DW_AT_MIPS_linkage_name);
		if (s) {
			link = arena_strdup(&c->str, s);
			dwarf_dealloc_die(die);
			if (!link)
				return NULL;
			break;
		}
		if (!plain && (s = die_str(dbg, die, DW_AT_name)) != NULL) {
			snprintf(plainbuf, sizeof(plainbuf), "%s", s);
			plain = plainbuf;
		}
		Dwarf_Attribute at = NULL;
		Dwarf_Unsigned next = 0;
		int found = 0;
		static const Dwarf_Half follow[] = { DW_AT_abstract_origin, DW_AT_specification };
		for (size_t i = 0; i < 2 && !found; i++) {
			if (dwarf_attr(die, follow[i], &at, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				continue;
			}
			Dwarf_Off o = 0;
			Dwarf_Half form = 0;
			if (dwarf_whatform(at, &form, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				form = 0;
			}
			if (form == DW_FORM_GNU_ref_alt || form == DW_FORM_ref_sup4 ||
			    form == DW_FORM_ref_sup8) {
				/* an offset in the dwz/supplementary file, which is not
				 * read: better no name than another DIE's */
				dwarf_dealloc_attribute(at);
				break;
			}
			if (dwarf_global_formref(at, &o, &err) == DW_DLV_OK) {
				next = o;
				found = 1;
			} else {
				dwerr(dbg, &err);
			}
			dwarf_dealloc_attribute(at);
		}
		dwarf_dealloc_die(die);
		if (!found || next == off)
			break;
		off = next;
	}
	const char *res = NULL;
	if (link)
		res = shown_name(c, link);
	else if (plain)
		res = arena_strdup(&c->str, plain);
	if ((link || plain) && !res)
		return NULL; /* ENOMEM: try again next time */
	nd->name = res;
	nd->named = 1;
	return res;
}

static int cuidx_cmp(const void *pa, const void *pb)
{
	const struct dw_cuidx *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->cu < b->cu ? -1 : a->cu > b->cu;
}

static int add_cuidx(struct dwmod *dm, uint64_t lo, uint64_t hi, size_t cu)
{
	struct dw_cuidx *nv = grow(dm->idx, &dm->capidx, dm->nidx + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	dm->idx = nv;
	nv[dm->nidx++] = (struct dw_cuidx){ lo, hi, (uint32_t)cu };
	return 0;
}

void dw_free(struct dwmod *dm)
{
	if (!dm)
		return;
	for (size_t i = 0; i < dm->ncus; i++) {
		struct dw_cu *cu = &dm->cus[i];
		free(cu->files);
		free(cu->rows);
		free(cu->nodes);
		free(cu->ranges);
		free(cu->tops);
	}
	free(dm->cus);
	free(dm->idx);
	if (dm->dbg) {
		Dwarf_Error err = NULL;
		if (dwarf_finish(dm->dbg, &err) != DW_DLV_OK && err)
			dwarf_dealloc_error(NULL, err);
	}
	if (dm->elf)
		elf_end(dm->elf);
	free(dm);
}

struct arent {
	uint64_t lo, hi;
	Dwarf_Off cu;
};

static int arent_cmp(const void *pa, const void *pb)
{
	const struct arent *a = pa, *b = pb;
	if (a->cu != b->cu)
		return a->cu < b->cu ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Indexes the units of dm by .debug_aranges alone: one unit per distinct
 * CU offset the table names, whose DIEs and lines cu_load() reads when an
 * address inside it is first asked for.  No unit is parsed here.  *found is
 * 1 when the table gave at least one range.  0 or -ENOMEM. */
static int dw_index_aranges(struct sym_ctx *c, struct dwmod *dm, int *found)
{
	*found = 0;
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Arange *ar = NULL;
	Dwarf_Signed n = 0;
	int r = dwarf_get_aranges(dbg, &ar, &n, &err);
	if (r != DW_DLV_OK) {
		vlog(c, "  DWARF: no usable .debug_aranges (%s)",
		     r == DW_DLV_ERROR && err ? dwarf_errmsg(err) : "none");
		dwerr(dbg, &err);
		return 0;
	}
	struct arent *v = NULL;
	size_t nv = 0;
	int rc = 0;
	if (n > 0 && (uint64_t)n < SIZE_MAX / sizeof(*v)) {
		v = malloc((size_t)n * sizeof(*v));
		if (!v)
			rc = -ENOMEM;
	}
	for (Dwarf_Signed i = 0; i < n; i++) {
		Dwarf_Unsigned seg = 0, segsz = 0, len = 0;
		Dwarf_Addr start = 0;
		Dwarf_Off cuoff = 0;
		if (rc == 0 && v) {
			/* the unit's header offset, as stored: asking for the
			 * DIE offset would read every unit's header now */
			if (dwarf_get_arange_info_b(ar[i], &seg, &segsz, &start, &len, NULL, &err) ==
			    DW_DLV_OK &&
			    dwarf_get_arange_cu_header_offset(ar[i], &cuoff, &err) == DW_DLV_OK) {
				/* 0 and ~0: tombstones of code the linker dropped */
				if (len && start && start < UINT64_MAX - 1 && start + len > start)
					v[nv++] = (struct arent){ start, start + len, cuoff };
			} else {
				dwerr(dbg, &err);
			}
		}
		dwarf_dealloc(dbg, ar[i], DW_DLA_ARANGE);
	}
	dwarf_dealloc(dbg, ar, DW_DLA_LIST);
	if (rc == 0 && nv) {
		qsort(v, nv, sizeof(*v), arent_cmp);
		for (size_t i = 0; i < nv && rc == 0; i++) {
			if (!i || v[i].cu != v[i - 1].cu) {
				if (dm->ncus >= UINT32_MAX)
					break;
				struct dw_cu *nc = grow(dm->cus, &dm->capcus, dm->ncus + 1, sizeof(*nc));
				if (!nc) {
					rc = -ENOMEM;
					break;
				}
				dm->cus = nc;
				memset(&nc[dm->ncus], 0, sizeof(*nc));
				nc[dm->ncus].off_is_header = 1;
				nc[dm->ncus++].off = v[i].cu;
			}
			rc = add_cuidx(dm, v[i].lo, v[i].hi, dm->ncus - 1);
		}
		*found = rc == 0 && dm->nidx > 0;
		if (*found)
			vlog(c, "  DWARF: indexed by .debug_aranges: %zu ranges in %zu units "
			     "(units are read on first use)", dm->nidx, dm->ncus);
	}
	free(v);
	return rc;
}

static uint64_t le_get(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Checks the unit headers of a DWARF 5 .debug_rnglists/.debug_loclists
 * section (DWARF 5, 7.28 and 7.29): the units tile the section, each has
 * version 5, an address size of 4 or 8, no segment selector and an offset
 * table that fits.  Why: libdwarf 20210528 loads these headers as soon as
 * it reads any unit, and on some malformed headers its error path frees
 * the same context twice (seen with ASan in dwarf_load_rnglists, called
 * from dwarf_get_aranges and dwarf_next_cu_header_d), which aborts the
 * process.  A file that fails here is used without its DWARF.  Little
 * endian only, like everything this symbolizer reads.  NULL when sane,
 * else the reason. */
static const char *dw_lists_damaged(Elf_Data *d)
{
	const unsigned char *p = d && d->d_buf ? d->d_buf : NULL;
	size_t n = p ? d->d_size : 0, at = 0;
	while (at < n) {
		size_t left = n - at;
		unsigned osz = 4;
		if (left < 4)
			return "a unit header is cut";
		uint64_t len = le_get(p + at, 4);
		at += 4;
		if (len == 0xffffffffu) {
			if (n - at < 8)
				return "a unit header is cut";
			len = le_get(p + at, 8);
			at += 8;
			osz = 8;
		} else if (len >= 0xfffffff0u) {
			return "a reserved unit length";
		}
		if (len > n - at || len < 8)
			return "a unit length beyond the section";
		const unsigned char *u = p + at;
		if (le_get(u, 2) != 5 || (u[2] != 4 && u[2] != 8) || u[3] != 0)
			return "a unit header with a bad version or sizes";
		uint64_t count = le_get(u + 4, 4);
		if (count > (len - 8) / osz)
			return "an offset table beyond its unit";
		/* offsets count from the start of the offset table itself */
		for (uint64_t i = 0; i < count; i++)
			if (le_get(u + 8 + i * osz, osz) >= len - 8)
				return "an offset beyond its unit";
		at += (size_t)len;
	}
	return NULL;
}

/* The first damaged .debug_rnglists/.debug_loclists of e, as a message
 * ("SECTION: reason"), or NULL. */
static const char *dw_sections_damaged(Elf *e, char *buf, size_t cap)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || (strcmp(name, ".debug_rnglists") && strcmp(name, ".debug_loclists")))
			continue;
		const char *why = dw_lists_damaged(section_data(scn));
		if (why) {
			snprintf(buf, cap, "%s: %s", name, why);
			return buf;
		}
	}
	return NULL;
}

/* Takes ownership of e (also on failure).  *out NULL when there is no
 * usable DWARF.  With use_aranges the units are indexed by .debug_aranges
 * when it has entries (see dw_index_aranges), else by reading every unit's
 * header and top DIE.  0 or -ENOMEM. */
int dw_open(struct sym_ctx *c, Elf *e, int use_aranges, struct dwmod **out)
{
	*out = NULL;
	struct dwmod *dm = calloc(1, sizeof(*dm));
	if (!dm) {
		elf_end(e);
		return -ENOMEM;
	}
	dm->elf = e;
	char why[128];
	if (dw_sections_damaged(e, why, sizeof(why))) {
		vlog(c, "  DWARF unusable: %s", why);
		dw_free(dm);
		return 0;
	}
	Dwarf_Error err = NULL;
	int r = dwarf_elf_init_b(e, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dm->dbg, &err);
	if (r != DW_DLV_OK) {
		vlog(c, "  DWARF unusable: %s", r == DW_DLV_ERROR && err ? dwarf_errmsg(err) : "no entry");
		if (err)
			dwarf_dealloc_error(NULL, err);
		dm->dbg = NULL;
		dw_free(dm);
		return 0;
	}
	Dwarf_Debug dbg = dm->dbg;
	int rc = 0, indexed = 0;
	if (use_aranges)
		rc = dw_index_aranges(c, dm, &indexed);
	while (rc == 0 && !indexed) {
		Dwarf_Unsigned hlen = 0, toff = 0, next = 0;
		Dwarf_Half ver = 0, asz = 0, lsz = 0, esz = 0, ut = 0;
		Dwarf_Off abbr = 0;
		Dwarf_Sig8 sig;
		r = dwarf_next_cu_header_d(dbg, 1, &hlen, &ver, &abbr, &asz, &lsz, &esz, &sig,
					   &toff, &next, &ut, &err);
		if (r == DW_DLV_NO_ENTRY)
			break;
		if (r != DW_DLV_OK) {
			vlog(c, "  DWARF: stopped reading compilation units: %s",
			     err ? dwarf_errmsg(err) : "error");
			dwerr(dbg, &err);
			break;
		}
		Dwarf_Die cudie = NULL;
		if (dwarf_siblingof_b(dbg, NULL, 1, &cudie, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			continue;
		}
		Dwarf_Half tag = 0;
		if (dwarf_tag(cudie, &tag, &err) != DW_DLV_OK)
			dwerr(dbg, &err);
		if ((tag != DW_TAG_compile_unit && tag != DW_TAG_skeleton_unit) ||
		    ut == DW_UT_type || ut == DW_UT_split_type || dm->ncus >= UINT32_MAX) {
			dwarf_dealloc_die(cudie);
			continue;
		}
		struct dw_cu *nv = grow(dm->cus, &dm->capcus, dm->ncus + 1, sizeof(*nv));
		if (!nv) {
			dwarf_dealloc_die(cudie);
			rc = -ENOMEM;
			break;
		}
		dm->cus = nv;
		struct dw_cu *cu = &nv[dm->ncus++];
		memset(cu, 0, sizeof(*cu));
		if (dwarf_dieoffset(cudie, &cu->off, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			cu->state = -1;
		}
		Dwarf_Addr base = 0;
		if (dwarf_lowpc(cudie, &base, &err) == DW_DLV_OK)
			cu->base = base;
		dwerr(dbg, &err);
		/* the CU's own ranges go through cu->ranges, then are moved */
		rc = die_ranges(dm, cu, cudie);
		dwarf_dealloc_die(cudie);
		for (size_t i = 0; rc == 0 && i < cu->nranges; i++)
			rc = add_cuidx(dm, cu->ranges[i].lo, cu->ranges[i].hi, dm->ncus - 1);
		if (rc)
			break;
		if (!cu->nranges)
			cu->state = cu->state ? cu->state : 2; /* 2: needs its lines */
		cu->nranges = 0;
	}
	/* units without pc attributes: index them by their line table */
	for (size_t i = 0; rc == 0 && i < dm->ncus; i++) {
		struct dw_cu *cu = &dm->cus[i];
		if (cu->state != 2)
			continue;
		cu->state = 0;
		rc = cu_load(c, dm, cu);
		if (rc == 0 && cu->nrows)
			rc = add_cuidx(dm, cu->rows[0].lo, cu->rows[cu->nrows - 1].hi, i);
	}
	if (rc) {
		dw_free(dm);
		return rc;
	}
	if (dm->nidx)
		qsort(dm->idx, dm->nidx, sizeof(*dm->idx), cuidx_cmp);
	if (!indexed)
		vlog(c, "  DWARF: %zu compilation units, %zu address ranges", dm->ncus, dm->nidx);
	*out = dm;
	return 0;
}


/* Fills h for address a.  h->n == 0: nothing known.  A hit with only a line
 * (no function DIE) gives one frame with func NULL.  0 or -ENOMEM. */
int dw_lookup(struct sym_ctx *c, struct dwmod *dm, uint64_t a, struct dwhit *h)
{
	memset(h, 0, sizeof(*h));
	size_t lo = 0, hi = dm->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dm->idx[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct dw_cu *cu = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++) {
		const struct dw_cuidx *x = &dm->idx[i - 1];
		if (a >= x->lo && a < x->hi) {
			cu = &dm->cus[x->cu];
			break;
		}
	}
	if (!cu)
		return 0;
	int rc = cu_load(c, dm, cu);
	if (rc)
		return rc;
	if (cu->state != 1)
		return 0;

	const struct dw_row *row = cu_row(cu, a);

	/* outermost function: the closest start at or below a */
	uint32_t chain[MAX_CHAIN];
	unsigned depth = 0;
	lo = 0;
	hi = cu->ntops;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cu->tops[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN * 4; i--, k++) {
		const struct dw_top *t = &cu->tops[i - 1];
		if (a >= t->lo && a < t->hi) {
			chain[depth++] = t->node;
			break;
		}
	}
	while (depth && depth < MAX_CHAIN) {
		uint32_t cur = chain[depth - 1], found = UINT32_MAX;
		/* cur indexes a node (it came from the chain); i > cur stops a
		 * malformed end that points backwards. */
		/* cppcheck-suppress arrayIndexThenCheck */
		for (uint32_t i = cur + 1; i < cu->nodes[cur].end && i > cur; i = cu->nodes[i].end) {
			if (cu->nodes[i].inlined && node_has(cu, i, a)) {
				found = i;
				break;
			}
			if (cu->nodes[i].end <= i)
				break;
		}
		if (found == UINT32_MAX)
			break;
		chain[depth++] = found;
	}
	if (!depth) {
		if (row) {
			h->n = 1;
			h->f[0].file = cu_file(cu, row->file);
			h->f[0].line = row->line;
		}
		return 0;
	}
	h->entry = node_entry(cu, chain[0]);
	/* innermost first; keep the innermost SYM_MAX_FRAMES-1 and the real one */
	unsigned n = 0;
	for (unsigned k = depth; k-- > 0;) {
		if (n == SYM_MAX_FRAMES - 1 && k > 0) {
			h->truncated = 1;
			k = 0;
		}
		struct dw_node *nd = &cu->nodes[chain[k]];
		struct sym_frame *f = &h->f[n++];
		f->func = node_name(c, dm, nd);
		f->inlined = nd->inlined;
		if (k == depth - 1) {
			f->file = row ? cu_file(cu, row->file) : NULL;
			f->line = row ? row->line : 0;
		} else {
			const struct dw_node *callee = &cu->nodes[chain[k + 1]];
			f->file = cu_file(cu, callee->call_file);
			f->line = callee->call_line;
		}
		if (k == 0)
			f->inlined = 0;
	}
	h->n = n;
	return 0;
}
