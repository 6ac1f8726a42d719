#include "kernels/vendor/gemm_cublaslt.h"

#include <cstdint>

#include "kernels/vendor/vendor_handles.h"
#include "runtime/cuda_check.h"

namespace detnn::kernels {

namespace {

// cuBLAS works in column-major: the row-major C = opA(A) opB(B) is the column-major
// C^T = opB(B)^T opA(A)^T, and a row-major matrix read as column-major is its transpose. So
// cuBLASLt's first operand is B with op tb, its second A with op ta, and its m, n are our n, m.
cublasOperation_t op(Trans t) { return t == Trans::N ? CUBLAS_OP_N : CUBLAS_OP_T; }

// Workspace for the split-K and stream-K algorithms the heuristics may pick; NVIDIA's
// recommendation for Hopper.
constexpr size_t kGemmWorkspaceLimit = size_t{32} << 20;

// One configuration attribute of `algo` (2- or 4-byte integers, read into the low bytes of a
// zeroed 8-byte value; x86 and ARM are little-endian); -1 when cuBLASLt does not answer.
int64_t config_value(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr) {
  size_t size = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, nullptr, 0, &size) != CUBLAS_STATUS_SUCCESS || size == 0 ||
      size > sizeof(int64_t))
    return -1;
  uint64_t value = 0;
  size_t written = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &value, size, &written) != CUBLAS_STATUS_SUCCESS) return -1;
  return static_cast<int64_t>(value);
}

}  // namespace

int alignment_of_offset(int64_t bytes) {
  int a = 16;
  while (a > 1 && bytes % a != 0) a /= 2;
  return a;
}

std::string gemm_shape_text(const GemmShape& s) {
  return "m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " " +
         (s.ta == Trans::N ? "N" : "T") + (s.tb == Trans::N ? "N" : "T") + (s.bias ? " +bias" : "") +
         " align=" + std::to_string(s.alignment);
}

struct CublasLtGemm::Impl {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's operands (see op())
  cublasLtMatmulPreference_t preference = nullptr;
  cublasLtMatmulAlgo_t algo{};
  AlgoCandidate choice;

  ~Impl() {
    cublasLtMatmulPreferenceDestroy(preference);
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatmulDescDestroy(desc);
  }
};

CublasLtGemm::CublasLtGemm(const GemmShape& s, ComputeMode mode, const std::string& call, cudaStream_t stream)
    : shape_(s), impl_(std::make_unique<Impl>()) {
  DETNN_CHECK(mode.vendor(), internal, call, ": a cuBLASLt plan in the strict mode");
  DETNN_CHECK(s.m >= 1 && s.n >= 1 && s.k >= 1, invalid_argument, call, ": GEMM sizes must be >= 1, got ",
              gemm_shape_text(s));
  DETNN_CHECK(s.alignment >= 4 && s.alignment <= 16 && (s.alignment & (s.alignment - 1)) == 0, invalid_argument, call,
              ": alignment ", s.alignment, " is not 4, 8 or 16 bytes");
  Impl& d = *impl_;
  const uint64_t m = static_cast<uint64_t>(s.m), n = static_cast<uint64_t>(s.n), k = static_cast<uint64_t>(s.k);
  DETNN_CUBLAS_CHECK(
      cublasLtMatmulDescCreate(&d.desc, mode.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t first = op(s.tb), second = op(s.ta);
  DETNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.desc, CUBLASLT_MATMUL_DESC_TRANSA, &first, sizeof first));
  DETNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.desc, CUBLASLT_MATMUL_DESC_TRANSB, &second, sizeof second));
  if (s.bias) {
    // The bias epilogue adds a vector over the rows of cuBLAS's C (our columns n), after the
    // product: bias[n] added to every row of the row-major C.
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    DETNN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(d.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
  }
  // Row-major [r, c] contiguous = column-major [c, r] with leading dimension c.
  const uint64_t b_rows = s.tb == Trans::N ? n : k, b_cols = s.tb == Trans::N ? k : n;  // cuBLAS's A
  const uint64_t a_rows = s.ta == Trans::N ? k : m, a_cols = s.ta == Trans::N ? m : k;  // cuBLAS's B
  DETNN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, CUDA_R_32F, b_rows, b_cols, static_cast<int64_t>(b_rows)));
  DETNN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, CUDA_R_32F, a_rows, a_cols, static_cast<int64_t>(a_rows)));
  DETNN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.c, CUDA_R_32F, n, m, static_cast<int64_t>(n)));

  DETNN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d.preference));
  const uint64_t limit = kGemmWorkspaceLimit;
  const uint32_t align = static_cast<uint32_t>(s.alignment);
  DETNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                          &limit, sizeof limit));
  for (cublasLtMatmulPreferenceAttributes_t attr :
       {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    DETNN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.preference, attr, &align, sizeof align));

  constexpr int kRequested = 8;
  cublasLtMatmulHeuristicResult_t results[kRequested] = {};
  int count = 0;
  const cublasStatus_t found = cublasLtMatmulAlgoGetHeuristic(cublaslt_handle(), d.desc, d.a, d.b, d.c, d.c,
                                                              d.preference, kRequested, results, &count);
  // "No algorithm fits" comes back as NOT_SUPPORTED: pick_algorithm then names the call and shape.
  if (found == CUBLAS_STATUS_NOT_SUPPORTED)
    count = 0;
  else
    DETNN_CUBLAS_CHECK(found);
  // The heuristic's order depends on the shape, the GPU and the version only; cuBLASLt has no
  // timed search, so off takes the same first candidate (what cuBLAS itself would run).
  std::vector<AlgoCandidate> candidates;
  for (int i = 0; i < count; ++i) {
    AlgoCandidate c;
    const cublasLtMatmulAlgo_t& algo = results[i].algo;
    const int64_t id = config_value(algo, CUBLASLT_ALGO_CONFIG_ID);
    c.algo = static_cast<int>(id);
    // The id alone does not name the kernel: the tile, stages, split-K and its reduction do.
    c.name = "cublasLt algo " + std::to_string(id) + " tile " +
             std::to_string(config_value(algo, CUBLASLT_ALGO_CONFIG_TILE_ID)) + " stages " +
             std::to_string(config_value(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID)) + " splitK " +
             std::to_string(config_value(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM)) + " reduction " +
             std::to_string(config_value(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME)) + " swizzle " +
             std::to_string(config_value(algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING)) + " custom " +
             std::to_string(config_value(algo, CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION)) + " (heuristic #" +
             std::to_string(i) + ")";
    c.supported = results[i].state == CUBLAS_STATUS_SUCCESS;
    c.deterministic = true;  // fixed algorithm and workspace: the same bits every run
    c.tensor_cores = false;  // FP32 compute never uses them; TF32 compute is allowed by mode.tf32
    c.workspace_bytes = results[i].workspaceSize;
    candidates.push_back(c);
  }
  const size_t i = pick_algorithm(candidates, mode, limit, call + " " + gemm_shape_text(s));
  d.algo = results[i].algo;
  d.choice = candidates[i];
  d.choice.tensor_cores = mode.tf32;
  reserve_vendor_workspace(d.choice.workspace_bytes, stream);
}

CublasLtGemm::~CublasLtGemm() = default;

void CublasLtGemm::run(const float* a, const float* b, float* c, const float* bias, cudaStream_t stream) {
  Impl& d = *impl_;
  const uintptr_t mask = static_cast<uintptr_t>(shape_.alignment - 1);
  DETNN_CHECK(
      ((reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b) | reinterpret_cast<uintptr_t>(c)) & mask) ==
          0,
      internal, "cuBLASLt GEMM ", gemm_shape_text(shape_), ": an operand is not ", shape_.alignment, "-byte aligned");
  DETNN_CHECK(shape_.bias == (bias != nullptr), internal, "cuBLASLt GEMM ", gemm_shape_text(shape_), ": planned ",
              shape_.bias ? "with" : "without", " a bias");
  if (bias != nullptr)
    DETNN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  const float one = 1.0f, zero = 0.0f;
  const size_t bytes = d.choice.workspace_bytes;
  DETNN_CUBLAS_CHECK(cublasLtMatmul(cublaslt_handle(), d.desc, &one, b, d.a, a, d.b, &zero, c, d.c, c, d.c, &d.algo,
                                    vendor_workspace(bytes, stream), bytes, stream));
}

void CublasLtGemm::collect_choice(const std::string& layer, const std::string& op_name,
                                  std::vector<KernelChoice>& out) const {
  out.push_back({layer, op_name, gemm_shape_text(shape_), cublaslt_library_name(), impl_->choice});
}

}  // namespace detnn::kernels
