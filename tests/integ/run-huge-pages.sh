#!/bin/sh
# run-huge-pages.sh - the integration suite as on a machine that does not
# report free pages to a hypervisor (bare metal, most cloud VMs): there
# REZONE_THP=auto, the default, asks for huge pages for blocks of 32 MiB and
# more. Our own VMs report free pages, so the default run never asks.
exec "$(dirname "$0")/run-suite.sh" REZONE_PAGE_REPORTING=0
