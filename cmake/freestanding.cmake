# Flags shared by everything that runs on the target (kernel and components):
# no host libc, no exceptions, no RTTI, no SSE in the kernel.
set(COS_FREESTANDING_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-stack-protector
  -fno-asynchronous-unwind-tables -fno-threadsafe-statics -fno-builtin
  -nostdlib -fno-pic -fno-pie -mno-red-zone -g -O2
  -Wall -Wextra)

# cos_freestanding_target(<target> [KERNEL]): apply the target flags.
# KERNEL additionally builds for the higher half (-mcmodel=kernel) with no
# FPU/SIMD code, so the kernel never touches user FPU state implicitly.
function(cos_freestanding_target target)
  cmake_parse_arguments(ARG "KERNEL" "" "" ${ARGN})
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-std=gnu++20 -fno-use-cxa-atexit>
    ${COS_FREESTANDING_FLAGS})
  if(ARG_KERNEL)
    target_compile_options(${target} PRIVATE -mcmodel=kernel -mno-sse -mno-sse2
      -mno-mmx -mno-80387 -mgeneral-regs-only)
  else()
    target_compile_options(${target} PRIVATE -mcmodel=small)
  endif()
  target_link_options(${target} PRIVATE -nostdlib -static -no-pie
    -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack)
  target_link_libraries(${target} PRIVATE gcc)
  set_target_properties(${target} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY "${COS_IMAGE_DIR}" SUFFIX ".elf")
endfunction()
