# DESIGN §2: the floating-point flags are part of the contract, so they are set on the
# targets (PUBLIC through detnn_fp) rather than left to the user's environment.
# -ffp-contract=off: no a*b+c is fused unless written fmaf(). No -ffast-math anywhere
# (runtime/fp_contract.h refuses to compile under it). CUDA: no FMA contraction,
# IEEE-rounded division and square root, denormals kept.
add_library(detnn_fp INTERFACE)
target_compile_options(detnn_fp INTERFACE
  $<$<COMPILE_LANGUAGE:CXX,C>:-ffp-contract=off -fno-fast-math>
  $<$<COMPILE_LANGUAGE:CUDA>:-fmad=false -prec-div=true -prec-sqrt=true -ftz=false
                             -Xcompiler=-ffp-contract=off>)
if(DETNN_NATIVE)
  target_compile_options(detnn_fp INTERFACE
    $<$<COMPILE_LANGUAGE:CXX,C>:-march=native>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-march=native>)
endif()
# The flags as one string, recorded in the environment fingerprint.
set(DETNN_HOST_FP_FLAGS "-ffp-contract=off -fno-fast-math")
set(DETNN_CUDA_FP_FLAGS "-fmad=false -prec-div=true -prec-sqrt=true -ftz=false")
