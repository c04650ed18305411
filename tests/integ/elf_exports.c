/*
 * elf_exports.c - a minimal reader of an ELF64 shared object's dynamic
 * symbol table (see elf_exports.h). It trusts the file no more than it must:
 * every offset is checked against the file size before use.
 */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_exports.h"

static bool elf_in_bounds(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static bool elf_exported(const Elf64_Sym *s)
{
	unsigned bind = ELF64_ST_BIND(s->st_info);
	unsigned vis = ELF64_ST_VISIBILITY(s->st_other);

	return s->st_shndx != SHN_UNDEF && s->st_name != 0 &&
	       (bind == STB_GLOBAL || bind == STB_WEAK ||
		bind == STB_GNU_UNIQUE) &&
	       (vis == STV_DEFAULT || vis == STV_PROTECTED);
}

static const char *elf_collect(struct elf_exports *out)
{
	const unsigned char *img = out->image;
	size_t size = out->image_size;
	const Elf64_Ehdr *eh = out->image;
	const Elf64_Shdr *sh;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64)
		return "not an ELF64 file";
	if (eh->e_shentsize != sizeof(*sh) ||
	    !elf_in_bounds(size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh)))
		return "bad section header table";
	sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strs;
		const Elf64_Sym *syms;
		size_t n;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_link >= eh->e_shnum ||
		    sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    !elf_in_bounds(size, sh[i].sh_offset, sh[i].sh_size))
			return "bad .dynsym section";
		strs = &sh[sh[i].sh_link];
		if (!elf_in_bounds(size, strs->sh_offset, strs->sh_size) ||
		    strs->sh_size == 0 ||
		    img[strs->sh_offset + strs->sh_size - 1] != '\0')
			return "bad .dynstr section";
		syms = (const Elf64_Sym *)(img + sh[i].sh_offset);
		n = sh[i].sh_size / sizeof(Elf64_Sym);
		out->sym = calloc(n ? n : 1, sizeof(*out->sym));
		if (!out->sym)
			return "out of memory";
		for (size_t k = 0; k < n; k++) {
			unsigned type = ELF64_ST_TYPE(syms[k].st_info);

			if (!elf_exported(&syms[k]) ||
			    syms[k].st_name >= strs->sh_size)
				continue;
			out->sym[out->count].name =
				(const char *)img + strs->sh_offset + syms[k].st_name;
			out->sym[out->count].function =
				type == STT_FUNC || type == STT_GNU_IFUNC;
			out->count++;
		}
		return NULL;
	}
	return "no .dynsym section";
}

const char *elf_exports_read(const char *path, struct elf_exports *out)
{
	struct stat st;
	const char *why;
	int fd;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "cannot open the library";
	if (fstat(fd, &st) != 0 || st.st_size <= 0) {
		close(fd);
		return "cannot stat the library";
	}
	out->image_size = (size_t)st.st_size;
	out->image = mmap(NULL, out->image_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (out->image == MAP_FAILED) {
		out->image = NULL;
		return "cannot map the library";
	}
	why = elf_collect(out);
	if (why)
		elf_exports_release(out);
	return why;
}

const struct elf_export *elf_exports_find(const struct elf_exports *e,
					  const char *name)
{
	for (size_t i = 0; i < e->count; i++)
		if (strcmp(e->sym[i].name, name) == 0)
			return &e->sym[i];
	return NULL;
}

void elf_exports_release(struct elf_exports *e)
{
	free(e->sym);
	if (e->image)
		munmap(e->image, e->image_size);
	memset(e, 0, sizeof(*e));
}
