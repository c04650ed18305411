/*
 * elf_exports.h - lists the symbols a shared library exports, read from its
 * ELF dynamic symbol table, so the suite can check rezone's export table
 * without depending on binutils at test time.
 */
#ifndef REZONE_INTEG_ELF_EXPORTS_H
#define REZONE_INTEG_ELF_EXPORTS_H

#include <stdbool.h>
#include <stddef.h>

struct elf_export {
	const char *name;
	bool function; /* STT_FUNC or STT_GNU_IFUNC */
};

struct elf_exports {
	struct elf_export *sym;
	size_t count;
	void *image; /* the mapped file the names point into */
	size_t image_size;
};

/*
 * Reads the defined, globally visible (GLOBAL, WEAK or UNIQUE binding,
 * default or protected visibility) entries of path's .dynsym. Returns
 * NULL on success, or a static string saying what went wrong.
 */
const char *elf_exports_read(const char *path, struct elf_exports *out);
const struct elf_export *elf_exports_find(const struct elf_exports *e,
					  const char *name);
void elf_exports_release(struct elf_exports *e);

#endif /* REZONE_INTEG_ELF_EXPORTS_H */
