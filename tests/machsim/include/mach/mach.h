/*
 * mach/mach.h - Mach SIMULATION header (test-only, Linux).
 *
 * The few types, constants and calls of <mach/mach.h> that rezone's Mach
 * backend and zone use, with the values of the macOS 13 SDK, so that
 * vm_mach.c, zone_mach.c and small_zone.c compile unchanged on Linux
 * against tests/machsim/machsim.c. Like the real toolchain used for the
 * cross build, it does not declare the mach_vm_* calls (no <mach/mach_vm.h>):
 * the sources declare them themselves. Nothing built with this header is a
 * macOS result.
 */
#ifndef MACHSIM_MACH_MACH_H
#define MACHSIM_MACH_MACH_H

#include <stdint.h>

typedef int kern_return_t;
typedef unsigned int mach_port_t;
typedef mach_port_t task_t;
typedef mach_port_t vm_map_t;
typedef mach_port_t vm_map_read_t;
typedef mach_port_t mem_entry_name_port_t;
typedef uintptr_t vm_address_t;
typedef uintptr_t vm_size_t;
typedef uintptr_t vm_offset_t;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
typedef uint64_t mach_vm_offset_t;
typedef uint64_t memory_object_offset_t;
typedef int vm_prot_t;
typedef unsigned int vm_inherit_t;
typedef int boolean_t;
typedef int vm_region_flavor_t;
typedef int *vm_region_info_t;
typedef unsigned int mach_msg_type_number_t;
typedef unsigned int vm_behavior_t;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* <mach/kern_return.h> */
#define KERN_SUCCESS 0
#define KERN_INVALID_ADDRESS 1
#define KERN_PROTECTION_FAILURE 2
#define KERN_NO_SPACE 3
#define KERN_INVALID_ARGUMENT 4
#define KERN_FAILURE 5
#define KERN_RESOURCE_SHORTAGE 6

/* <mach/port.h>, <mach/memory_object_types.h> */
#define MACH_PORT_NULL 0
#define MEMORY_OBJECT_NULL 0

/* <mach/vm_prot.h> */
#define VM_PROT_NONE ((vm_prot_t)0x00)
#define VM_PROT_READ ((vm_prot_t)0x01)
#define VM_PROT_WRITE ((vm_prot_t)0x02)
#define VM_PROT_EXECUTE ((vm_prot_t)0x04)
#define VM_PROT_DEFAULT (VM_PROT_READ | VM_PROT_WRITE)
#define VM_PROT_ALL (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE)

/* <mach/vm_inherit.h> */
#define VM_INHERIT_SHARE ((vm_inherit_t)0)
#define VM_INHERIT_COPY ((vm_inherit_t)1)
#define VM_INHERIT_NONE ((vm_inherit_t)2)
#define VM_INHERIT_DEFAULT VM_INHERIT_COPY

/* <mach/vm_statistics.h> */
#define VM_FLAGS_FIXED 0x00000000
#define VM_FLAGS_ANYWHERE 0x00000001
#define VM_FLAGS_OVERWRITE 0x00004000
#define VM_MAKE_TAG(tag) ((tag) << 24)
#define VM_GET_FLAGS_ALIAS(flags, alias) ((alias) = (((flags) >> 24) & 0xff))
#define VM_MEMORY_MALLOC 1
#define VM_MEMORY_MALLOC_SMALL 2
#define VM_MEMORY_MALLOC_LARGE 3
#define VM_MEMORY_MALLOC_HUGE 4
#define VM_MEMORY_SBRK 5
#define VM_MEMORY_REALLOC 6
#define VM_MEMORY_MALLOC_TINY 7
#define VM_MEMORY_MALLOC_MEDIUM 12
#define VM_MEMORY_APPLICATION_SPECIFIC_1 240

/* <mach/vm_region.h> */
#define VM_REGION_BASIC_INFO_64 9
struct vm_region_basic_info_64 {
	vm_prot_t protection;
	vm_prot_t max_protection;
	vm_inherit_t inheritance;
	boolean_t shared;
	boolean_t reserved;
	memory_object_offset_t offset;
	vm_behavior_t behavior;
	unsigned short user_wired_count;
} __attribute__((packed, aligned(4)));
typedef struct vm_region_basic_info_64 vm_region_basic_info_data_64_t;
#define VM_REGION_BASIC_INFO_COUNT_64 \
	((mach_msg_type_number_t)(sizeof(vm_region_basic_info_data_64_t) / sizeof(int)))

/* <mach/mach_init.h>, <mach/vm_page_size.h> */
extern mach_port_t mach_task_self_;
#define mach_task_self() mach_task_self_
extern vm_size_t vm_page_size;
extern vm_size_t vm_kernel_page_size;

#endif
