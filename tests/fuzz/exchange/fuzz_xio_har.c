// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer target for the HAR exchange reader: the JSONL target's body
 * with the reader set to HAR (see fuzz_xio_jsonl.c). */
#define XIO_FUZZ_FORMAT XIO_HAR
#include "fuzz_xio_jsonl.c"
