/* The server half of synchronous invocation (runtime/sinv.S): how many
   client threads can be inside a component at once, each on one of these
   stacks, and what a client gets when all are busy. Preprocessor-only (the
   assembly stub includes it); runtime/cos.hpp exposes the values to C++. */
#ifndef COS_RUNTIME_SINV_STACKS_H
#define COS_RUNTIME_SINV_STACKS_H

#define COS_SINV_STACKS 8
#define COS_SINV_STACK_BYTES 16384
/* sret's r0 when every stack is busy: below every cos::abi::Error. */
#define COS_SINV_ERR_NO_STACK (-100)

#endif
