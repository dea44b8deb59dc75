/* System-call numbers that assembly sources need (component runtime stubs,
   the kernel's fast paths). C++ code uses cos::abi::Op; cos/abi.hpp checks
   that these agree with it. Preprocessor-only: included by .S files. */
#ifndef COS_ABI_ASM_H
#define COS_ABI_ASM_H

#define COS_OP_SINV 11
#define COS_OP_SRET 12
#define COS_OP_THD_EXIT 14
#define COS_OP_ASND 19
#define COS_OP_COMP_EXIT 41

#endif
